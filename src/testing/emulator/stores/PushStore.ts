/**
 * Push notifications (section 3.12): credentials, templates, device registrations with identity
 * tokens, channel subscriptions, publishing (now, batched, scheduled), publish status, dead
 * letters and delivery reports. The emulator has no providers: a publish is delivered at once
 * (or queued until `notBeforeMs`) to the devices its targets resolve to, a device whose push
 * state is `FAILED` yields a replayable dead letter, and everything else succeeds.
 *
 * @since 0.1.0
 */
import type { ApiRequest, ApiResponse, AppHandle, Route, Store } from "../Api.ts"
import { canonicalJson } from "./bytes.ts"
import { Body } from "./jsonBody.ts"
import { type Device, decodeDevice, deviceJson } from "./pushDevices.ts"
import { type DeadLetter, makePublisher, type Publish } from "./pushDispatch.ts"
import { requireArray } from "./pushIntents.ts"
import {
  capabilityOf,
  identityToken,
  type Provider,
  pageOf,
  present,
  requireAdmin,
  sortedValues,
  storeError
} from "./pushModel.ts"
import { fail, invalid, json, route } from "./respond.ts"
import { type IdSource, randomIds } from "./serials.ts"

const CREDENTIAL_FIELDS: Readonly<Record<string, { provider: Provider; required: ReadonlyArray<string> }>> = {
  fcm: { provider: "fcm", required: [] },
  apns: { provider: "apns", required: [] },
  webpush: { provider: "webPush", required: ["publicKey", "privateKey"] },
  hms: { provider: "hms", required: ["hmsAppId", "clientSecret"] },
  wns: { provider: "wns", required: ["packageSid", "clientSecret"] }
}

/**
 * The push store of one app.
 *
 * @since 0.1.0
 */
export const makePushStore = (options: { readonly newId?: IdSource | undefined } = {}): Store => {
  const newId = options.newId ?? randomIds
  const credentials = new Map<string, Record<string, unknown>>()
  const templates = new Map<string, Record<string, unknown>>()
  const devices = new Map<string, { device: Device; details: string; token: string }>()
  const subscriptions = new Map<string, Record<string, unknown>>()
  const publishes = new Map<string, Publish>()
  const deadLetters = new Map<string, DeadLetter>()

  /** The device a `push-subscribe` request acts for, after checking its identity token. */
  const authorizeDevice = (request: ApiRequest, deviceId: string | undefined): void => {
    if (capabilityOf(request) === "admin") return
    if (deviceId === undefined) invalid("push-subscribe requires deviceId")
    const entry = devices.get(deviceId!)
    if (entry === undefined) fail(403, "forbidden", "device is not registered")
    if (identityToken(request) !== entry!.token) fail(401, "auth_failed", "invalid device identity token")
  }

  const publish = makePublisher({ newId, templates, devices, subscriptions, publishes, deadLetters })

  const admin = (method: Route["method"], path: string, handle: (request: ApiRequest, app: AppHandle) => ApiResponse) =>
    route(method, path, (request, app) => {
      requireAdmin(request)
      return handle(request, app)
    })

  const credentialRoutes = Object.entries(CREDENTIAL_FIELDS).map(([segment, spec]) =>
    admin("POST", `/push/credentials/${segment}`, (request, app) => {
      const body = Body.of(request, "CredentialRequest", "push")
      const credentialId = body.optionalString("credentialId") ?? "default"
      const version = body.optionalUint("version") ?? 1
      for (const field of spec.required) body.string(field)
      if (segment === "fcm") body.object("serviceAccountJson", "a map")
      if (
        segment === "apns" &&
        !(body.has("p12") || body.has("pem") || (body.has("teamId") && body.has("keyId") && body.has("privateKey")))
      ) {
        invalid("apns credentials need p12, pem, or teamId + keyId + privateKey")
      }
      const credential = { app_id: app.appId, credential_id: credentialId, provider: spec.provider, version }
      credentials.set(`${spec.provider}\0${credentialId}`, credential)
      return json(201, credential)
    })
  )

  const routes: Array<Route> = [
    ...credentialRoutes,
    admin("GET", "/push/credentials", (request, app) =>
      json(200, pageOf(request, app.appId, sortedValues(credentials)))
    ),

    admin("POST", "/push/templates", (request, app) => {
      const body = Body.of(request, "NotificationTemplate", "push")
      body.string("appId")
      const templateId = body.string("templateId")
      const defaultLocale = body.string("defaultLocale")
      const locales = body.object("locales", "a map")
      for (const content of Object.values(locales)) {
        if (content === null || typeof content !== "object") body.error("expected struct TemplateContent")
        const c = Body.nested(content as Record<string, unknown>, "push")
        c.string("title")
        c.string("body")
      }
      body.optionalObject("providerOverrides", "a map")
      if (templateId.trim() === "" || !Object.hasOwn(locales, defaultLocale)) storeError()
      const template = { ...present(body.value), appId: app.appId }
      templates.set(templateId, template)
      return json(201, template)
    }),
    admin("GET", "/push/templates", (request, app) => json(200, pageOf(request, app.appId, sortedValues(templates)))),
    admin("GET", "/push/templates/:templateId", (request) => {
      const id = request.params["templateId"] ?? ""
      return json(200, templates.get(id) ?? fail(404, "not_found", `template '${id}' was not found`))
    }),
    admin("DELETE", "/push/templates/:templateId", (request) => {
      templates.delete(request.params["templateId"] ?? "")
      return { status: 204, json: undefined }
    }),

    route("POST", "/push/deviceRegistrations", (request, app) => {
      const device = decodeDevice(request)
      const subscribe = capabilityOf(request) === "subscribe"
      if (subscribe) authorizeDevice(request, device.id)
      const existing = devices.get(device.id)
      const details = canonicalJson({ ...device, lastActiveAtMs: undefined })
      const rotate = /^(1|true|TRUE|yes)$/.test(request.headers["x-sockudo-rotate-device-identity-token"] ?? "")
      const issue = !subscribe && (existing === undefined || rotate)
      const token = issue ? `dit-${newId()}` : existing!.token
      devices.set(device.id, { device, details, token })
      const change = existing === undefined ? "inserted" : existing.details === details ? "unchanged" : "updated"
      return json(201, {
        change,
        tokenHash: device.recipient.tokenHash,
        device: deviceJson(app.appId, device),
        ...(issue ? { deviceIdentityToken: token } : {})
      })
    }),
    admin("GET", "/push/deviceRegistrations", (request, app) =>
      json(
        200,
        pageOf(
          request,
          app.appId,
          sortedValues(devices).map((d) => deviceJson(app.appId, d.device))
        )
      )
    ),
    admin("DELETE", "/push/deviceRegistrations", (request) => {
      const clientId = request.query["clientId"]
      if (clientId === undefined || clientId === "") invalid("removeWhere requires clientId")
      let deleted = 0
      for (const [id, { device }] of devices) {
        if (device.clientId === clientId) {
          devices.delete(id)
          deleted++
        }
      }
      return json(200, { deleted, consistency: "eventual" })
    }),
    route("GET", "/push/deviceRegistrations/:deviceId", (request, app) => {
      const id = request.params["deviceId"] ?? ""
      authorizeDevice(request, id)
      const entry = devices.get(id) ?? fail(404, "not_found", `device '${id}' was not found`)
      return json(200, deviceJson(app.appId, entry.device))
    }),
    route("DELETE", "/push/deviceRegistrations/:deviceId", (request) => {
      const id = request.params["deviceId"] ?? ""
      authorizeDevice(request, id)
      devices.delete(id)
      for (const [key, s] of subscriptions) if (s["deviceId"] === id) subscriptions.delete(key)
      return { status: 204, json: undefined }
    }),

    route("POST", "/push/channelSubscriptions", (request, app) => {
      const body = Body.of(request, "ChannelSubscription", "push")
      body.string("appId")
      const channel = body.string("channel")
      const deviceId = body.string("deviceId")
      body.optionalString("clientId")
      body.variant("provider", ["fcm", "apns", "webPush", "hms", "wns", "realtime"])
      const tokenHash = body.string("tokenHash")
      body.optionalUint("credentialVersion")
      authorizeDevice(request, deviceId)
      if (channel === "" || deviceId === "" || tokenHash === "") storeError()
      const subscription = { ...present(body.value), appId: app.appId }
      subscriptions.set(`${channel}\0${deviceId}`, subscription)
      return json(201, subscription)
    }),
    route("GET", "/push/channelSubscriptions", (request, app) => {
      const channel = request.query["channel"]
      const deviceId = request.query["deviceId"]
      authorizeDevice(request, deviceId)
      const items = sortedValues(subscriptions).filter(
        (s) =>
          (channel === undefined || s["channel"] === channel) && (deviceId === undefined || s["deviceId"] === deviceId)
      )
      return json(200, pageOf(request, app.appId, items))
    }),
    route("DELETE", "/push/channelSubscriptions", (request) => {
      const channel = request.query["channel"]
      const deviceId = request.query["deviceId"]
      if (channel === undefined && deviceId === undefined) invalid("channel or deviceId is required")
      if (capabilityOf(request) === "subscribe") authorizeDevice(request, deviceId)
      let deleted = 0
      for (const [key, s] of subscriptions) {
        if (
          (channel === undefined || s["channel"] === channel) &&
          (deviceId === undefined || s["deviceId"] === deviceId)
        ) {
          subscriptions.delete(key)
          deleted++
        }
      }
      return json(200, { deleted })
    }),
    admin("GET", "/push/channelSubscriptions/channels", (request, app) => {
      const channels = [...new Set([...subscriptions.values()].map((s) => String(s["channel"])))].sort()
      return json(200, pageOf(request, app.appId, channels))
    }),

    admin("POST", "/push/publish", (request) => {
      const accepted = publish(request.body ?? Body.of(request, "PublishRequest", "push"), request.nowMs)
      const forced = request.query["mode"] === "sync" ? { "x-sockudo-forced-async": "publish-api-is-async" } : undefined
      return json(202, accepted, forced)
    }),
    admin("POST", "/push/batch/publish", (request) =>
      json(202, { items: requireArray(request).map((item) => publish(item, request.nowMs)) })
    ),
    admin("GET", "/push/publish/:publishId/status", (request, app) => {
      const id = request.params["publishId"] ?? ""
      const p = publishes.get(id) ?? fail(404, "not_found", `publish '${id}' was not found`)
      return json(200, { appId: app.appId, publishId: p.publishId, state: p.state, counters: p.counters })
    }),
    admin("DELETE", "/push/scheduled/:jobId", (request) => {
      const p = publishes.get(request.params["jobId"] ?? "")
      if (p?.state === "queued") p.state = "cancelled"
      return { status: 204, json: undefined }
    }),
    admin("GET", "/push/deadLetters", (request, app) => {
      const raw = request.query["provider"]
      const provider = raw === "webpush" || raw === "web_push" ? "webPush" : raw
      if (provider !== undefined && !["fcm", "apns", "webPush", "hms", "wns"].includes(provider)) {
        invalid(`unsupported provider '${raw}'`)
      }
      const bound = (key: string): number | undefined => {
        const v = request.query[key]
        if (v === undefined) return undefined
        return /^\d+$/.test(v) ? Number(v) : invalid(`${key} must be an integer`)
      }
      const since = bound("sinceMs")
      const until = bound("untilMs")
      if (since !== undefined && until !== undefined && since > until) invalid("sinceMs must be <= untilMs")
      const items = sortedValues(deadLetters)
        .filter(
          (d) =>
            (provider === undefined || d.provider === provider) &&
            (since === undefined || d.occurredAtMs >= since) &&
            (until === undefined || d.occurredAtMs <= until)
        )
        .map((d) => ({
          deadLetterId: d.deadLetterId,
          appId: app.appId,
          publishId: d.publishId,
          provider: d.provider,
          stage: "dispatch",
          key: d.key,
          reason: "device push state is FAILED",
          occurredAtMs: d.occurredAtMs,
          replayable: d.replayable
        }))
      return json(200, pageOf(request, app.appId, items))
    }),
    {
      ...admin("POST", "/push/deadLetters/:deadLetterId/replay", (request) => {
        const id = request.params["deadLetterId"] ?? ""
        const letter = deadLetters.get(id) ?? fail(404, "not_found", `dead letter '${id}' was not found`)
        if (!letter.replayable) invalid("dead letter is not replayable: already replayed")
        letter.replayable = false
        return json(202, { deadLetterId: id, replayed: true, messageId: newId() })
      }),
      body: "none"
    },
    admin("POST", "/push/deliveryStatus", (request, app) => {
      const body = Body.of(request, "DeliveryStatusEvent", "push")
      body.string("appId")
      body.string("publishId")
      body.string("eventId")
      body.uint("occurredAtMs")
      const result = Body.nested(body.object("result", "DeliveryResult"), "push")
      result.string("appId")
      result.string("publishId")
      result.variant("provider", ["fcm", "apns", "webPush", "hms", "wns", "realtime"])
      result.string("batchId")
      result.variant("outcome", ["accepted", "rejected", "retryable", "expired", "cancelled"])
      result.uint("attempt")
      return json(202, {
        ...present(body.value),
        appId: app.appId,
        result: { ...present(result.value), appId: app.appId }
      })
    })
  ]
  return { routes }
}
