/**
 * What the versioned message operations answer: a message's versions, its latest version, a
 * page of versions and the outcome of a mutation. Responses keep the server's snake_case names.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { open } from "../Decode.ts"

/**
 * The action of a message version (`event` is `sockudo:message.<action>`); open, as a newer
 * server may add actions.
 *
 * @since 0.1.0
 */
export const MessageAction = open(["create", "update", "delete", "append", "summary"])

/**
 * @since 0.1.0
 */
export type MessageAction = typeof MessageAction.Type

/**
 * Who made a version, and when.
 *
 * @since 0.1.0
 */
export const VersionInfo = Schema.Struct({
  serial: Schema.String,
  client_id: Schema.optionalKey(Schema.String),
  timestamp_ms: Schema.Number,
  description: Schema.optionalKey(Schema.String),
  metadata: Schema.optionalKey(Schema.Unknown)
})

/**
 * @since 0.1.0
 */
export interface VersionInfo extends Schema.Schema.Type<typeof VersionInfo> {}

const messageFields = {
  event: Schema.optionalKey(Schema.String),
  channel: Schema.optionalKey(Schema.String),
  /** A string for HTTP publishes; any JSON otherwise. */
  data: Schema.optionalKey(Schema.Unknown),
  name: Schema.optionalKey(Schema.String),
  user_id: Schema.optionalKey(Schema.String),
  tags: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  message_id: Schema.optionalKey(Schema.String),
  stream_id: Schema.optionalKey(Schema.String),
  serial: Schema.optionalKey(Schema.Number),
  /** camelCase, as published (`headers`, `ephemeral`, `idempotencyKey`, `ai`...). */
  extras: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
}

/**
 * A message as stored in history (its Protocol V2 form); every field is optional on the wire.
 *
 * @since 0.1.0
 */
export const StoredMessage = Schema.Struct(messageFields)

/**
 * @since 0.1.0
 */
export interface StoredMessage extends Schema.Schema.Type<typeof StoredMessage> {}

/**
 * One version of a versioned message (`VersionedRealtimeMessage`): `name` is the original event
 * name, `serial` equals `delivery_serial`. In a versions list an append carries only its fragment
 * in `data`; the latest view carries the accumulated string.
 *
 * @since 0.1.0
 */
export const VersionedMessage = Schema.Struct({
  ...messageFields,
  event: Schema.String,
  channel: Schema.String,
  action: MessageAction,
  message_serial: Schema.String,
  history_serial: Schema.optionalKey(Schema.Number),
  delivery_serial: Schema.optionalKey(Schema.Number),
  version: Schema.optionalKey(VersionInfo)
})

/**
 * @since 0.1.0
 */
export interface VersionedMessage extends Schema.Schema.Type<typeof VersionedMessage> {}

/**
 * True for the versioned form of a message (as history returns for versioned channels).
 *
 * @since 0.1.0
 */
export const isVersioned = (message: StoredMessage | VersionedMessage): message is VersionedMessage =>
  "message_serial" in message && "action" in message

/**
 * `GET /channels/{channel}/messages/{serial}`: the latest version.
 *
 * @since 0.1.0
 */
export const MessageResponse = Schema.Struct({ channel: Schema.String, item: VersionedMessage })

/**
 * @since 0.1.0
 */
export interface MessageResponse extends Schema.Schema.Type<typeof MessageResponse> {}

/**
 * One page of a message's versions.
 *
 * @since 0.1.0
 */
export const VersionsPage = Schema.Struct({
  channel: Schema.String,
  direction: Schema.Literals(["newest_first", "oldest_first"]),
  limit: Schema.Number,
  has_more: Schema.Boolean,
  /** A raw `version_serial`, exclusive; absent on the last page. */
  next_cursor: Schema.optionalKey(Schema.NullOr(Schema.String)),
  items: Schema.Array(VersionedMessage)
})

/**
 * @since 0.1.0
 */
export interface VersionsPage extends Schema.Schema.Type<typeof VersionsPage> {}

/**
 * What the server answers to update, delete and append. `status` is `"duplicate"` when the
 * `op_id` was already applied (the serials are then the original ones).
 *
 * @since 0.1.0
 */
export const MutationResponse = Schema.Struct({
  channel: Schema.String,
  message_serial: Schema.String,
  action: open(["update", "delete", "append"]),
  accepted: Schema.Boolean,
  version_serial: Schema.optionalKey(Schema.String),
  history_serial: Schema.optionalKey(Schema.Number),
  delivery_serial: Schema.optionalKey(Schema.Number),
  status: open(["applied", "duplicate"])
})

/**
 * @since 0.1.0
 */
export interface MutationResponse extends Schema.Schema.Type<typeof MutationResponse> {}

/**
 * The result of a mutation: the server's response plus the `op_id` that was sent (the same on
 * every retry), if any.
 *
 * @since 0.1.0
 */
export interface MutationResult extends MutationResponse {
  /** The `op_id` that was sent, if any: the same on every retry. */
  readonly opId: string | undefined
}
