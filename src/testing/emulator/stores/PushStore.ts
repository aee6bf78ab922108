/**
 * Push notifications (section 3.12): credentials, templates, device registrations with identity
 * tokens, channel subscriptions, publishing (now, batched, scheduled), publish status, dead
 * letters and delivery reports. The emulator has no providers: how a publish is delivered is
 * in `PushDispatch.ts`; without providers there are no dead letters.
 *
 * @since 0.1.0
 */
import type { Route, Store } from "../Api.ts"
import { Body } from "./JsonBody.ts"
import { credentialRoutes } from "./PushCredentials.ts"
import { type DeviceEntry, deviceRoutes } from "./PushDevices.ts"
import { makePublisher, type Publish } from "./PushDispatch.ts"
import { decodePublish, requireArray } from "./PushIntents.ts"
import { adminRoute, PROVIDERS, type Provider, pageOf, queryNumber } from "./PushModel.ts"
import { decodeDeliveryEvent } from "./PushReports.ts"
import { type Subscription, subscriptionRoutes } from "./PushSubscriptions.ts"
import { decodeTemplate, type StoredTemplate } from "./PushTemplates.ts"
import { fail, invalid, json } from "./Respond.ts"
import { type IdSource, randomIds } from "./Serials.ts"

/**
 * The push store of one app.
 *
 * @since 0.1.0
 */
export const makePushStore = (
  options: {
    readonly newId?: IdSource | undefined
    /** The providers whose delivery workers run (default: all). */
    readonly providers?: ReadonlyArray<Provider> | undefined
  } = {}
): Store => {
  const newId = options.newId ?? randomIds
  const providers = new Set(options.providers ?? PROVIDERS)
  const credentials = new Map<string, Record<string, unknown>>()
  const templates = new Map<string, StoredTemplate>()
  const devices = new Map<string, DeviceEntry>()
  const subscriptions = new Map<string, Subscription>()
  const publishes = new Map<string, Publish>()

  const removeSubscriptions = (deviceIds: ReadonlySet<string>) => {
    for (const [key, s] of subscriptions) if (deviceIds.has(s.deviceId)) subscriptions.delete(key)
  }
  const removeDevice = (deviceId: string) => {
    devices.delete(deviceId)
    removeSubscriptions(new Set([deviceId]))
  }

  const publisher = makePublisher({ newId, providers, templates, devices, subscriptions, publishes, removeDevice })

  const routes: Array<Route> = [
    ...credentialRoutes(credentials),

    adminRoute("POST", "/push/templates", (request, app) => {
      const template = { ...decodeTemplate(request), appId: app.appId }
      templates.set(template.templateId, template)
      return json(201, template)
    }),
    adminRoute("GET", "/push/templates", (request, app) =>
      json(200, pageOf(request, app.appId, "template", [...templates]))
    ),
    adminRoute("GET", "/push/templates/:templateId", (request) =>
      json(200, templates.get(request.params["templateId"] ?? "") ?? fail(404, "not_found", "template not found"))
    ),
    adminRoute("DELETE", "/push/templates/:templateId", (request) => {
      templates.delete(request.params["templateId"] ?? "")
      return { status: 204, json: undefined }
    }),

    ...deviceRoutes({ newId, devices, removeSubscriptions }),
    ...subscriptionRoutes({ devices, subscriptions }),

    adminRoute("POST", "/push/publish", (request) => {
      const intent = decodePublish(request.body ?? Body.of(request, "PublishRequest", "push"))
      const accepted = publisher.accept(intent, request.nowMs)
      const forced = request.query["mode"] === "sync" || intent.sync
      return json(202, accepted, forced ? { "x-sockudo-forced-async": "publish-api-is-async" } : undefined)
    }),
    adminRoute("POST", "/push/batch/publish", (request) => {
      const intents = requireArray(request).map(decodePublish)
      return json(202, { items: intents.map((intent) => publisher.accept(intent, request.nowMs)) })
    }),
    adminRoute("GET", "/push/publish/:publishId/status", (request, app) => {
      const publish = publishes.get(request.params["publishId"] ?? "")
      return json(200, publisher.status(app.appId, publish ?? fail(404, "not_found", "publish status not found")))
    }),
    // Sockudo 5.0.1 deletes a scheduler job here, which no HTTP publish creates: nothing is cancelled.
    adminRoute("DELETE", "/push/scheduled/:jobId", () => ({ status: 204, json: undefined })),
    adminRoute("GET", "/push/deadLetters", (request, app) => {
      const since = queryNumber(request, "sinceMs")
      const until = queryNumber(request, "untilMs")
      if (since !== undefined && until !== undefined && since > until) {
        invalid("sinceMs must be less than or equal to untilMs")
      }
      const provider = request.query["provider"]
      if (
        provider !== undefined &&
        !["fcm", "apns", "webpush", "webPush", "web_push", "hms", "wns"].includes(provider)
      ) {
        invalid("provider must be one of fcm, apns, webpush, hms, or wns")
      }
      // Dead letters come from provider rejections and exhausted retries: without providers, none.
      return json(200, pageOf(request, app.appId, "deadLetter", []))
    }),
    {
      ...adminRoute("POST", "/push/deadLetters/:deadLetterId/replay", () =>
        fail(404, "not_found", "dead letter not found")
      ),
      body: "none"
    },
    adminRoute("POST", "/push/deliveryStatus", (request, app) =>
      json(202, { ...decodeDeliveryEvent(request), appId: app.appId })
    )
  ]
  return {
    routes: routes.map((r) => ({
      ...r,
      handle: (request, app) => {
        publisher.settle(request.nowMs)
        return r.handle(request, app)
      }
    }))
  }
}
