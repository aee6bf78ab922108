/**
 * Page reads shared by durable history (section 3.8) and presence history (section 3.9): the
 * server's read-request checks, reads over a retained stream with expired-cursor 400s, and the
 * confirmation checks of reset and purge.
 *
 * @since 0.1.0
 */
import { type Cursor, type Direction, encodeCursor } from "./Cursors.ts"
import { invalid } from "./Respond.ts"
import {
  type Bounds,
  type Retained,
  retainedOf,
  type Stream,
  type StreamKind,
  type StreamRow,
  streamLabel,
  truncatedByRetention
} from "./Streams.ts"

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
  const label = streamLabel(kind)
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
 * cursors (naming the stream `expiredKind` when it is kept in another kind's store), filters by
 * bounds and cursor position, and builds the next cursor when more remain.
 *
 * @since 0.1.0
 */
export const readPage = <R extends StreamRow>(
  kind: StreamKind,
  appId: string,
  channel: string,
  stream: Stream<R> | undefined,
  request: PageRequest,
  expiredKind: StreamKind = kind
): Page<R> => {
  const retained = retainedOf(stream)
  if (stream === undefined) {
    return { items: [], nextCursor: null, hasMore: false, complete: true, truncatedByRetention: false, retained }
  }
  const { bounds, cursor, direction, limit } = request
  if (cursor !== undefined) {
    const expired = `Expired ${expiredKind} cursor`
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
