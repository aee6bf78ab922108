/**
 * Presence history of `presence-` channels: who joined, updated and left, read a page at a time
 * or as a `Stream`, the stream's state, reset, and membership snapshots at a serial or a time.
 *
 * Every operation refuses a channel that is not a `presence-` channel before sending anything.
 * Responses keep the server's snake_case names.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { open } from "../Decode.ts"
import type { SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { type Decoder, Http, prepareBody, schemaDecoder } from "../Http.ts"
import type { QueryParam } from "../Signer.ts"
import { SockudoConfig } from "../SockudoConfig.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"
import {
  Bounds,
  channelPath,
  confirmedBody,
  type ListOptions,
  type ResetOptions,
  rangeQuery,
  resetFields,
  retainedFields,
  stateFields
} from "./History.ts"
import * as Pagination from "./Pagination.ts"

/**
 * A presence change.
 *
 * @since 0.1.0
 */
export const PresenceEventKind = open(["member_added", "member_updated", "member_removed"])

/**
 * Why the change happened.
 *
 * @since 0.1.0
 */
export const PresenceEventCause = open(["join", "disconnect", "orphan_cleanup", "timeout", "forced_disconnect"])

/** What a presence row and its stored event both say. */
const presenceFields = {
  published_at_ms: Schema.Number,
  event: PresenceEventKind,
  cause: PresenceEventCause,
  user_id: Schema.String
}

/**
 * The stored presence event, with the member's `user_info`. Its form depends on where the
 * server keeps presence history: its own store gives `stream_id` and `serial`, the durable
 * history store (Sockudo's choice whenever history is on) gives `dedupe_key` instead; the
 * row around it always carries the stream id and serial.
 *
 * @since 0.1.0
 */
export const PresenceEvent = Schema.Struct({
  stream_id: Schema.optionalKey(Schema.String),
  serial: Schema.optionalKey(Schema.Number),
  ...presenceFields,
  connection_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  user_info: Schema.optionalKey(Schema.Unknown),
  dead_node_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** What the server dedupes the change by, e.g. `member_added:<app>:<channel>:<user>:<socket>`. */
  dedupe_key: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 */
export interface PresenceEvent extends Schema.Schema.Type<typeof PresenceEvent> {}

/**
 * One presence history row.
 *
 * @since 0.1.0
 */
export const PresenceHistoryItem = Schema.Struct({
  stream_id: Schema.String,
  serial: Schema.Number,
  ...presenceFields,
  connection_id: Schema.NullOr(Schema.String),
  dead_node_id: Schema.NullOr(Schema.String),
  payload_size_bytes: Schema.Number,
  presence_event: PresenceEvent
})

/**
 * @since 0.1.0
 */
export interface PresenceHistoryItem extends Schema.Schema.Type<typeof PresenceHistoryItem> {}

/**
 * Health of a presence stream (`continuity_proven` where history says `recovery_allowed`).
 *
 * @since 0.1.0
 */
export const PresenceStreamState = Schema.Struct({ ...stateFields, continuity_proven: Schema.Boolean })

/**
 * One page of presence history.
 *
 * @since 0.1.0
 */
export const PresenceHistoryPage = Schema.Struct({
  items: Schema.Array(PresenceHistoryItem),
  direction: Schema.Literals(["newest_first", "oldest_first"]),
  limit: Schema.Number,
  has_more: Schema.Boolean,
  next_cursor: Schema.optionalKey(Schema.NullOr(Schema.String)),
  bounds: Bounds,
  continuity: Schema.Struct({
    ...retainedFields,
    retained_events: Schema.Number,
    degraded: Schema.Boolean,
    complete: Schema.Boolean,
    truncated_by_retention: Schema.Boolean
  }),
  stream_state: PresenceStreamState
})

/**
 * @since 0.1.0
 */
export interface PresenceHistoryPage extends Schema.Schema.Type<typeof PresenceHistoryPage> {}

const PresenceInspection = Schema.Struct({
  stream_id: Schema.NullOr(Schema.String),
  next_serial: Schema.NullOr(Schema.Number),
  retained: Schema.Struct({ ...retainedFields, retained_events: Schema.Number }),
  state: PresenceStreamState
})

/**
 * `GET /channels/{channel}/presence/history/state`.
 *
 * @since 0.1.0
 */
export const PresenceHistoryState = Schema.Struct({ channel: Schema.String, stream: PresenceInspection })

/**
 * @since 0.1.0
 */
export interface PresenceHistoryState extends Schema.Schema.Type<typeof PresenceHistoryState> {}

/**
 * `presenceHistory.reset`: the presence stream was rotated and its events deleted.
 *
 * @since 0.1.0
 */
export const PresenceResetResult = Schema.Struct({
  ...resetFields,
  purged_events: Schema.Number,
  stream: PresenceInspection
})

/**
 * @since 0.1.0
 */
export interface PresenceResetResult extends Schema.Schema.Type<typeof PresenceResetResult> {}

/**
 * Options of `presenceHistory.snapshot`: both bounds are inclusive; with neither, the latest
 * membership the retained events show.
 *
 * @since 0.1.0
 */
export interface SnapshotOptions {
  /** The membership at this serial (inclusive). */
  readonly atSerial?: number | undefined
  /** Unix milliseconds. */
  readonly atTimeMs?: number | undefined
}

/**
 * Membership rebuilt by replaying retained events; only as complete as retention allows (see
 * `continuity`).
 *
 * @since 0.1.0
 */
export const PresenceSnapshot = Schema.Struct({
  channel: Schema.String,
  members: Schema.Array(
    Schema.Struct({
      user_id: Schema.String,
      last_event: PresenceEventKind,
      last_event_serial: Schema.Number,
      last_event_at_ms: Schema.Number
    })
  ),
  member_count: Schema.Number,
  events_replayed: Schema.Number,
  snapshot_serial: Schema.NullOr(Schema.Number),
  snapshot_time_ms: Schema.NullOr(Schema.Number),
  continuity: Schema.Struct({
    ...retainedFields,
    retained_events: Schema.Number,
    complete: Schema.Boolean,
    truncated_by_retention: Schema.Boolean
  })
})

/**
 * @since 0.1.0
 */
export interface PresenceSnapshot extends Schema.Schema.Type<typeof PresenceSnapshot> {}

const decodePage = schemaDecoder(PresenceHistoryPage)
const decodeState = schemaDecoder(PresenceHistoryState)
const decodeReset = schemaDecoder(PresenceResetResult)
const decodeSnapshot = schemaDecoder(PresenceSnapshot)

const paging = Pagination.cursorPaging<PresenceHistoryPage>()

/**
 * Builds the presence history operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http

  /** `/channels/<channel>/presence/history`, for presence- channels only. */
  const historyPath = (operation: string, channel: string): Result.Result<string, SockudoValidationError> => {
    const path = channelPath(operation, channel, config.limits)
    if (Result.isFailure(path)) return path
    return Validation.isPresenceChannel(channel)
      ? Result.succeed(`${path.success}/presence/history`)
      : Pagination.invalid(operation, "channel", "must be a presence- channel")
  }

  const page = traced("Sockudo.presenceHistory.list")(function* (
    channel: string,
    options: ListOptions | undefined,
    decode: Decoder<PresenceHistoryPage>
  ): Effect.fn.Return<PresenceHistoryPage, SockudoValidationError | SockudoRequestError> {
    const operation = "presenceHistory.list"
    const path = historyPath(operation, channel)
    if (Result.isFailure(path)) return yield* path.failure
    const query = rangeQuery(operation, options)
    if (Result.isFailure(query)) return yield* query.failure
    return yield* http.request({
      channels: channel,
      operation,
      method: "GET",
      path: path.success,
      query: query.success,
      decode
    })
  })

  /** One page of a presence channel's membership changes. */
  const list = (
    channel: string,
    options?: ListOptions
  ): Effect.Effect<PresenceHistoryPage, SockudoValidationError | SockudoRequestError> =>
    page(channel, options, decodePage)

  /** Every membership change, one page requested at a time as the stream is consumed. */
  const stream = (
    channel: string,
    options?: ListOptions
  ): Stream.Stream<PresenceHistoryItem, SockudoValidationError | SockudoRequestError> =>
    Pagination.follow(paging, options?.cursor, (cursor) =>
      page(channel, Pagination.withCursor(options, "cursor", cursor), Pagination.advancing(paging, decodePage, cursor))
    )

  /** The presence stream: id, next serial, retention and health. */
  const state = traced("Sockudo.presenceHistory.state")(function* (
    channel: string
  ): Effect.fn.Return<PresenceHistoryState, SockudoValidationError | SockudoRequestError> {
    const path = historyPath("presenceHistory.state", channel)
    if (Result.isFailure(path)) return yield* path.failure
    return yield* http.request({
      channels: channel,
      operation: "presenceHistory.state",
      method: "GET",
      path: `${path.success}/state`,
      decode: decodeState
    })
  })

  /**
   * Rotates the presence stream and deletes its events. Not retried once the request may have
   * reached the server.
   */
  const reset = traced("Sockudo.presenceHistory.reset")(function* (
    channel: string,
    options: ResetOptions
  ): Effect.fn.Return<PresenceResetResult, SockudoValidationError | SockudoRequestError> {
    const operation = "presenceHistory.reset"
    const path = historyPath(operation, channel)
    if (Result.isFailure(path)) return yield* path.failure
    const body = confirmedBody(operation, channel, "reset", options)
    if (Result.isFailure(body)) return yield* body.failure
    return yield* http.request({
      channels: channel,
      operation,
      method: "POST",
      path: `${path.success}/reset`,
      body: prepareBody(body.success),
      decode: decodeReset,
      retry: "rejected-only"
    })
  })

  /**
   * The members of a presence channel at a serial or a time (inclusive), or now.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const membersOnNewYear = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   return yield* sockudo.presenceHistory.snapshot("presence-room", { atTimeMs: Date.parse("2026-01-01") })
   * })
   * ```
   */
  const snapshot = traced("Sockudo.presenceHistory.snapshot")(function* (
    channel: string,
    options?: SnapshotOptions
  ): Effect.fn.Return<PresenceSnapshot, SockudoValidationError | SockudoRequestError> {
    const operation = "presenceHistory.snapshot"
    const path = historyPath(operation, channel)
    if (Result.isFailure(path)) return yield* path.failure
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return yield* Pagination.validationError(operation, "options", optionsReason)
    const query: Array<QueryParam> = []
    if (options?.atSerial !== undefined) {
      const reason = Pagination.serialReason(options.atSerial)
      if (reason) return yield* Pagination.validationError(operation, "atSerial", reason)
      query.push(["at_serial", String(options.atSerial)])
    }
    if (options?.atTimeMs !== undefined) {
      const reason = Pagination.timeReason(options.atTimeMs)
      if (reason) return yield* Pagination.validationError(operation, "atTimeMs", reason)
      query.push(["at_time_ms", String(options.atTimeMs)])
    }
    return yield* http.request({
      channels: channel,
      operation,
      method: "GET",
      path: `${path.success}/snapshot`,
      query,
      decode: decodeSnapshot
    })
  })

  return { list, stream, state, reset, snapshot } as const
})

/**
 * The presence history operations.
 *
 * @since 0.1.0
 */
export type PresenceHistory = Effect.Success<typeof make>
