/**
 * Push publishing without providers (section 3.12). A publish is checked, its template applied,
 * one payload rendered per provider, and its audience counted as the server counts it (`planned`:
 * a device if registered, a client's devices, a channel's subscriptions, 1 for any other target).
 * It is then planned into deliveries (devices, raw recipients; topics, conditions and filters
 * yield none, as in Sockudo 5.0.1), made at once or at `notBeforeMs`. A delivery expires after
 * `expiresAtMs`; one to a web push or WNS address on a local or private host is rejected as the
 * server's dispatchers reject it (`invalid_token`, the device is unregistered); every other one
 * succeeds; one to a provider without a worker (see `providers`) is never made, and a target
 * naming such a provider is refused (503) as the server's admission refuses it. The publish
 * settles once every planned recipient has an outcome, else it stays
 * `dispatching`. A `publishId` that exists answers the existing publish's state.
 *
 * @since 0.1.0
 */
import type { DeviceEntry } from "./PushDevices.ts"
import { checkIntent, type PublishIntent, type PublishState, statusLabel, type Target } from "./PushIntents.ts"
import { isLocalHost, PROVIDERS, type Provider, type Recipient } from "./PushModel.ts"
import { applyTemplate, renderAll, type Template } from "./PushRender.ts"
import type { Subscription } from "./PushSubscriptions.ts"
import { fail, invalid } from "./Respond.ts"
import type { IdSource } from "./Serials.ts"

/**
 * The counters of a publish status.
 *
 * @since 0.1.0
 */
export interface Counters {
  planned: number
  dispatched: number
  succeeded: number
  failed: number
  expired: number
  retryScheduled: number
  retryAttempted: number
  deadLettered: number
}

/** One delivery a publish was planned into. */
interface Delivery {
  readonly recipient: Recipient
  readonly deviceId: string | undefined
}

/**
 * A publish the store remembers.
 *
 * @since 0.1.0
 */
export interface Publish {
  readonly publishId: string
  state: PublishState
  readonly counters: Counters
  readonly retryAfterMs: number | undefined
  /** Deliveries not made yet, and when they are due. */
  pending: { readonly dueAtMs: number; readonly deliveries: ReadonlyArray<Delivery> } | undefined
  readonly expiresAtMs: number | undefined
}

/**
 * The push state a publish reads and writes.
 *
 * @since 0.1.0
 */
export interface PushState {
  readonly newId: IdSource
  /** The providers whose delivery workers run. */
  readonly providers: ReadonlySet<Provider>
  readonly templates: ReadonlyMap<string, Template>
  readonly devices: Map<string, DeviceEntry>
  readonly subscriptions: ReadonlyMap<string, Subscription>
  readonly publishes: Map<string, Publish>
  /** Unregisters a device (with its subscriptions). */
  readonly removeDevice: (deviceId: string) => void
}

const PROVIDER_LABELS: Readonly<Record<Provider, string>> = {
  fcm: "FCM",
  apns: "APNs",
  webPush: "Web Push",
  hms: "HMS",
  wns: "WNS",
  realtime: "Realtime"
}

const byKey = <A>(entries: Iterable<readonly [string, A]>): Array<A> =>
  [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)

/** The state its counters imply once every planned recipient has an outcome. */
const settledState = (c: Counters, current: PublishState): PublishState => {
  if (c.planned === 0 || c.succeeded + c.failed + c.expired + c.deadLettered < c.planned) return current
  if (c.failed === 0 && c.expired === 0 && c.deadLettered === 0) return "succeeded"
  if (c.succeeded > 0) return "partiallySucceeded"
  if (c.expired > 0) return "expired"
  return "failed"
}

/**
 * The publish operations over `state`: `accept` answers a publish (202 body), `settle` makes the
 * deliveries due by `nowMs`, `status` is a publish's status body.
 *
 * @since 0.1.0
 */
export const makePublisher = (state: PushState) => {
  const { newId, providers, templates, devices, subscriptions, publishes, removeDevice } = state

  /** The server's admission check: a target naming a provider needs that provider's worker. */
  const admit = (targets: ReadonlyArray<Target>): void => {
    const named = new Set<Provider>()
    for (const t of targets) {
      if (t.type === "recipient") named.add(t.recipient.provider)
      else if (t.type === "providerTopic" || t.type === "providerCondition") named.add(t.provider)
    }
    if (named.size === 0 && providers.size === 0) {
      fail(503, "service_unavailable", "push admission unavailable: push providers are disabled")
    }
    for (const provider of PROVIDERS) {
      if (named.has(provider) && !providers.has(provider)) {
        fail(
          503,
          "service_unavailable",
          `push admission unavailable: ${PROVIDER_LABELS[provider]} provider worker is disabled (provider disabled in config)`
        )
      }
    }
  }

  const clientDevices = (clientId: string) => byKey(devices).filter((e) => e.device.clientId === clientId)
  const channelSubscribers = (channel: string) =>
    byKey([...subscriptions.values()].filter((s) => s.channel === channel).map((s) => [s.deviceId, s] as const))

  const expected = (t: Target): number => {
    switch (t.type) {
      case "device":
        return devices.has(t.device_id) ? 1 : 0
      case "client":
        return clientDevices(t.client_id).length
      case "channel":
        return channelSubscribers(t.channel).length
      default:
        return 1
    }
  }

  const plan = (targets: ReadonlyArray<Target>): Array<Delivery> => {
    const out: Array<Delivery> = []
    const device = (entry: DeviceEntry | undefined) => {
      if (entry !== undefined) out.push({ recipient: entry.device.recipient, deviceId: entry.device.id })
    }
    for (const t of targets) {
      if (t.type === "device") device(devices.get(t.device_id))
      else if (t.type === "client") clientDevices(t.client_id).forEach(device)
      else if (t.type === "channel") for (const s of channelSubscribers(t.channel)) device(devices.get(s.deviceId))
      else if (t.type === "recipient") out.push({ recipient: t.recipient, deviceId: undefined })
    }
    return out
  }

  const deliver = (publish: Publish, delivery: Delivery, nowMs: number): void => {
    // Without the provider's worker, the delivery waits in its queue for ever.
    if (!providers.has(delivery.recipient.provider)) return
    const c = publish.counters
    c.dispatched++
    if (publish.expiresAtMs !== undefined && publish.expiresAtMs <= nowMs) {
      c.expired++
      return
    }
    const address = delivery.recipient.fields["endpoint"] ?? delivery.recipient.fields["channelUri"]
    if (address !== undefined && isLocalHost(address)) {
      c.failed++
      if (delivery.deviceId !== undefined) removeDevice(delivery.deviceId)
      return
    }
    c.succeeded++
    const entry = delivery.deviceId === undefined ? undefined : devices.get(delivery.deviceId)
    if (entry !== undefined) {
      const recovered = entry.device.pushState === "FAILING"
      devices.set(entry.device.id, {
        ...entry,
        device: {
          ...entry.device,
          lastActiveAtMs: nowMs,
          ...(recovered ? { pushState: "ACTIVE", pushFailureCount: 0, errorReason: undefined } : {})
        }
      })
    }
  }

  const settle = (nowMs: number): void => {
    for (const publish of publishes.values()) {
      if (publish.pending === undefined || publish.pending.dueAtMs > nowMs) continue
      const { deliveries } = publish.pending
      publish.pending = undefined
      for (const delivery of deliveries) deliver(publish, delivery, nowMs)
      publish.state = settledState(publish.counters, publish.state)
    }
  }

  const accept = (intent: PublishIntent, nowMs: number): Record<string, unknown> => {
    const publishId = intent.publishId ?? newId()
    const planned = intent.recipients.reduce((n, t) => n + expected(t), 0)
    checkIntent(publishId, intent, intent.notification)
    let { notification, overrides } = intent
    if (notification.templateId !== undefined) {
      const template = templates.get(notification.templateId)
      if (template === undefined) invalid(`push template ${notification.templateId} not found`)
      ;({ notification, overrides } = applyTemplate(template!, notification, overrides))
      checkIntent(publishId, intent, notification)
    }
    admit(intent.recipients)
    const renderedPayloads = renderAll(notification, overrides)
    const existing = publishes.get(publishId)
    if (existing !== undefined) {
      return {
        publishId,
        status: statusLabel(existing.state),
        expectedRecipients: existing.counters.planned,
        fanoutRegime: "fastPath",
        renderedPayloads
      }
    }
    const scheduled = intent.notBeforeMs !== undefined && intent.notBeforeMs > nowMs
    publishes.set(publishId, {
      publishId,
      state: "dispatching",
      counters: {
        planned,
        dispatched: 0,
        succeeded: 0,
        failed: 0,
        expired: 0,
        retryScheduled: 0,
        retryAttempted: 0,
        deadLettered: 0
      },
      retryAfterMs: scheduled ? intent.notBeforeMs : undefined,
      pending: { dueAtMs: scheduled ? intent.notBeforeMs! : nowMs, deliveries: plan(intent.recipients) },
      expiresAtMs: intent.expiresAtMs
    })
    settle(nowMs)
    return { publishId, status: "accepted", expectedRecipients: planned, fanoutRegime: "fastPath", renderedPayloads }
  }

  const status = (appId: string, publish: Publish): Record<string, unknown> => ({
    appId,
    publishId: publish.publishId,
    state: publish.state,
    counters: publish.counters,
    fanoutRegime: "fastPath",
    ...(publish.retryAfterMs === undefined ? {} : { retryAfterMs: publish.retryAfterMs })
  })

  return { accept, settle, status }
}
