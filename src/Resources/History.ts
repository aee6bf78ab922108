/**
 * Durable channel history: read it a page at a time or as a `Stream`, inspect the stream's
 * state, and operate it (reset, purge).
 *
 * Pages follow the server's cursor: every page of one read repeats the same direction and
 * bounds, which the server checks against the cursor. Items keep the server's snake_case names;
 * on versioned channels a row's `message` is the latest version of its message.
 *
 * The module holds what the operations answer (a page of history rows with its bounds,
 * continuity and stream state, a stream's inspection, and the outcomes of reset and purge; the
 * retention and state fields are shared with presence history), the checks of their inputs (the
 * range query and confirmed bodies, also shared with presence history), and the operations.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { open } from "../Decode.ts"
import type { SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { type Decoder, Http, prepareBody, type RetryMode, schemaDecoder } from "../Http.ts"
import { encode, type QueryParam } from "../Signer.ts"
import { type Limits, SockudoConfig } from "../SockudoConfig.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"
import { StoredMessage, VersionedMessage } from "./Messages.ts"
import * as Pagination from "./Pagination.ts"

/**
 * One history row. `operation_kind` is `"append"` for a plain publish (a history-log term) and
 * `message.<action>` when the row shows the latest version of a versioned message, whose form
 * `message` then takes (see `Messages.isVersioned`).
 *
 * @since 0.1.0
 */
export const HistoryItem = Schema.Struct({
  stream_id: Schema.String,
  serial: Schema.Number,
  published_at_ms: Schema.Number,
  message_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  event_name: Schema.optionalKey(Schema.NullOr(Schema.String)),
  operation_kind: Schema.String,
  payload_size_bytes: Schema.Number,
  message: Schema.Union([VersionedMessage, StoredMessage])
})

/**
 * @since 0.1.0
 */
export interface HistoryItem extends Schema.Schema.Type<typeof HistoryItem> {}

/**
 * The bounds a page was read with, as the server resolved them.
 *
 * @since 0.1.0
 */
export const Bounds = Schema.Struct({
  start_serial: Schema.NullOr(Schema.Number),
  end_serial: Schema.NullOr(Schema.Number),
  start_time_ms: Schema.NullOr(Schema.Number),
  end_time_ms: Schema.NullOr(Schema.Number)
})

/**
 * What is still retained of a stream (null serials and times when it is empty).
 *
 * @since 0.1.0
 */
export const retainedFields = {
  stream_id: Schema.NullOr(Schema.String),
  oldest_available_serial: Schema.NullOr(Schema.Number),
  newest_available_serial: Schema.NullOr(Schema.Number),
  oldest_available_published_at_ms: Schema.NullOr(Schema.Number),
  newest_available_published_at_ms: Schema.NullOr(Schema.Number),
  retained_bytes: Schema.Number
}

/**
 * Whether the requested range is fully retained.
 *
 * @since 0.1.0
 */
export const Continuity = Schema.Struct({
  ...retainedFields,
  retained_messages: Schema.Number,
  complete: Schema.Boolean,
  truncated_by_retention: Schema.Boolean
})

/**
 * Health of a durable stream; `durable_state` other than `healthy` signals backend trouble.
 *
 * @since 0.1.0
 */
export const stateFields = {
  stream_id: Schema.NullOr(Schema.String),
  /** `healthy`, `degraded`, `reset_required`, or a state a newer server adds. */
  durable_state: open(["healthy", "degraded", "reset_required"]),
  reset_required: Schema.Boolean,
  reason: Schema.NullOr(Schema.String),
  node_id: Schema.NullOr(Schema.String),
  last_transition_at_ms: Schema.NullOr(Schema.Number),
  authoritative_source: Schema.String,
  observed_source: Schema.String
}

/**
 * @since 0.1.0
 */
export const StreamState = Schema.Struct({ ...stateFields, recovery_allowed: Schema.Boolean })

/**
 * One page of history.
 *
 * @since 0.1.0
 */
export const HistoryPage = Schema.Struct({
  items: Schema.Array(HistoryItem),
  direction: Schema.Literals(["newest_first", "oldest_first"]),
  limit: Schema.Number,
  has_more: Schema.Boolean,
  next_cursor: Schema.optionalKey(Schema.NullOr(Schema.String)),
  bounds: Bounds,
  continuity: Continuity,
  stream_state: StreamState
})

/**
 * @since 0.1.0
 */
export interface HistoryPage extends Schema.Schema.Type<typeof HistoryPage> {}

/**
 * A stream's identity, next serial, retention and health.
 *
 * @since 0.1.0
 */
export const StreamInspection = Schema.Struct({
  stream_id: Schema.NullOr(Schema.String),
  next_serial: Schema.NullOr(Schema.Number),
  retained: Schema.Struct({ ...retainedFields, retained_messages: Schema.Number }),
  state: StreamState
})

/**
 * `GET /channels/{channel}/history/state`.
 *
 * @since 0.1.0
 */
export const HistoryState = Schema.Struct({ channel: Schema.String, stream: StreamInspection })

/**
 * @since 0.1.0
 */
export interface HistoryState extends Schema.Schema.Type<typeof HistoryState> {}

/**
 * What a history and a presence history reset both answer: the old and new stream ids, who asked
 * and why, and the bytes purged.
 *
 * @since 0.1.0
 */
export const resetFields = {
  ok: Schema.Boolean,
  operation: Schema.Literal("reset"),
  channel: Schema.String,
  reason: Schema.String,
  requested_by: Schema.NullOr(Schema.String),
  previous_stream_id: Schema.NullOr(Schema.String),
  new_stream_id: Schema.String,
  purged_bytes: Schema.Number
}

/**
 * `history.reset`: the stream was rotated (new `stream_id`) and its rows deleted.
 *
 * @since 0.1.0
 */
export const ResetResult = Schema.Struct({
  ...resetFields,
  purged_messages: Schema.Number,
  stream: StreamInspection
})

/**
 * @since 0.1.0
 */
export interface ResetResult extends Schema.Schema.Type<typeof ResetResult> {}

/**
 * `history.purge`.
 *
 * @since 0.1.0
 */
export const PurgeResult = Schema.Struct({
  ok: Schema.Boolean,
  operation: Schema.Literal("purge"),
  channel: Schema.String,
  mode: Schema.Literals(["all", "before_serial", "before_time_ms"]),
  before_serial: Schema.NullOr(Schema.Number),
  before_time_ms: Schema.NullOr(Schema.Number),
  reason: Schema.String,
  requested_by: Schema.NullOr(Schema.String),
  purged_messages: Schema.Number,
  purged_bytes: Schema.Number,
  stream: StreamInspection
})

/**
 * @since 0.1.0
 */
export interface PurgeResult extends Schema.Schema.Type<typeof PurgeResult> {}

/**
 * The range and order of a history read (also used by presence history).
 *
 * @since 0.1.0
 */
export interface RangeOptions {
  /** Page size; the server's default and maximum is 100 (larger values are clamped). */
  readonly limit?: number | undefined
  /** Default `newest_first`. */
  readonly direction?: Pagination.Direction | undefined
  /** Inclusive serial bounds. */
  readonly startSerial?: number | undefined
  /** Inclusive upper serial bound. */
  readonly endSerial?: number | undefined
  /** Inclusive bounds on publish time, Unix milliseconds. */
  readonly startTimeMs?: number | undefined
  /** Inclusive upper bound on publish time, Unix milliseconds. */
  readonly endTimeMs?: number | undefined
}

/**
 * Options of `history.list` and `history.stream` (where `cursor` is the page to start from and
 * `limit` the page size).
 *
 * @since 0.1.0
 */
export interface ListOptions extends RangeOptions {
  /** A previous page's `next_cursor`, read with the same direction and bounds. */
  readonly cursor?: string | undefined
}

/**
 * The query of a history or presence history read, in the server's names, after validation.
 *
 * @since 0.1.0
 */
export const rangeQuery = (
  operation: string,
  options: ListOptions | undefined
): Result.Result<Array<QueryParam>, SockudoValidationError> => {
  const query: Array<QueryParam> = []
  if (options === undefined) return Result.succeed(query)
  const { invalid } = Pagination
  const optionsReason = Validation.optionsReason(options)
  if (optionsReason) return invalid(operation, "options", optionsReason)
  if (options.limit !== undefined) {
    const reason = Pagination.limitReason(options.limit)
    if (reason) return invalid(operation, "limit", reason)
    query.push(["limit", String(options.limit)])
  }
  if (options.direction !== undefined) {
    const reason = Pagination.directionReason(options.direction)
    if (reason) return invalid(operation, "direction", reason)
    query.push(["direction", options.direction])
  }
  if (options.cursor !== undefined) {
    const reason = Pagination.cursorReason(options.cursor)
    if (reason) return invalid(operation, "cursor", reason)
    query.push(["cursor", options.cursor])
  }
  const bounds = [
    ["startSerial", "start_serial", options.startSerial, Pagination.serialReason],
    ["endSerial", "end_serial", options.endSerial, Pagination.serialReason],
    ["startTimeMs", "start_time_ms", options.startTimeMs, Pagination.timeReason],
    ["endTimeMs", "end_time_ms", options.endTimeMs, Pagination.timeReason]
  ] as const
  for (const [field, wire, value, check] of bounds) {
    if (value === undefined) continue
    const reason = check(value)
    if (reason) return invalid(operation, field, reason)
    query.push([wire, String(value)])
  }
  if (options.startSerial !== undefined && options.endSerial !== undefined && options.startSerial > options.endSerial) {
    return invalid(operation, "startSerial", "must not be after endSerial")
  }
  if (options.startTimeMs !== undefined && options.endTimeMs !== undefined && options.startTimeMs > options.endTimeMs) {
    return invalid(operation, "startTimeMs", "must not be after endTimeMs")
  }
  return Result.succeed(query)
}

/**
 * The percent-encoded path of a channel, after validating its name.
 *
 * @since 0.1.0
 */
export const channelPath = (
  operation: string,
  channel: string,
  limits: Limits
): Result.Result<string, SockudoValidationError> => {
  const reason = Validation.channelName(channel, limits)
  return reason ? Pagination.invalid(operation, "channel", reason) : Result.succeed(`/channels/${encode(channel)}`)
}

/**
 * Options of `history.reset`. The SDK fills in the server's confirmation fields.
 *
 * @since 0.1.0
 */
export interface ResetOptions {
  /** Why, for the audit trail; must not be blank. */
  readonly reason: string
  /** Who asked, for the audit trail. */
  readonly requestedBy?: string | undefined
}

/**
 * The purge modes.
 *
 * @since 0.1.0
 */
export type PurgeMode = "all" | "before_serial" | "before_time_ms"

/**
 * What every purge takes: a mode, and the reason of a reset.
 *
 * @since 0.1.0
 */
export interface PurgeBase extends ResetOptions {
  /** Which rows go. */
  readonly mode: PurgeMode
}

/**
 * Options of `history.purge`: `beforeSerial` exactly with `before_serial`, `beforeTimeMs`
 * exactly with `before_time_ms`, neither with `all`. The stream id is kept.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 *
 * const purge = Effect.gen(function* () {
 *   const sockudo = yield* Sockudo.Sockudo
 *   return yield* sockudo.history.purge("orders", { mode: "before_serial", beforeSerial: 1200, reason: "GDPR request 42" })
 * })
 * ```
 *
 * @since 0.1.0
 */
export type PurgeOptions =
  | (PurgeBase & {
      /** Purge every row. */
      readonly mode: "all"
      /** Not with `all`. */
      readonly beforeSerial?: undefined
      /** Not with `all`. */
      readonly beforeTimeMs?: undefined
    })
  | (PurgeBase & {
      /** Purge the rows below a serial. */
      readonly mode: "before_serial"
      /** Purge rows with a serial below this one. */
      readonly beforeSerial: number
      /** Not with `before_serial`. */
      readonly beforeTimeMs?: undefined
    })
  | (PurgeBase & {
      /** Purge the rows published before a time. */
      readonly mode: "before_time_ms"
      /** Purge rows published before this Unix millisecond. */
      readonly beforeTimeMs: number
      /** Not with `before_time_ms`. */
      readonly beforeSerial?: undefined
    })

/**
 * The confirmed body of a reset or purge, in the server's names (`confirm_channel` is the
 * channel itself, `confirm_operation` the operation).
 *
 * @since 0.1.0
 */
export const confirmedBody = (
  operation: string,
  channel: string,
  confirm: "reset" | "purge",
  options: ResetOptions,
  extra: Record<string, unknown> = {}
): Result.Result<string, SockudoValidationError> => {
  if (typeof options !== "object" || options === null)
    return Pagination.invalid(operation, "options", "must be an object")
  if (typeof options.reason !== "string" || options.reason.trim().length === 0) {
    return Pagination.invalid(operation, "reason", "must be a non-blank string")
  }
  if (options.requestedBy !== undefined && typeof options.requestedBy !== "string") {
    return Pagination.invalid(operation, "requestedBy", "must be a string")
  }
  const body: Record<string, unknown> = { confirm_channel: channel, confirm_operation: confirm, ...extra }
  body.reason = options.reason
  if (options.requestedBy !== undefined) body.requested_by = options.requestedBy
  return Result.succeed(JSON.stringify(body))
}

const purgeFields = (
  operation: string,
  options: PurgeOptions
): Result.Result<Record<string, unknown>, SockudoValidationError> => {
  const { invalid } = Pagination
  const { mode, beforeSerial, beforeTimeMs } = options as {
    readonly mode: unknown
    readonly beforeSerial?: unknown
    readonly beforeTimeMs?: unknown
  }
  if (mode === "all") {
    if (beforeSerial !== undefined) return invalid(operation, "beforeSerial", "is not accepted with mode 'all'")
    if (beforeTimeMs !== undefined) return invalid(operation, "beforeTimeMs", "is not accepted with mode 'all'")
    return Result.succeed({ mode })
  }
  if (mode === "before_serial") {
    if (beforeTimeMs !== undefined)
      return invalid(operation, "beforeTimeMs", "is not accepted with mode 'before_serial'")
    const reason = Pagination.serialReason(beforeSerial)
    if (reason) return invalid(operation, "beforeSerial", `${reason} (required with mode 'before_serial')`)
    return Result.succeed({ mode, before_serial: beforeSerial })
  }
  if (mode === "before_time_ms") {
    if (beforeSerial !== undefined)
      return invalid(operation, "beforeSerial", "is not accepted with mode 'before_time_ms'")
    const reason = Pagination.timeReason(beforeTimeMs)
    if (reason) return invalid(operation, "beforeTimeMs", `${reason} (required with mode 'before_time_ms')`)
    return Result.succeed({ mode, before_time_ms: beforeTimeMs })
  }
  return invalid(operation, "mode", "must be 'all', 'before_serial' or 'before_time_ms'")
}

const decodePage = schemaDecoder(HistoryPage)
const decodeState = schemaDecoder(HistoryState)
const decodeReset = schemaDecoder(ResetResult)
const decodePurge = schemaDecoder(PurgeResult)

const paging = Pagination.cursorPaging<HistoryPage>()

/**
 * Builds the history operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const limits = config.limits

  const page = traced("Sockudo.history.list")(function* (
    channel: string,
    options: ListOptions | undefined,
    decode: Decoder<HistoryPage>
  ): Effect.fn.Return<HistoryPage, SockudoValidationError | SockudoRequestError> {
    const operation = "history.list"
    const path = channelPath(operation, channel, limits)
    if (Result.isFailure(path)) return yield* path.failure
    const query = rangeQuery(operation, options)
    if (Result.isFailure(query)) return yield* query.failure
    return yield* http.request({
      channels: channel,
      operation,
      method: "GET",
      path: `${path.success}/history`,
      query: query.success,
      decode
    })
  })

  /**
   * One page of a channel's history.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const firstTwoPages = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   const page = yield* sockudo.history.list("orders", { limit: 50, direction: "oldest_first" })
   *   if (!page.has_more || page.next_cursor === null) return [page]
   *   return [page, yield* sockudo.history.list("orders", { limit: 50, direction: "oldest_first", cursor: page.next_cursor })]
   * })
   * ```
   */
  const list = (
    channel: string,
    options?: ListOptions
  ): Effect.Effect<HistoryPage, SockudoValidationError | SockudoRequestError> => page(channel, options, decodePage)

  /**
   * Every item of a channel's history; the next page is requested only when the consumer needs
   * it, so `Stream.take(n)` reads no more pages than hold `n` items.
   *
   * ```ts
   * import { Effect, Stream } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const first20 = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   return yield* sockudo.history.stream("orders").pipe(Stream.take(20), Stream.runCollect)
   * })
   * ```
   */
  const stream = (
    channel: string,
    options?: ListOptions
  ): Stream.Stream<HistoryItem, SockudoValidationError | SockudoRequestError> =>
    Pagination.follow(paging, options?.cursor, (cursor) =>
      page(channel, Pagination.withCursor(options, "cursor", cursor), Pagination.advancing(paging, decodePage, cursor))
    )

  /** The channel's stream: id, next serial, retention and health. */
  const state = traced("Sockudo.history.state")(function* (
    channel: string
  ): Effect.fn.Return<HistoryState, SockudoValidationError | SockudoRequestError> {
    const path = channelPath("history.state", channel, limits)
    if (Result.isFailure(path)) return yield* path.failure
    return yield* http.request({
      channels: channel,
      operation: "history.state",
      method: "GET",
      path: `${path.success}/history/state`,
      decode: decodeState
    })
  })

  const post = <A>(
    operation: string,
    channel: string,
    path: string,
    body: string,
    decode: Decoder<A>,
    retry: RetryMode
  ): Effect.Effect<A, SockudoRequestError> =>
    http.request({ channels: channel, operation, method: "POST", path, body: prepareBody(body), decode, retry })

  /**
   * Rotates the channel's stream (a new `stream_id`) and deletes every retained row. Not
   * retried once the request may have reached the server: a second reset would rotate again.
   */
  const reset = traced("Sockudo.history.reset")(function* (
    channel: string,
    options: ResetOptions
  ): Effect.fn.Return<ResetResult, SockudoValidationError | SockudoRequestError> {
    const operation = "history.reset"
    const path = channelPath(operation, channel, limits)
    if (Result.isFailure(path)) return yield* path.failure
    const body = confirmedBody(operation, channel, "reset", options)
    if (Result.isFailure(body)) return yield* body.failure
    return yield* post(operation, channel, `${path.success}/history/reset`, body.success, decodeReset, "rejected-only")
  })

  /**
   * Deletes retained rows, keeping the stream id. A bounded purge is retried like a read (running
   * it twice deletes the same rows); `mode: "all"` is not retried once it may have reached the
   * server, since a second run would also delete rows published in between.
   */
  const purge = traced("Sockudo.history.purge")(function* (
    channel: string,
    options: PurgeOptions
  ): Effect.fn.Return<PurgeResult, SockudoValidationError | SockudoRequestError> {
    const operation = "history.purge"
    const path = channelPath(operation, channel, limits)
    if (Result.isFailure(path)) return yield* path.failure
    if (typeof options !== "object" || options === null) {
      return yield* Pagination.validationError(operation, "options", "must be an object")
    }
    const fields = purgeFields(operation, options)
    if (Result.isFailure(fields)) return yield* fields.failure
    const body = confirmedBody(operation, channel, "purge", options, fields.success)
    if (Result.isFailure(body)) return yield* body.failure
    const retry = options.mode === "all" ? "rejected-only" : "retryable"
    return yield* post(operation, channel, `${path.success}/history/purge`, body.success, decodePurge, retry)
  })

  return { list, stream, state, reset, purge } as const
})

/**
 * The history operations.
 *
 * @since 0.1.0
 */
export type History = Effect.Success<typeof make>
