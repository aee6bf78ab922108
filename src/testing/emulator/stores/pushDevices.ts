/**
 * Push device registrations (section 3.12): decoding of DeviceDetails with the push extractor's
 * JSON 400s and the store's 500s, and the DeviceResponse wire form.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { jsonByteLength } from "./bytes.ts"
import { Body } from "./jsonBody.ts"
import { checkRecipient, decodeRecipient, type Recipient, storeError } from "./pushModel.ts"

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
  readonly recipient: Recipient
}

/**
 * Decodes DeviceDetails: every field the decoder requires (`appId`, `deviceSecret`,
 * `push.state` included) then the store checks (500).
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
  const lastActiveAtMs = body.optionalUint("lastActiveAtMs")
  const policy = body.optionalObject("pushRatePolicy", "PushRatePolicy")
  if (policy !== undefined) {
    const p = Body.nested(policy, "push")
    if (p.uint("capacity") === 0 || p.uint("refillPerSecond") === 0) storeError()
  }
  if (id === "" || id.startsWith("__sockudo_client_scope__:") || timezone === "" || locale === "") storeError()
  if (metadata !== undefined && jsonByteLength(metadata) > 4096) storeError()
  checkRecipient(recipient)
  return {
    id,
    clientId,
    formFactor,
    platform,
    timezone,
    locale,
    metadata,
    lastActiveAtMs: lastActiveAtMs ?? request.nowMs,
    pushState,
    pushFailureCount: failureCount,
    errorReason,
    recipient
  }
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
