/**
 * What the history operations answer: a page of history rows with its bounds, continuity and
 * stream state, a stream's inspection, and the outcomes of reset and purge. The retention and
 * state fields are shared with presence history. Responses keep the server's snake_case names.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { open } from "../Decode.ts"
import { StoredMessage, VersionedMessage } from "./Messages.ts"

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
