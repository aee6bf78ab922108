/**
 * The paging model shared by durable history (section 3.8) and presence history (section 3.9):
 * query decoding, opaque cursors that embed the stream, last serial, direction and bounds, the
 * exact 400s for mismatched or expired cursors, and page reads over a retained stream.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { base64UrlDecode, base64UrlEncode, invalid, queryInt, queryUint, rejectDuplicateFields } from "./shared.ts"

/**
 * Read order of a page.
 *
 * @since 0.1.0
 */
export type Direction = "newest_first" | "oldest_first"

/**
 * Inclusive bounds of a read (`null` = unbounded), in the server's wire form.
 *
 * @since 0.1.0
 */
export interface Bounds {
  readonly start_serial: number | null
  readonly end_serial: number | null
  readonly start_time_ms: number | null
  readonly end_time_ms: number | null
}

/**
 * The decoded cursor: the position after which the next page starts, and the request it belongs to.
 *
 * @since 0.1.0
 */
export interface Cursor {
  readonly version: number
  readonly app_id: string
  readonly channel: string
  readonly stream_id: string
  readonly serial: number
  readonly direction: Direction
  readonly bounds: Bounds
}

/**
 * A retained row of a stream.
 *
 * @since 0.1.0
 */
export interface StreamRow {
  readonly streamId: string
  readonly serial: number
  readonly publishedAtMs: number
  readonly sizeBytes: number
}

/**
 * What is retained in a stream, in the server's `continuity` / `retained` terms.
 *
 * @since 0.1.0
 */
export interface Retained {
  readonly stream_id: string | null
  readonly count: number
  readonly retained_bytes: number
  readonly oldest_available_serial: number | null
  readonly newest_available_serial: number | null
  readonly oldest_available_published_at_ms: number | null
  readonly newest_available_published_at_ms: number | null
}

/**
 * One retained stream: an id, the next serial to hand out and its rows, oldest first.
 *
 * @since 0.1.0
 */
export interface Stream<R extends StreamRow> {
  streamId: string
  nextSerial: number
  rows: Array<R>
  retainedBytes: number
}

/**
 * Retention limits of a stream (`undefined` = unlimited).
 *
 * @since 0.1.0
 */
export interface RetentionLimits {
  readonly windowMs: number
  readonly maxRows?: number | undefined
  readonly maxBytes?: number | undefined
}

/**
 * Drops rows older than the retention window (relative to `nowMs`), then the oldest rows while
 * the count or byte limits are exceeded; returns the dropped rows.
 *
 * @since 0.1.0
 */
export const evict = <R extends StreamRow>(stream: Stream<R>, limits: RetentionLimits, nowMs: number): Array<R> => {
  const cutoff = nowMs - limits.windowMs
  let drop = 0
  let bytes = stream.retainedBytes
  const rows = stream.rows
  while (drop < rows.length && rows[drop]!.publishedAtMs < cutoff) bytes -= rows[drop++]!.sizeBytes
  if (limits.maxRows !== undefined) {
    while (rows.length - drop > limits.maxRows) bytes -= rows[drop++]!.sizeBytes
  }
  if (limits.maxBytes !== undefined) {
    while (drop < rows.length && bytes > limits.maxBytes) bytes -= rows[drop++]!.sizeBytes
  }
  const dropped = rows.splice(0, drop)
  stream.retainedBytes = bytes
  return dropped
}

/**
 * The retention statistics of a stream (or of no stream at all).
 *
 * @since 0.1.0
 */
export const retainedOf = <R extends StreamRow>(stream: Stream<R> | undefined): Retained => {
  const oldest = stream?.rows[0]
  const newest = stream?.rows[stream.rows.length - 1]
  return {
    stream_id: stream?.streamId ?? null,
    count: stream?.rows.length ?? 0,
    retained_bytes: stream?.retainedBytes ?? 0,
    oldest_available_serial: oldest?.serial ?? null,
    newest_available_serial: newest?.serial ?? null,
    oldest_available_published_at_ms: oldest?.publishedAtMs ?? null,
    newest_available_published_at_ms: newest?.publishedAtMs ?? null
  }
}

/**
 * Whether the requested range reaches before what is retained.
 *
 * @since 0.1.0
 */
export const truncatedByRetention = (bounds: Bounds, retained: Retained): boolean => {
  if (
    bounds.start_serial !== null &&
    retained.oldest_available_serial !== null &&
    bounds.start_serial < retained.oldest_available_serial
  ) {
    return true
  }
  if (
    bounds.start_time_ms !== null &&
    retained.oldest_available_published_at_ms !== null &&
    bounds.start_time_ms < retained.oldest_available_published_at_ms
  ) {
    return true
  }
  return (
    bounds.start_serial === null &&
    bounds.start_time_ms === null &&
    retained.oldest_available_serial !== null &&
    retained.oldest_available_serial > 1
  )
}

/**
 * Which stream a paging request reads: `"history"` or `"presence history"` (the server's error
 * messages differ only by this label).
 *
 * @since 0.1.0
 */
export type StreamKind = "history" | "presence history"

const capitalised = (kind: StreamKind): string => (kind === "history" ? "History" : "Presence history")

/**
 * A decoded and validated page request.
 *
 * @since 0.1.0
 */
export interface PageRequest {
  readonly direction: Direction
  readonly limit: number
  readonly cursor: Cursor | undefined
  readonly bounds: Bounds
}

/**
 * The typed part of the history query (`HistoryQuery`): integer parameters reject as plain text.
 *
 * @since 0.1.0
 */
export interface HistoryQuery {
  readonly limit: number | undefined
  readonly direction: string | undefined
  readonly cursor: string | undefined
  readonly bounds: Bounds
}

const HISTORY_QUERY_FIELDS = [
  "limit",
  "direction",
  "cursor",
  "start_serial",
  "end_serial",
  "start_time_ms",
  "end_time_ms",
  "start",
  "end"
]

/**
 * Decodes the history query (limit, direction, cursor, bounds and their `start`/`end` aliases,
 * where the `_ms` form wins).
 *
 * @since 0.1.0
 */
export const decodeHistoryQuery = (request: ApiRequest): HistoryQuery => {
  rejectDuplicateFields(request, HISTORY_QUERY_FIELDS)
  const limit = queryUint(request, "limit")
  const startSerial = queryUint(request, "start_serial")
  const endSerial = queryUint(request, "end_serial")
  const startTime = queryInt(request, "start_time_ms")
  const endTime = queryInt(request, "end_time_ms")
  const start = queryInt(request, "start")
  const end = queryInt(request, "end")
  return {
    limit,
    direction: request.query["direction"],
    cursor: request.query["cursor"],
    bounds: {
      start_serial: startSerial ?? null,
      end_serial: endSerial ?? null,
      start_time_ms: startTime ?? start ?? null,
      end_time_ms: endTime ?? end ?? null
    }
  }
}

/**
 * Parses `direction` (case-insensitive, with the `backwards`/`forwards` aliases).
 *
 * @since 0.1.0
 */
export const parseDirection = (raw: string | undefined): Direction => {
  const value = (raw ?? "newest_first").toLowerCase()
  if (value === "newest_first" || value === "backwards" || value === "reverse") return "newest_first"
  if (value === "oldest_first" || value === "forwards" || value === "forward") return "oldest_first"
  return invalid(`Invalid direction '${value}'. Accepted values: newest_first, oldest_first, backwards, forwards`)
}

/**
 * Encodes a cursor as the server does: unpadded base64url of its JSON.
 *
 * @since 0.1.0
 */
export const encodeCursor = (cursor: Cursor): string =>
  base64UrlEncode(
    JSON.stringify({
      version: cursor.version,
      app_id: cursor.app_id,
      channel: cursor.channel,
      stream_id: cursor.stream_id,
      serial: cursor.serial,
      direction: cursor.direction,
      bounds: cursor.bounds
    })
  )

const isOptionalInt = (v: unknown): boolean => v === null || v === undefined || Number.isInteger(v)

/**
 * Decodes an opaque cursor, rejecting with the server's 400 messages.
 *
 * @since 0.1.0
 */
export const decodeCursor = (encoded: string, kind: StreamKind): Cursor => {
  const prefix = `${capitalised(kind)} cursor`
  if (encoded.length > 16 * 1024) return invalid(`${prefix} exceeds 16 KiB`)
  const bad = (detail: string): never => invalid(`Invalid ${kind} cursor: ${detail}`)
  const decoded = base64UrlDecode(encoded)
  if ("error" in decoded) return bad(decoded.error)
  let parsed: unknown
  try {
    parsed = JSON.parse(decoded.text)
  } catch {
    return bad("expected a JSON cursor object")
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return bad("expected a JSON cursor object")
  }
  const c = parsed as Record<string, unknown>
  const bounds = c["bounds"]
  for (const key of ["version", "app_id", "channel", "stream_id", "serial", "direction", "bounds"]) {
    if (!(key in c)) return bad(`missing field \`${key}\``)
  }
  if (!Number.isInteger(c["version"]) || (c["version"] as number) < 0 || (c["version"] as number) > 255) {
    return bad("invalid value for `version`")
  }
  if (typeof c["app_id"] !== "string" || typeof c["channel"] !== "string" || typeof c["stream_id"] !== "string") {
    return bad("invalid type, expected a string")
  }
  if (!Number.isInteger(c["serial"]) || (c["serial"] as number) < 0) return bad("invalid value for `serial`")
  if (c["direction"] !== "newest_first" && c["direction"] !== "oldest_first") {
    return bad("unknown variant, expected `newest_first` or `oldest_first`")
  }
  if (bounds === null || typeof bounds !== "object" || Array.isArray(bounds)) {
    return bad("invalid type for `bounds`, expected struct")
  }
  const b = bounds as Record<string, unknown>
  if (!["start_serial", "end_serial", "start_time_ms", "end_time_ms"].every((k) => isOptionalInt(b[k]))) {
    return bad("invalid value in `bounds`")
  }
  if (c["version"] !== 1) return invalid(`Unsupported ${kind} cursor version: ${c["version"]}`)
  return {
    version: 1,
    app_id: c["app_id"],
    channel: c["channel"],
    stream_id: c["stream_id"],
    serial: c["serial"] as number,
    direction: c["direction"],
    bounds: {
      start_serial: (b["start_serial"] as number | null | undefined) ?? null,
      end_serial: (b["end_serial"] as number | null | undefined) ?? null,
      start_time_ms: (b["start_time_ms"] as number | null | undefined) ?? null,
      end_time_ms: (b["end_time_ms"] as number | null | undefined) ?? null
    }
  }
}

const sameBounds = (a: Bounds, b: Bounds): boolean =>
  a.start_serial === b.start_serial &&
  a.end_serial === b.end_serial &&
  a.start_time_ms === b.start_time_ms &&
  a.end_time_ms === b.end_time_ms

/**
 * The read-request checks of the server, in its order: limit, serial bounds, time bounds, then
 * the cursor's app, channel, direction and bounds against the request.
 *
 * @since 0.1.0
 */
export const validatePageRequest = (kind: StreamKind, appId: string, channel: string, request: PageRequest): void => {
  const label = capitalised(kind)
  if (request.limit === 0) invalid(`${label} limit must be greater than 0`)
  const { bounds, cursor } = request
  if (bounds.start_serial !== null && bounds.end_serial !== null && bounds.start_serial > bounds.end_serial) {
    invalid("start_serial must be less than or equal to end_serial")
  }
  if (bounds.start_time_ms !== null && bounds.end_time_ms !== null && bounds.start_time_ms > bounds.end_time_ms) {
    invalid("start_time_ms must be less than or equal to end_time_ms")
  }
  if (cursor !== undefined) {
    if (cursor.app_id !== appId) invalid(`${label} cursor app does not match the request`)
    if (cursor.channel !== channel) invalid(`${label} cursor channel does not match the request`)
    if (cursor.direction !== request.direction) invalid(`${label} cursor direction does not match the request`)
    if (!sameBounds(cursor.bounds, bounds)) invalid(`${label} cursor bounds do not match the request`)
  }
}

/**
 * One page of a stream.
 *
 * @since 0.1.0
 */
export interface Page<R> {
  readonly items: ReadonlyArray<R>
  readonly nextCursor: string | null
  readonly hasMore: boolean
  readonly complete: boolean
  readonly truncatedByRetention: boolean
  readonly retained: Retained
}

/**
 * Reads one page of a (possibly absent) stream after retention has been applied: rejects expired
 * cursors, filters by bounds and cursor position, and builds the next cursor when more remain.
 *
 * @since 0.1.0
 */
export const readPage = <R extends StreamRow>(
  kind: StreamKind,
  appId: string,
  channel: string,
  stream: Stream<R> | undefined,
  request: PageRequest
): Page<R> => {
  const retained = retainedOf(stream)
  if (stream === undefined) {
    return { items: [], nextCursor: null, hasMore: false, complete: true, truncatedByRetention: false, retained }
  }
  const { bounds, cursor, direction, limit } = request
  if (cursor !== undefined) {
    const expired = `Expired ${kind} cursor`
    if (cursor.stream_id !== stream.streamId) invalid(`${expired}: channel stream changed`)
    if (retained.oldest_available_serial !== null && cursor.serial < retained.oldest_available_serial) {
      invalid(`${expired}: cursor points before retained history`)
    }
  }
  const matches = (row: R): boolean =>
    (bounds.start_serial === null || row.serial >= bounds.start_serial) &&
    (bounds.end_serial === null || row.serial <= bounds.end_serial) &&
    (bounds.start_time_ms === null || row.publishedAtMs >= bounds.start_time_ms) &&
    (bounds.end_time_ms === null || row.publishedAtMs <= bounds.end_time_ms) &&
    (cursor === undefined ||
      (row.streamId === cursor.stream_id &&
        (direction === "newest_first" ? row.serial < cursor.serial : row.serial > cursor.serial)))
  const collected: Array<R> = []
  const rows = stream.rows
  if (direction === "newest_first") {
    for (let i = rows.length - 1; i >= 0 && collected.length <= limit; i--)
      if (matches(rows[i]!)) collected.push(rows[i]!)
  } else {
    for (let i = 0; i < rows.length && collected.length <= limit; i++) if (matches(rows[i]!)) collected.push(rows[i]!)
  }
  const hasMore = collected.length > limit
  const items = collected.slice(0, limit)
  const last = items[items.length - 1]
  const nextCursor =
    hasMore && last !== undefined
      ? encodeCursor({
          version: 1,
          app_id: appId,
          channel,
          stream_id: last.streamId,
          serial: last.serial,
          direction,
          bounds
        })
      : null
  const truncated = truncatedByRetention(bounds, retained)
  return { items, nextCursor, hasMore, complete: !hasMore && !truncated, truncatedByRetention: truncated, retained }
}

/**
 * The server's healthy in-memory `stream_state` object.
 *
 * @since 0.1.0
 */
export const healthyState = (streamId: string, kind: StreamKind): Record<string, unknown> => ({
  stream_id: streamId,
  durable_state: "healthy",
  [kind === "history" ? "recovery_allowed" : "continuity_proven"]: true,
  reset_required: false,
  reason: null,
  node_id: null,
  last_transition_at_ms: null,
  authoritative_source: "in_memory",
  observed_source: "in_memory"
})

/**
 * The confirmation checks of history and presence-history reset/purge.
 *
 * @since 0.1.0
 */
export const validateDestructive = (
  channel: string,
  confirmChannel: string,
  confirmOperation: string,
  expected: "reset" | "purge",
  reason: string
): void => {
  if (confirmChannel !== channel) invalid("confirm_channel must exactly match the channel path")
  if (confirmOperation !== expected) invalid(`confirm_operation must be '${expected}'`)
  if (reason.trim() === "") invalid("reason must not be empty")
}
