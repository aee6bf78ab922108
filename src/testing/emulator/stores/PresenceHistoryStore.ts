/**
 * Presence history (sections 3.9 and 10.2): a separate stream per presence channel fed by the
 * presence changes the front observes, with paged reads, stream state, reset and point-in-time
 * membership snapshots.
 *
 * @since 0.1.0
 */
import { type AppHandle, ok, type PresenceChange, type Store } from "../Api.ts"
import { jsonByteLength } from "./Bytes.ts"
import { requireValidChannel } from "./ChannelNames.ts"
import { queryInt, queryUint, rejectDuplicateFields } from "./QueryParams.ts"
import { fail, invalid, route } from "./Respond.ts"
import { type IdSource, randomIds } from "./Serials.ts"
import { continuityJson, inspectionJson, pagedRead, pageJson, resetRoute, type StreamAccess } from "./StreamRoutes.ts"
import {
  type Bounds,
  evict,
  type RetentionLimits,
  retainedOf,
  type Stream,
  type StreamRow,
  truncatedByRetention
} from "./Streams.ts"

interface PresenceRow extends StreamRow {
  readonly event: PresenceChange["event"]
  readonly cause: PresenceChange["cause"]
  readonly userId: string
  readonly connectionId: string | null
  /** The stored `presence_event` payload. */
  readonly payload: Readonly<Record<string, unknown>>
}

interface PresenceStream extends Stream<PresenceRow> {
  /** The last recorded event per user, for suppressing repeated edges. */
  readonly latestByUser: Map<string, { readonly event: PresenceChange["event"]; readonly serial: number }>
}

/**
 * Options of the presence-history store.
 *
 * @since 0.1.0
 */
export interface PresenceHistoryOptions {
  /** Retention; default a 24 h window, no count or byte limit. */
  readonly retention?:
    | {
        readonly windowMs?: number | undefined
        readonly maxEventsPerChannel?: number | undefined
        readonly maxBytesPerChannel?: number | undefined
      }
    | undefined
  /** `presence_history.max_page_size`; default 100. */
  readonly maxPageSize?: number | undefined
  /** Fresh stream ids; default random UUIDs. */
  readonly newId?: IdSource | undefined
  /**
   * Keep presence history in the durable history store, as Sockudo does whenever history is on
   * server-wide: each `presence_event` then carries a `dedupe_key` instead of its stream id and
   * serial, and an expired cursor is refused in history's words. Default `false`.
   */
  readonly inHistoryStore?: boolean | undefined
}

/** What the server dedupes a change by: `<event>:<app>:<channel>:<user>:<socket>`, a removal with `:<dead node or _>`. */
const dedupeKey = (change: PresenceChange, appId: string): string => {
  const key = `${change.event}:${appId}:${change.channel}:${change.userId}:${change.socketId}`
  return change.event === "member_removed" ? `${key}:_` : key
}

/**
 * The presence-history store of one app. `onPresence` records `member_added`,
 * `member_updated` and `member_removed` transitions of `presence-` channels while presence
 * history is on; like the server, a transition that repeats the user's last recorded event
 * (a second `member_added` without a removal in between) is not recorded again.
 *
 * @since 0.1.0
 */
export const makePresenceHistoryStore = (options: PresenceHistoryOptions = {}): Store => {
  const newId = options.newId ?? randomIds
  const retention: RetentionLimits = {
    windowMs: options.retention?.windowMs ?? 86_400_000,
    maxRows: options.retention?.maxEventsPerChannel,
    maxBytes: options.retention?.maxBytesPerChannel
  }
  const streams = new Map<string, PresenceStream>()

  const trim = (stream: PresenceStream, nowMs: number): void => {
    for (const row of evict(stream, retention, nowMs)) {
      if (stream.latestByUser.get(row.userId)?.serial === row.serial) stream.latestByUser.delete(row.userId)
    }
  }
  const streamOf = (channel: string, nowMs: number): PresenceStream => {
    let stream = streams.get(channel)
    if (stream === undefined) {
      stream = { streamId: newId(), nextSerial: 1, rows: [], retainedBytes: 0, latestByUser: new Map() }
      streams.set(channel, stream)
    }
    trim(stream, nowMs)
    return stream
  }

  const requirePresenceHistory = (channel: string, app: AppHandle): void => {
    requireValidChannel(channel, app)
    if (!channel.startsWith("presence-")) invalid("Only presence channels support this endpoint")
    if (!app.features.presenceHistory) {
      fail(422, "feature_disabled", `Presence history is disabled by policy for channel '${channel}'`)
    }
  }

  const access: StreamAccess<PresenceRow, PresenceStream> = {
    kind: "presence history",
    require: requirePresenceHistory,
    streamOf,
    maxPageSize: () => options.maxPageSize ?? 100,
    newId,
    onReset: (stream) => stream.latestByUser.clear(),
    keptIn: options.inHistoryStore ? "history" : undefined
  }

  return {
    routes: [
      route("GET", "/channels/:channelName/presence/history", (request, app) => {
        const read = pagedRead(access, request, app)
        const items = read.page.items.map((row) => ({
          stream_id: row.streamId,
          serial: row.serial,
          published_at_ms: row.publishedAtMs,
          event: row.event,
          cause: row.cause,
          user_id: row.userId,
          connection_id: row.connectionId,
          dead_node_id: null,
          payload_size_bytes: row.sizeBytes,
          presence_event: row.payload
        }))
        return ok(pageJson("presence history", read, items, false))
      }),

      route("GET", "/channels/:channelName/presence/history/state", (request, app) => {
        const channel = request.params["channelName"] ?? ""
        requirePresenceHistory(channel, app)
        return ok({ channel, stream: inspectionJson("presence history", streamOf(channel, request.nowMs)) })
      }),

      resetRoute("/channels/:channelName/presence/history/reset", access),

      route("GET", "/channels/:channelName/presence/history/snapshot", (request, app) => {
        rejectDuplicateFields(request, ["at_time_ms", "at", "at_serial"])
        const atTime = queryInt(request, "at_time_ms")
        const atAlias = queryInt(request, "at")
        const atSerial = queryUint(request, "at_serial")
        const channel = request.params["channelName"] ?? ""
        requirePresenceHistory(channel, app)
        const atTimeMs = atTime ?? atAlias
        const stream = streams.get(channel)
        if (stream !== undefined) trim(stream, request.nowMs)
        const bounds: Bounds = {
          start_serial: null,
          end_serial: atSerial ?? null,
          start_time_ms: null,
          end_time_ms: atTimeMs ?? null
        }
        const retained = retainedOf(stream)
        const replay = (stream?.rows ?? []).filter(
          (row) =>
            (atSerial === undefined || row.serial <= atSerial) &&
            (atTimeMs === undefined || row.publishedAtMs <= atTimeMs)
        )
        const requireAdjacency = atTimeMs === undefined
        const members = new Map<
          string,
          { user_id: string; last_event: string; last_event_serial: number; last_event_at_ms: number }
        >()
        let anomaly: string | undefined
        let previous: number | undefined
        for (const row of replay) {
          if (previous !== undefined && (row.serial <= previous || (requireAdjacency && row.serial !== previous + 1))) {
            invalid("presence history serial continuity check failed")
          }
          previous = row.serial
          const entry = {
            user_id: row.userId,
            last_event: row.event,
            last_event_serial: row.serial,
            last_event_at_ms: row.publishedAtMs
          }
          if (row.event === "member_added") {
            if (members.has(row.userId)) anomaly ??= "duplicate_member_added"
            members.set(row.userId, entry)
          } else if (row.event === "member_updated") {
            if (members.has(row.userId)) members.set(row.userId, entry)
            else anomaly ??= "member_updated_without_join"
          } else if (!members.delete(row.userId)) {
            anomaly ??= "member_removed_without_join"
          }
        }
        const truncated = truncatedByRetention(bounds, retained)
        const complete = !truncated
        if (complete && requireAdjacency && replay[0] !== undefined && replay[0].serial !== 1) {
          invalid("presence history complete snapshot is missing its serial prefix")
        }
        if (complete && atTimeMs === undefined && anomaly !== undefined) {
          invalid(`presence history transition anomaly: ${anomaly}`)
        }
        const last = replay[replay.length - 1]
        const sorted = [...members.values()].sort((a, b) =>
          a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0
        )
        return ok({
          channel,
          members: sorted,
          member_count: sorted.length,
          events_replayed: replay.length,
          snapshot_serial: last?.serial ?? null,
          snapshot_time_ms: last?.publishedAtMs ?? null,
          continuity: continuityJson("presence history", retained, complete, truncated)
        })
      })
    ],

    onPresence: (change, app) => {
      if (!app.features.presenceHistory || !change.channel.startsWith("presence-")) return
      const stream = streamOf(change.channel, change.atMs)
      if (stream.latestByUser.get(change.userId)?.event === change.event) return
      const serial = stream.nextSerial
      stream.nextSerial += 1
      const fields = {
        published_at_ms: change.atMs,
        event: change.event,
        cause: change.cause,
        user_id: change.userId,
        connection_id: change.socketId,
        // The server records a member's info when it joins, not when it leaves.
        user_info: change.event === "member_removed" ? null : (change.userInfo ?? null),
        dead_node_id: null
      }
      const payload = options.inHistoryStore
        ? { ...fields, dedupe_key: dedupeKey(change, app.appId) }
        : { stream_id: stream.streamId, serial, ...fields }
      const sizeBytes = jsonByteLength(payload)
      stream.rows.push({
        streamId: stream.streamId,
        serial,
        publishedAtMs: change.atMs,
        sizeBytes,
        event: change.event,
        cause: change.cause,
        userId: change.userId,
        connectionId: change.socketId,
        payload
      })
      stream.retainedBytes += sizeBytes
      stream.latestByUser.set(change.userId, { event: change.event, serial })
      trim(stream, change.atMs)
    }
  }
}
