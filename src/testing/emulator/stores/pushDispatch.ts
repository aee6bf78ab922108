/**
 * Push publishing without providers (section 3.12): a publish resolves its targets to devices,
 * recipients and provider topics, renders one payload per provider (overrides, templates), and
 * is delivered at once, queued until `notBeforeMs`, or expired; a `FAILED` device yields a
 * replayable dead letter. Publish ids are remembered for a day for duplicate detection.
 *
 * @since 0.1.0
 */
import type { Device } from "./pushDevices.ts"
import { decodePublish, type PublishIntent, type PublishState, render, statusLabel } from "./pushIntents.ts"
import type { Provider } from "./pushModel.ts"
import { fail } from "./respond.ts"
import type { IdSource } from "./serials.ts"

/**
 * A publish the store remembers (status, duplicate detection, scheduled cancel).
 *
 * @since 0.1.0
 */
export interface Publish {
  readonly publishId: string
  state: PublishState
  readonly counters: Record<string, number>
  readonly expiresAtMs: number
}

/**
 * A dead letter: a target whose device push state is `FAILED`.
 *
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly deadLetterId: string
  readonly publishId: string
  readonly provider: Provider
  readonly key: string
  readonly occurredAtMs: number
  replayable: boolean
}

/**
 * The push state a publish reads and writes.
 *
 * @since 0.1.0
 */
export interface PushState {
  readonly newId: IdSource
  readonly templates: ReadonlyMap<string, Record<string, unknown>>
  readonly devices: ReadonlyMap<string, { readonly device: Device }>
  readonly subscriptions: ReadonlyMap<string, Record<string, unknown>>
  readonly publishes: Map<string, Publish>
  readonly deadLetters: Map<string, DeadLetter>
}

const DAY_MS = 86_400_000

const counters = (n: number, dead: number): Record<string, number> => ({
  planned: n,
  dispatched: n,
  succeeded: n - dead,
  failed: dead,
  expired: 0,
  retryScheduled: 0,
  retryAttempted: 0,
  deadLettered: dead
})

/**
 * The publish operation over `state`: decodes a PublishRequest, then answers its acceptance
 * (or, for a live duplicate `publishId`, the original publish's status).
 *
 * @since 0.1.0
 */
export const makePublisher = (state: PushState): ((value: unknown, nowMs: number) => Record<string, unknown>) => {
  const { newId, templates, devices, subscriptions, publishes, deadLetters } = state

  const resolve = (intent: PublishIntent): Array<{ provider: Provider; key: string; failed: boolean }> => {
    const out = new Map<string, { provider: Provider; key: string; failed: boolean }>()
    const addDevice = (device: Device | undefined) => {
      if (device === undefined) return
      out.set(`device:${device.id}`, {
        provider: device.recipient.provider,
        key: device.id,
        failed: device.pushState === "FAILED"
      })
    }
    for (const t of intent.recipients) {
      if (t.type === "device") addDevice(devices.get(t.device_id)?.device)
      else if (t.type === "client") {
        for (const { device } of devices.values()) if (device.clientId === t.client_id) addDevice(device)
      } else if (t.type === "channel") {
        for (const s of subscriptions.values()) {
          if (s["channel"] === t.channel) addDevice(devices.get(String(s["deviceId"]))?.device)
        }
      } else if (t.type === "recipient") {
        out.set(`recipient:${t.recipient.tokenHash}`, {
          provider: t.recipient.provider,
          key: t.recipient.tokenHash,
          failed: false
        })
      } else if (t.type === "providerTopic" || t.type === "providerCondition") {
        out.set(`${t.type}:${t.provider}`, { provider: t.provider, key: t.type, failed: false })
      }
    }
    return [...out.values()]
  }

  const renderPayload = (intent: PublishIntent, provider: Provider) => {
    const override = intent.overrides.get(provider)
    if (override !== undefined) return { provider, payload: override, usedOverride: true }
    const templateId = intent.payload["templateId"]
    if (typeof templateId !== "string") {
      const { templateData: _, ...inline } = intent.payload
      return { provider, payload: inline, usedOverride: false }
    }
    const template = templates.get(templateId)!
    const overrides = template["providerOverrides"] as Record<string, { payload: unknown }> | undefined
    if (overrides?.[provider] !== undefined)
      return { provider, payload: overrides[provider].payload, usedOverride: true }
    const locales = template["locales"] as Record<string, Record<string, string>>
    const content = locales[String(template["defaultLocale"])] ?? {}
    const data = intent.payload["templateData"]
    const payload = Object.fromEntries(Object.entries(content).map(([k, v]) => [k, render(v, data)]))
    return { provider, payload, usedOverride: false }
  }

  const publish = (value: unknown, nowMs: number): Record<string, unknown> => {
    const intent = decodePublish(value)
    const templateId = intent.payload["templateId"]
    if (typeof templateId === "string" && !templates.has(templateId)) {
      fail(404, "not_found", `template '${templateId}' was not found`)
    }
    const targets = resolve(intent)
    const providers = [...new Set(targets.map((t) => t.provider))].sort()
    const accepted = (publishId: string, status: string) => ({
      publishId,
      status,
      expectedRecipients: targets.length,
      fanoutRegime: "fastPath",
      renderedPayloads: providers.map((p) => renderPayload(intent, p))
    })
    const existing = intent.publishId === undefined ? undefined : publishes.get(intent.publishId)
    if (existing !== undefined && existing.expiresAtMs > nowMs) {
      return accepted(existing.publishId, statusLabel(existing.state))
    }
    const publishId = intent.publishId ?? newId()
    const dead = targets.filter((t) => t.failed)
    let state: PublishState
    if (intent.expiresAtMs !== undefined && intent.expiresAtMs <= nowMs) state = "expired"
    else if (intent.notBeforeMs !== undefined && intent.notBeforeMs > nowMs) state = "queued"
    else if (dead.length === 0) state = "succeeded"
    else state = dead.length === targets.length ? "dead_lettered" : "partiallySucceeded"
    const delivered = state !== "queued" && state !== "expired"
    for (const t of delivered ? dead : []) {
      const deadLetterId = newId()
      deadLetters.set(deadLetterId, {
        deadLetterId,
        publishId,
        provider: t.provider,
        key: t.key,
        occurredAtMs: nowMs,
        replayable: true
      })
    }
    publishes.set(publishId, {
      publishId,
      state,
      counters: delivered ? counters(targets.length, dead.length) : counters(0, 0),
      expiresAtMs: Math.min(nowMs + DAY_MS, intent.expiresAtMs ?? Number.POSITIVE_INFINITY)
    })
    return accepted(publishId, "accepted")
  }
  return publish
}
