/**
 * Push channel subscriptions (section 3.12): the `channelSubscriptions` routes. A subscription is
 * keyed by channel and device; lists are ordered by device (one channel), by channel (one
 * device) or by `channel:deviceId` (all). With `push-subscribe` a device manages only its own,
 * proving it with its identity token. Where both `channel` and `deviceId` are given, `channel`
 * selects, as on the server.
 *
 * @since 0.1.0
 */
import type { ApiRequest, Route } from "../Api.ts"
import { Body } from "./JsonBody.ts"
import type { DeviceEntry } from "./PushDevices.ts"
import { adminRoute, capabilityOf, PROVIDERS, pageOf, present, storeError, verifyIdentity } from "./PushModel.ts"
import { fail, invalid, json, route } from "./Respond.ts"

/**
 * A stored subscription (its wire form).
 *
 * @since 0.1.0
 */
export type Subscription = Readonly<Record<string, unknown>> & { readonly channel: string; readonly deviceId: string }

/**
 * The key of a subscription in the store.
 *
 * @since 0.1.0
 */
export const subscriptionKey = (channel: string, deviceId: string): string => `${channel}\0${deviceId}`

/**
 * The `channelSubscriptions` routes over a store's subscriptions and devices.
 *
 * @since 0.1.0
 */
export const subscriptionRoutes = (state: {
  readonly devices: ReadonlyMap<string, DeviceEntry>
  readonly subscriptions: Map<string, Subscription>
}): ReadonlyArray<Route> => {
  const { devices, subscriptions } = state

  /** A `push-subscribe` request proves it acts for `deviceId` (404 for an unknown device). */
  const actFor = (request: ApiRequest, deviceId: string | undefined, refusal: string): void => {
    if (capabilityOf(request) === "admin") return
    if (deviceId === undefined) fail(403, "forbidden", refusal)
    verifyIdentity(request, (devices.get(deviceId!) ?? fail(404, "not_found", "device not found")).token)
  }

  return [
    route("POST", "/push/channelSubscriptions", (request, app) => {
      const body = Body.of(request, "ChannelSubscription", "push")
      body.string("appId")
      const channel = body.string("channel")
      const deviceId = body.string("deviceId")
      body.optionalString("clientId")
      body.variant("provider", PROVIDERS)
      const tokenHash = body.string("tokenHash")
      body.optionalUint("credentialVersion")
      if (capabilityOf(request) !== "admin") {
        verifyIdentity(request, (devices.get(deviceId) ?? fail(404, "not_found", "device not found")).token)
      }
      if ([channel, deviceId, tokenHash].some((v) => v.trim() === "")) storeError()
      const subscription = { ...present(body.value), appId: app.appId, channel, deviceId }
      subscriptions.set(subscriptionKey(channel, deviceId), subscription)
      return json(201, subscription)
    }),
    route("GET", "/push/channelSubscriptions", (request, app) => {
      const { channel, deviceId } = request.query
      actFor(request, deviceId, "push-subscribe can only list its own device subscriptions")
      const all = [...subscriptions.values()]
      const rows =
        channel !== undefined
          ? all.filter((s) => s.channel === channel).map((s) => [s.deviceId, s] as const)
          : deviceId !== undefined
            ? all.filter((s) => s.deviceId === deviceId).map((s) => [s.channel, s] as const)
            : all.map((s) => [`${s.channel}:${s.deviceId}`, s] as const)
      return json(200, pageOf(request, app.appId, "channelSubscription", rows))
    }),
    route("DELETE", "/push/channelSubscriptions", (request) => {
      const { channel, deviceId } = request.query
      actFor(request, deviceId, "push-subscribe can only remove its own device subscriptions")
      if (channel === undefined && deviceId === undefined) invalid("delete requires channel or deviceId")
      let deleted = 0
      for (const [key, s] of subscriptions) {
        if (channel !== undefined ? s.channel === channel : s.deviceId === deviceId) {
          subscriptions.delete(key)
          deleted++
        }
      }
      return json(200, { deleted })
    }),
    adminRoute("GET", "/push/channelSubscriptions/channels", (request, app) => {
      const channels = [...new Set([...subscriptions.values()].map((s) => s.channel))]
      return json(
        200,
        pageOf(
          request,
          app.appId,
          "channelSubscription",
          channels.map((c) => [c, c] as const)
        )
      )
    })
  ]
}
