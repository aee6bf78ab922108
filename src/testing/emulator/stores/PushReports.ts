/**
 * Push delivery reports (section 3.12): the DeliveryStatusEvent body of `POST deliveryStatus`,
 * with the push extractor's JSON 400s, answered in the server's form (absent optionals and an
 * `unknown` failure class left out). The server only appends the event: no status changes.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { Body } from "./JsonBody.ts"
import { PROVIDERS } from "./PushModel.ts"

const OUTCOMES = ["accepted", "rejected", "retryable", "expired", "cancelled"] as const
const FAILURE_CLASSES = [
  "device_terminal",
  "device_transient",
  "provider_transient",
  "provider_quota",
  "credential_auth",
  "caller_payload",
  "network_transport",
  "unknown"
] as const

const optional = (key: string, read: (key: string) => unknown) => {
  const v = read(key)
  return v === undefined ? {} : { [key]: v }
}

/**
 * Decodes a delivery report into the event the server stores and echoes.
 *
 * @since 0.1.0
 */
export const decodeDeliveryEvent = (request: ApiRequest): Record<string, unknown> => {
  const body = Body.of(request, "DeliveryEvent", "push")
  const event = {
    appId: body.string("appId"),
    publishId: body.string("publishId"),
    eventId: body.string("eventId"),
    occurredAtMs: body.uint("occurredAtMs")
  }
  const r = Body.nested(body.object("result", "DeliveryResult"), "push")
  const result: Record<string, unknown> = {
    appId: r.string("appId"),
    publishId: r.string("publishId"),
    provider: r.variant("provider", PROVIDERS),
    batchId: r.string("batchId"),
    ...optional("deviceId", (k) => r.optionalString(k)),
    outcome: r.variant("outcome", OUTCOMES),
    ...optional("providerMessageId", (k) => r.optionalString(k))
  }
  const rawError = r.optionalObject("error", "ProviderError")
  if (rawError !== undefined) {
    const e = Body.nested(rawError, "push")
    const failureClass = e.optionalVariant("failureClass", FAILURE_CLASSES) ?? "unknown"
    result["error"] = {
      class: e.string("class"),
      ...(failureClass === "unknown" ? {} : { failureClass }),
      ...optional("reason", (k) => e.optionalString(k)),
      ...optional("retryAfterMs", (k) => e.optionalUint(k))
    }
  }
  result["attempt"] = r.uint("attempt")
  return { ...event, result }
}
