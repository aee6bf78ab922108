/**
 * The durable message state of one emulated app, shared by the history, versioned-messages and
 * annotations stores: per-channel history streams, per-channel version chains, the serial
 * generator and the message-layer idempotency records (sections 5.2, 6, 10.1 and 10.3).
 *
 * @since 0.1.0
 */
import type { AppHandle, PublishedEvent, PublishReceipt } from "../Api.ts"
import { canonicalJson, jsonByteLength } from "./Bytes.ts"
import { type IdSource, randomIds, SerialSource } from "./Serials.ts"
import { evict, type RetentionLimits, type Stream, type StreamRow } from "./Streams.ts"

/**
 * A versioned action (`message.<action>`).
 *
 * @since 0.1.0
 */
export type MessageAction = "create" | "update" | "delete" | "append" | "summary"

/**
 * A row of a channel's durable history.
 *
 * @since 0.1.0
 */
export interface HistoryRow extends StreamRow {
  readonly messageId: string | null
  readonly eventName: string | null
  /** The stored V2 form of the published message. */
  readonly message: Readonly<Record<string, unknown>>
  /** The versioned message this row created, if any. */
  readonly messageSerial: string | undefined
}

/**
 * One version of a versioned message.
 *
 * @since 0.1.0
 */
export interface VersionRecord {
  readonly action: MessageAction
  readonly messageSerial: string
  readonly versionSerial: string
  readonly historySerial: number
  readonly deliverySerial: number
  readonly timestampMs: number
  readonly clientId: string | undefined
  readonly description: string | undefined
  /** Absent when `undefined`. */
  readonly metadata: unknown
  readonly name: string | undefined
  /** The aggregated data (a string for HTTP publishes, any JSON after an update); absent when `undefined`. */
  readonly data: unknown
  readonly extras: Readonly<Record<string, unknown>> | undefined
  /** For appends: the fragment this version added. */
  readonly appendFragment: string | undefined
}

/**
 * What an op_id replay returns: the fingerprint of the first request and the version it created.
 *
 * @since 0.1.0
 */
export interface OperationRecord {
  readonly fingerprint: string
  readonly record: VersionRecord
}

/**
 * Every version of one message, oldest first.
 *
 * @since 0.1.0
 */
export interface VersionChain {
  readonly versions: Array<VersionRecord>
  latest: VersionRecord
  readonly originalClientId: string | undefined
  /** Keyed by `<action>\0<op_id>`. */
  readonly operations: Map<string, OperationRecord>
}

/**
 * The versioned messages of one channel and its delivery-serial counter (shared by creates and
 * mutations).
 *
 * @since 0.1.0
 */
export interface VersionChannel {
  readonly streamId: string
  nextDeliverySerial: number
  readonly messages: Map<string, VersionChain>
}

/**
 * Retention of durable history (section 10.1). Defaults: a 24 h window, no count or byte limit.
 *
 * @since 0.1.0
 */
export interface HistoryRetention {
  readonly windowMs?: number | undefined
  readonly maxMessagesPerChannel?: number | undefined
  readonly maxBytesPerChannel?: number | undefined
}

/**
 * Options of the shared message state.
 *
 * @since 0.1.0
 */
export interface MessageStateOptions {
  /** Retention of durable history; default a 24 h window. */
  readonly historyRetention?: HistoryRetention | undefined
  /** Lifetime of message-layer idempotency records (section 5.2); default 120 000 ms. */
  readonly idempotencyTtlMs?: number | undefined
  /** The node id inside serials; default `"node"` (the server's fallback). */
  readonly nodeId?: string | undefined
  /** Fresh ids for streams, generated message ids and annotations; default random UUIDs. */
  readonly newId?: IdSource | undefined
}

interface PublishKey {
  readonly fingerprint: string
  readonly receipt: PublishReceipt
  readonly expiresAtMs: number
}

/** What subscribers receive and history keeps: a client event's own JSON value, else the published string. */
const delivered = (event: PublishedEvent): unknown => (event.value !== undefined ? event.value : event.data)

const RUNTIME_ACTIONS: Readonly<Record<string, MessageAction>> = {
  "message.create": "create",
  "message.update": "update",
  "message.delete": "delete",
  "message.append": "append",
  "message.summary": "summary"
}

/**
 * The headers a versioned message carries on the wire (`sockudo_action`, serials, timestamp).
 *
 * @since 0.1.0
 */
export const runtimeExtras = (record: VersionRecord): Record<string, unknown> => {
  const headers: Record<string, unknown> = {
    ...((record.extras?.["headers"] as Record<string, unknown> | undefined) ?? {}),
    sockudo_action: `message.${record.action}`,
    sockudo_message_serial: record.messageSerial,
    sockudo_version_serial: record.versionSerial,
    sockudo_version_timestamp_ms: record.timestampMs,
    sockudo_history_serial: record.historySerial
  }
  return { ...record.extras, headers }
}

/**
 * The `VersionedRealtimeMessage` JSON of a version (section 10.3). The `"aggregate"` projection
 * shows the accumulated data; `"mutation"` shows only the fragment of an append (the versions list).
 *
 * @since 0.1.0
 */
export const versionedMessageJson = (
  channel: string,
  record: VersionRecord,
  projection: "aggregate" | "mutation"
): Record<string, unknown> => {
  const data =
    projection === "mutation" && record.action === "append" ? (record.appendFragment ?? record.data) : record.data
  const out: Record<string, unknown> = { event: `sockudo:message.${record.action}`, channel }
  if (data !== undefined) out["data"] = data
  if (record.name !== undefined) out["name"] = record.name
  out["serial"] = record.deliverySerial
  if (record.extras !== undefined) out["extras"] = record.extras
  out["action"] = record.action
  out["message_serial"] = record.messageSerial
  out["history_serial"] = record.historySerial
  out["delivery_serial"] = record.deliverySerial
  const version: Record<string, unknown> = { serial: record.versionSerial }
  if (record.clientId !== undefined) version["client_id"] = record.clientId
  version["timestamp_ms"] = record.timestampMs
  if (record.description !== undefined) version["description"] = record.description
  if (record.metadata !== undefined) version["metadata"] = record.metadata
  out["version"] = version
  return out
}

/**
 * The data string a realtime event carries for a version's data.
 *
 * @since 0.1.0
 */
export const wireData = (data: unknown): string =>
  data === undefined ? "null" : typeof data === "string" ? data : JSON.stringify(data)

/**
 * The message state of one app. Create one per app and hand it to the history,
 * versioned-messages and annotations stores.
 *
 * @since 0.1.0
 */
export class MessageState {
  readonly serials: SerialSource
  readonly newId: IdSource
  readonly retention: RetentionLimits
  readonly idempotencyTtlMs: number
  private readonly history = new Map<string, Stream<HistoryRow>>()
  private readonly versions = new Map<string, VersionChannel>()
  private readonly publishKeys = new Map<string, PublishKey>()

  constructor(options: MessageStateOptions = {}) {
    this.serials = new SerialSource(options.nodeId ?? "node")
    this.newId = options.newId ?? randomIds
    this.retention = {
      windowMs: options.historyRetention?.windowMs ?? 86_400_000,
      maxRows: options.historyRetention?.maxMessagesPerChannel,
      maxBytes: options.historyRetention?.maxBytesPerChannel
    }
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? 120_000
  }

  /** The history stream of a channel, created on first use, after retention at `nowMs`. */
  historyStream(channel: string, nowMs: number): Stream<HistoryRow> {
    let stream = this.history.get(channel)
    if (stream === undefined) {
      stream = { streamId: this.newId(), nextSerial: 1, rows: [], retainedBytes: 0 }
      this.history.set(channel, stream)
    }
    evict(stream, this.retention, nowMs)
    return stream
  }

  /** The version channel of a channel, created on first use. */
  versionChannel(channel: string): VersionChannel {
    let state = this.versions.get(channel)
    if (state === undefined) {
      state = { streamId: this.newId(), nextDeliverySerial: 1, messages: new Map() }
      this.versions.set(channel, state)
    }
    return state
  }

  /** A message's version chain, if the message exists. */
  chain(channel: string, messageSerial: string): VersionChain | undefined {
    return this.versions.get(channel)?.messages.get(messageSerial)
  }

  /**
   * Appends a mutation to a chain: the next delivery serial of the channel, a fresh version serial.
   * `build` receives both and returns the new version.
   */
  appendVersion(
    channel: string,
    chain: VersionChain,
    nowMs: number,
    build: (versionSerial: string, deliverySerial: number) => VersionRecord
  ): VersionRecord {
    const state = this.versionChannel(channel)
    const deliverySerial = Math.max(state.nextDeliverySerial, chain.latest.deliverySerial + 1)
    state.nextDeliverySerial = deliverySerial + 1
    const record = build(this.serials.next(nowMs), deliverySerial)
    chain.versions.push(record)
    chain.latest = record
    return record
  }

  /**
   * Handles one channel of an accepted publish: message-layer idempotency (section 5.2), the
   * history append (section 10.1) and, on versioned channels, the create version with its
   * realtime delivery and webhook (sections 6 and 10.3).
   */
  publish(event: PublishedEvent, app: AppHandle): PublishReceipt | { readonly conflict: true } {
    const now = event.publishedAtMs
    const extrasKey = event.extras?.["idempotencyKey"]
    const key = event.messageId ?? (typeof extrasKey === "string" ? extrasKey : undefined)
    const fingerprint = canonicalJson({ name: event.name, data: event.data, extras: event.extras, tags: event.tags })
    const scoped = key === undefined ? undefined : `${event.channel}\0${key}`
    if (scoped !== undefined) {
      const existing = this.publishKeys.get(scoped)
      if (existing !== undefined && existing.expiresAtMs > now) {
        return existing.fingerprint === fingerprint ? existing.receipt : { conflict: true }
      }
    }
    const receipt = this.record(event, app)
    if (scoped !== undefined) {
      for (const [k, v] of this.publishKeys) if (v.expiresAtMs <= now) this.publishKeys.delete(k)
      this.publishKeys.set(scoped, { fingerprint, receipt, expiresAtMs: now + this.idempotencyTtlMs })
    }
    return receipt
  }

  private record(event: PublishedEvent, app: AppHandle): PublishReceipt {
    if (!app.features.history) return {}
    const now = event.publishedAtMs
    const headers = event.extras?.["headers"] as Readonly<Record<string, unknown>> | undefined
    const rawAction = headers?.["sockudo_action"]
    const runtimeAction = typeof rawAction === "string" ? RUNTIME_ACTIONS[rawAction] : undefined
    const isMutation = runtimeAction === "update" || runtimeAction === "delete" || runtimeAction === "append"
    const carriesSerial = typeof headers?.["sockudo_message_serial"] === "string"
    const stream = this.historyStream(event.channel, now)
    const historySerial = stream.nextSerial
    if (!isMutation) stream.nextSerial += 1
    const messageId = event.messageId ?? this.newId()

    let streamId = stream.streamId
    let serial = historySerial
    let extras = event.extras
    let receipt: PublishReceipt = {}
    let messageSerial: string | undefined
    if (app.features.versionedMessages && !carriesSerial && runtimeAction === undefined) {
      messageSerial = this.serials.next(now)
      const versions = this.versionChannel(event.channel)
      const deliverySerial = versions.nextDeliverySerial
      versions.nextDeliverySerial += 1
      const actor = event.socketId === undefined ? undefined : app.userOf(event.socketId)
      const create: VersionRecord = {
        action: "create",
        messageSerial,
        versionSerial: messageSerial,
        historySerial,
        deliverySerial,
        timestampMs: now,
        clientId: actor,
        description: undefined,
        metadata: undefined,
        name: event.name,
        data: delivered(event),
        extras: undefined,
        appendFragment: undefined
      }
      extras = runtimeExtras({ ...create, extras: event.extras })
      const stored: VersionRecord = { ...create, extras }
      versions.messages.set(messageSerial, {
        versions: [stored],
        latest: stored,
        originalClientId: actor,
        operations: new Map()
      })
      streamId = versions.streamId
      serial = deliverySerial
      receipt = {
        message_serial: messageSerial,
        history_serial: historySerial,
        delivery_serial: deliverySerial,
        version_serial: messageSerial
      }
      app.webhook({
        name: "message_version_created",
        channel: event.channel,
        message_serial: messageSerial,
        version_serial: messageSerial,
        action: "message.create"
      })
      app.broadcast(
        event.channel,
        event.name,
        delivered(event),
        event.socketId === undefined ? { extras } : { extras, exceptSocketId: event.socketId }
      )
    }

    if (!isMutation) {
      const message: Record<string, unknown> = { event: event.name, channel: event.channel, data: delivered(event) }
      if (event.tags !== undefined) {
        message["tags"] = Object.fromEntries(Object.entries(event.tags).sort(([a], [b]) => (a < b ? -1 : 1)))
      }
      message["message_id"] = messageId
      message["stream_id"] = streamId
      message["serial"] = serial
      if (extras !== undefined) message["extras"] = extras
      const sizeBytes = jsonByteLength(message)
      stream.rows.push({
        streamId: stream.streamId,
        serial: historySerial,
        publishedAtMs: now,
        sizeBytes,
        messageId,
        eventName: event.name,
        message,
        messageSerial: messageSerial ?? (carriesSerial ? String(headers?.["sockudo_message_serial"]) : undefined)
      })
      stream.retainedBytes += sizeBytes
      evict(stream, this.retention, now)
    }
    return receipt
  }
}
