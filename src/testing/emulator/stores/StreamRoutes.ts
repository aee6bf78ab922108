/**
 * What the routes of durable history (section 3.8) and presence history (section 3.9) share:
 * the paged read up to its items, the reset route, the confirmation of destructive operations,
 * and the wire forms of retention, continuity and stream inspection. The two differ only in
 * their stream, their row form and the word the server counts with (`messages`, `events`).
 *
 * @since 0.1.0
 */
import { type ApiRequest, type AppHandle, ok, type Route } from "../Api.ts"
import { type Direction, decodeCursor, decodeHistoryQuery, parseDirection } from "./Cursors.ts"
import { Body } from "./JsonBody.ts"
import { type Page, readPage, validateDestructive, validatePageRequest } from "./Paging.ts"
import { invalid, route } from "./Respond.ts"
import type { IdSource } from "./Serials.ts"
import {
  type Bounds,
  healthyState,
  type Retained,
  retainedOf,
  type Stream,
  type StreamKind,
  type StreamRow,
  streamLabel
} from "./Streams.ts"

/**
 * How the routes reach one kind of stream.
 *
 * @since 0.1.0
 */
export interface StreamAccess<R extends StreamRow, S extends Stream<R>> {
  readonly kind: StreamKind
  /** Rejects a request for a channel (validation, feature switch) before the stream is read. */
  readonly require: (channel: string, app: AppHandle) => void
  /** The channel's stream, created on first use, with retention applied at `nowMs`. */
  readonly streamOf: (channel: string, nowMs: number) => S
  /** The largest page a read may ask for. */
  readonly maxPageSize: (app: AppHandle) => number
  /** Fresh stream ids for a reset. */
  readonly newId: IdSource
  /** Clears what the store keeps beside the rows when the stream is reset. */
  readonly onReset?: ((stream: S) => void) | undefined
  /** The store whose words an expired cursor is refused with, when it is not `kind`'s own. */
  readonly keptIn?: StreamKind | undefined
}

const counted = (kind: StreamKind, what: "retained" | "purged"): string =>
  `${what}_${kind === "history" ? "messages" : "events"}`

/**
 * The `retained` object of a stream inspection.
 *
 * @since 0.1.0
 */
export const retainedJson = (kind: StreamKind, retained: Retained): Record<string, unknown> => ({
  stream_id: retained.stream_id,
  [counted(kind, "retained")]: retained.count,
  retained_bytes: retained.retained_bytes,
  oldest_available_serial: retained.oldest_available_serial,
  newest_available_serial: retained.newest_available_serial,
  oldest_available_published_at_ms: retained.oldest_available_published_at_ms,
  newest_available_published_at_ms: retained.newest_available_published_at_ms
})

/**
 * The `continuity` object of a page or a snapshot; `degraded` is left out when `undefined`.
 *
 * @since 0.1.0
 */
export const continuityJson = (
  kind: StreamKind,
  retained: Retained,
  complete: boolean,
  truncated: boolean,
  degraded?: boolean
): Record<string, unknown> => ({
  stream_id: retained.stream_id,
  oldest_available_serial: retained.oldest_available_serial,
  newest_available_serial: retained.newest_available_serial,
  oldest_available_published_at_ms: retained.oldest_available_published_at_ms,
  newest_available_published_at_ms: retained.newest_available_published_at_ms,
  [counted(kind, "retained")]: retained.count,
  retained_bytes: retained.retained_bytes,
  ...(degraded === undefined ? {} : { degraded }),
  complete,
  truncated_by_retention: truncated
})

/**
 * The `stream` object of the state, reset and purge answers.
 *
 * @since 0.1.0
 */
export const inspectionJson = <R extends StreamRow>(kind: StreamKind, stream: Stream<R>): Record<string, unknown> => ({
  stream_id: stream.streamId,
  next_serial: stream.nextSerial,
  retained: retainedJson(kind, retainedOf(stream)),
  state: healthyState(stream.streamId, kind)
})

/**
 * A paged read, decoded, checked and read in the server's order.
 *
 * @since 0.1.0
 */
export interface PagedRead<R extends StreamRow, S extends Stream<R>> {
  readonly channel: string
  readonly direction: Direction
  readonly limit: number
  readonly bounds: Bounds
  readonly stream: S
  readonly page: Page<R>
}

/**
 * Reads one page for `GET .../history` or `GET .../presence/history`.
 *
 * @since 0.1.0
 */
export const pagedRead = <R extends StreamRow, S extends Stream<R>>(
  access: StreamAccess<R, S>,
  request: ApiRequest,
  app: AppHandle
): PagedRead<R, S> => {
  const { kind } = access
  const query = decodeHistoryQuery(request)
  const channel = request.params["channelName"] ?? ""
  access.require(channel, app)
  const direction = parseDirection(query.direction)
  const max = access.maxPageSize(app)
  const limit = Math.min(query.limit ?? max, max)
  if (limit === 0) invalid(`${streamLabel(kind)} limit must be greater than 0`)
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, kind)
  const stream = access.streamOf(channel, request.nowMs)
  const pageRequest = { direction, limit, cursor, bounds: query.bounds }
  validatePageRequest(kind, app.appId, channel, pageRequest)
  const page = readPage(kind, app.appId, channel, stream, pageRequest, access.keptIn)
  return { channel, direction, limit, bounds: query.bounds, stream, page }
}

/**
 * The answer to a paged read, around its items.
 *
 * @since 0.1.0
 */
export const pageJson = <R extends StreamRow, S extends Stream<R>>(
  kind: StreamKind,
  read: PagedRead<R, S>,
  items: ReadonlyArray<unknown>,
  degraded?: boolean
): Record<string, unknown> => ({
  items,
  direction: read.direction,
  limit: read.limit,
  has_more: read.page.hasMore,
  next_cursor: read.page.nextCursor,
  bounds: read.bounds,
  continuity: continuityJson(kind, read.page.retained, read.page.complete, read.page.truncatedByRetention, degraded),
  stream_state: healthyState(read.stream.streamId, kind)
})

/**
 * Decodes and checks the body of a reset or purge: the confirmations, what `fields` reads
 * between them and the reason (in the server's field order), then the channel and the
 * confirmations against it.
 *
 * @since 0.1.0
 */
export const destructiveRequest = <R extends StreamRow, S extends Stream<R>, A>(
  access: StreamAccess<R, S>,
  request: ApiRequest,
  app: AppHandle,
  operation: "reset" | "purge",
  struct: string,
  fields: (body: Body) => A
) => {
  const body = Body.of(request, struct)
  const confirmChannel = body.string("confirm_channel")
  const confirmOperation = body.string("confirm_operation")
  const extra = fields(body)
  const reason = body.string("reason")
  const requestedBy = body.optionalString("requested_by") ?? null
  const channel = request.params["channelName"] ?? ""
  access.require(channel, app)
  validateDestructive(channel, confirmChannel, confirmOperation, operation, reason)
  return { channel, reason, requestedBy, fields: extra }
}

/**
 * `POST .../reset`: empties the stream and starts a new one with a fresh id.
 *
 * @since 0.1.0
 */
export const resetRoute = <R extends StreamRow, S extends Stream<R>>(path: string, access: StreamAccess<R, S>): Route =>
  route("POST", path, (request, app) => {
    const { channel, reason, requestedBy } = destructiveRequest(
      access,
      request,
      app,
      "reset",
      "HistoryResetRequestBody",
      () => undefined
    )
    const stream = access.streamOf(channel, request.nowMs)
    const previous = stream.streamId
    const purgedRows = stream.rows.length
    const purgedBytes = stream.retainedBytes
    stream.rows = []
    stream.retainedBytes = 0
    stream.nextSerial = 1
    access.onReset?.(stream)
    stream.streamId = access.newId()
    return ok({
      ok: true,
      operation: "reset",
      channel,
      reason,
      requested_by: requestedBy,
      previous_stream_id: previous,
      new_stream_id: stream.streamId,
      [counted(access.kind, "purged")]: purgedRows,
      purged_bytes: purgedBytes,
      stream: inspectionJson(access.kind, stream)
    })
  })
