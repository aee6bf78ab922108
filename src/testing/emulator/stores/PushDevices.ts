/**
 * Push device registrations (section 3.12): DeviceDetails with the push extractor's JSON 400s and
 * the store's 500s, the DeviceResponse wire form, and the `deviceRegistrations` routes with their
 * identity tokens.
 *
 * @since 0.1.0
 */
import type { ApiRequest, Route } from "../Api.ts"
import { canonicalJson, jsonByteLength } from "./Bytes.ts"
import { Body } from "./JsonBody.ts"
import {
  adminRoute,
  capabilityOf,
  checkRecipient,
  decodeRecipient,
  pageOf,
  type Recipient,
  storeError,
  verifyIdentity
} from "./PushModel.ts"
import { fail, invalid, json, route } from "./Respond.ts"
import type { IdSource } from "./Serials.ts"

const FORM_FACTORS = ["phone", "tablet", "desktop", "tv", "car", "watch", "embedded", "other"] as const
const PLATFORMS = ["android", "ios", "browser", "windows", "macos", "watchos", "tvos", "other"] as const
const PUSH_STATES = ["ACTIVE", "FAILING", "FAILED"] as const

/**
 * A registered device.
 *
 * @since 0.1.0
 */
export interface Device {
  readonly id: string
  readonly clientId: string | null
  readonly formFactor: string
  readonly platform: string
  readonly timezone: string
  readonly locale: string
  readonly metadata: unknown
  readonly lastActiveAtMs: number
  readonly pushState: (typeof PUSH_STATES)[number]
  readonly pushFailureCount: number
  readonly errorReason: string | undefined
  readonly pushRatePolicy: { readonly capacity: number; readonly refillPerSecond: number } | undefined
  readonly recipient: Recipient
}

/**
 * A device as the store keeps it: its details and its identity token.
 *
 * @since 0.1.0
 */
export interface DeviceEntry {
  readonly device: Device
  readonly token: string
}

/**
 * Decodes DeviceDetails: every field the decoder requires (`appId`, `deviceSecret`, `push.state`
 * included), with the JSON 400s. The store's checks are {@link checkDevice}.
 *
 * @since 0.1.0
 */
export const decodeDevice = (request: ApiRequest): Device => {
  const body = Body.of(request, "DeviceDetails", "push")
  body.string("appId")
  const id = body.string("id")
  const formFactor = body.variant("formFactor", FORM_FACTORS)
  const platform = body.variant("platform", PLATFORMS)
  body.string("deviceSecret")
  const timezone = body.string("timezone")
  const locale = body.string("locale")
  const push = Body.nested(body.object("push", "DevicePushDetails"), "push")
  const recipient = decodeRecipient(push.object("recipient", "PushRecipient"))
  const pushState = push.variant("state", PUSH_STATES)
  const failureCount = push.optionalUint("failureCount") ?? 0
  const errorReason = push.optionalString("errorReason")
  const clientId = body.optionalString("clientId") ?? null
  const metadata = body.optionalValue("metadata")
  const lastActiveAtMs = body.optionalUint("lastActiveAtMs") ?? 0
  const policy = body.optionalObject("pushRatePolicy", "PushRatePolicy")
  let pushRatePolicy: Device["pushRatePolicy"]
  if (policy !== undefined) {
    const p = Body.nested(policy, "push")
    pushRatePolicy = { capacity: p.uint("capacity"), refillPerSecond: p.uint("refillPerSecond") }
  }
  return {
    id,
    clientId,
    formFactor,
    platform,
    timezone,
    locale,
    metadata,
    lastActiveAtMs,
    pushState,
    pushFailureCount: failureCount,
    errorReason,
    pushRatePolicy,
    recipient
  }
}

/**
 * The store's checks of a device (a violation is a 500).
 *
 * @since 0.1.0
 */
export const checkDevice = (device: Device): void => {
  const { id, timezone, locale, metadata, pushRatePolicy } = device
  if (pushRatePolicy !== undefined && (pushRatePolicy.capacity === 0 || pushRatePolicy.refillPerSecond === 0)) {
    storeError()
  }
  const blank = (s: string) => s.trim() === ""
  if (blank(id) || id.startsWith("__sockudo_client_scope__:") || blank(timezone) || blank(locale)) storeError()
  if (metadata !== undefined && jsonByteLength(metadata) > 4096) storeError()
  checkRecipient(device.recipient)
}

/**
 * DeviceResponse: no secrets, tokens only as `tokenHash`.
 *
 * @since 0.1.0
 */
export const deviceJson = (appId: string, device: Device): Record<string, unknown> => ({
  appId,
  id: device.id,
  clientId: device.clientId,
  formFactor: device.formFactor,
  platform: device.platform,
  timezone: device.timezone,
  locale: device.locale,
  lastActiveAtMs: device.lastActiveAtMs,
  pushState: device.pushState,
  pushFailureCount: device.pushFailureCount,
  recipient: {
    transportType: device.recipient.transportType,
    provider: device.recipient.provider,
    tokenHash: device.recipient.tokenHash
  }
})

/** Whether a stored device equals a registration: every detail, and the identity token's hash. */
const sameRegistration = (a: DeviceEntry, b: DeviceEntry): boolean =>
  a.token === b.token && canonicalJson(a.device) === canonicalJson(b.device)

/**
 * The `deviceRegistrations` routes over a store's devices. A device acts for itself with
 * `push-subscribe` and its identity token; removing a device removes its channel subscriptions.
 *
 * @since 0.1.0
 */
export const deviceRoutes = (state: {
  readonly newId: IdSource
  readonly devices: Map<string, DeviceEntry>
  readonly removeSubscriptions: (deviceIds: ReadonlySet<string>) => void
}): ReadonlyArray<Route> => {
  const { newId, devices, removeSubscriptions } = state
  const remove = (ids: ReadonlySet<string>) => {
    for (const id of ids) devices.delete(id)
    removeSubscriptions(ids)
  }
  return [
    route("POST", "/push/deviceRegistrations", (request, app) => {
      const device = decodeDevice(request)
      const existing = devices.get(device.id)
      let token: string
      let issued = false
      if (capabilityOf(request) === "admin") {
        const rotate = /^(1|true|TRUE|yes)$/.test(request.headers["x-sockudo-rotate-device-identity-token"] ?? "")
        issued = existing === undefined || rotate
        token = issued ? `dit-${newId()}` : existing!.token
      } else {
        if (existing === undefined) fail(403, "forbidden", "device token registration requires an existing device")
        verifyIdentity(request, existing!.token)
        token = existing!.token
      }
      checkDevice(device)
      const entry = { device, token }
      devices.set(device.id, entry)
      const change = existing === undefined ? "inserted" : sameRegistration(existing, entry) ? "unchanged" : "updated"
      return json(201, {
        change,
        tokenHash: device.recipient.tokenHash,
        device: deviceJson(app.appId, device),
        ...(issued ? { deviceIdentityToken: token } : {})
      })
    }),
    adminRoute("GET", "/push/deviceRegistrations", (request, app) =>
      json(
        200,
        pageOf(
          request,
          app.appId,
          "device",
          [...devices].map(([id, entry]) => [id, deviceJson(app.appId, entry.device)] as const)
        )
      )
    ),
    adminRoute("DELETE", "/push/deviceRegistrations", (request) => {
      const clientId = request.query["clientId"]
      if (clientId === undefined) invalid("removeWhere requires clientId")
      const ids = new Set([...devices].filter(([, e]) => e.device.clientId === clientId).map(([id]) => id))
      remove(ids)
      return json(200, { deleted: ids.size, consistency: "eventual" })
    }),
    route("GET", "/push/deviceRegistrations/:deviceId", (request, app) => {
      const entry = devices.get(request.params["deviceId"] ?? "") ?? fail(404, "not_found", "device not found")
      if (capabilityOf(request) !== "admin") verifyIdentity(request, entry.token)
      return json(200, deviceJson(app.appId, entry.device))
    }),
    route("DELETE", "/push/deviceRegistrations/:deviceId", (request) => {
      const id = request.params["deviceId"] ?? ""
      if (capabilityOf(request) !== "admin") {
        verifyIdentity(request, (devices.get(id) ?? fail(404, "not_found", "device not found")).token)
      }
      remove(new Set([id]))
      return { status: 204, json: undefined }
    })
  ]
}
