/**
 * The retained streams of durable history (section 3.8) and presence history (section 3.9): their
 * rows, retention and eviction, retention statistics and the server's stream state.
 *
 * @since 0.1.0
 */

/**
 * Which stream a paging request reads: `"history"` or `"presence history"` (the server's error
 * messages differ only by this label).
 *
 * @since 0.1.0
 */
export type StreamKind = "history" | "presence history"

/**
 * The capitalised stream label that starts the server's messages (`History`, `Presence history`).
 *
 * @since 0.1.0
 */
export const streamLabel = (kind: StreamKind): string => (kind === "history" ? "History" : "Presence history")

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
