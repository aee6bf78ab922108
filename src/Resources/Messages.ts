/**
 * Versioned messages: read a message's latest version and its list of versions, and update,
 * (soft) delete or append to a message by its `message_serial`.
 *
 * A mutation carries an `op_id` when the caller gives one or when `autoIdempotency` is on. The
 * `op_id` is chosen the first time the returned Effect runs and kept for every re-run, so the
 * SDK's retries and a caller's `Effect.retry` replay the same operation, which the server answers
 * with `status: "duplicate"` and the original serials. Without an `op_id` a mutation is only
 * retried after a 429 (the server has not handled it): a retried append would append twice.
 *
 * Data follows the publish convention: a string is sent as is, anything else as its JSON text,
 * sealed for `private-encrypted-` channels. Responses keep the server's snake_case names.
 *
 * The module holds what the operations take (their options, and the message path, serial and
 * extras checks, which annotations share), what they answer (a message's versions, its latest
 * version, a page of versions and the outcome of a mutation), and the operations.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { Encryption } from "../Crypto.ts"
import { open } from "../Decode.ts"
import type { SockudoEncryptionError, SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { type Decoder, Http, prepareBody, type Request, schemaDecoder } from "../Http.ts"
import { newKey, scopedKey } from "../Idempotency.ts"
import { encode, type QueryParam } from "../Signer.ts"
import { type Limits, SockudoConfig } from "../SockudoConfig.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"
import type { MessageExtras } from "./Extras.ts"
import * as Extras from "./Extras.ts"
import * as Pagination from "./Pagination.ts"

/**
 * Options of `messages.versions` (one page) and `messages.versionsStream`.
 *
 * @since 0.1.0
 */
export interface VersionsOptions {
  /** Page size (the server's default and maximum is 100). */
  readonly limit?: number | undefined
  /** Default `newest_first`. */
  readonly direction?: Pagination.Direction | undefined
  /** A `version_serial` to continue after (exclusive): a previous page's `next_cursor`. */
  readonly cursor?: string | undefined
}

/**
 * A field a mutation can reset to null.
 *
 * @since 0.1.0
 */
export type ClearField = "name" | "data" | "extras"

/**
 * Options every mutation accepts.
 *
 * @since 0.1.0
 */
export interface MutationOptions {
  /** Attribution recorded on the version (`version.client_id`). */
  readonly clientId?: string | undefined
  /** Act as this connection, with its capabilities and signed-in identity, instead of as the app. */
  readonly socketId?: string | undefined
  /** A description recorded on the version (`version.description`). */
  readonly description?: string | undefined
  /**
   * Any JSON, recorded on the version. Sockudo 5.0.1 refuses every value with a 422 (its body
   * decoder cannot read one); leave it out against that server.
   */
  readonly metadata?: unknown
  /** Dedupe key of this mutation, 1 to 64 bytes (default: generated when `autoIdempotency` is on). */
  readonly opId?: string | undefined
}

/**
 * Options of `messages.update`: at least one of `name`, `data`, `extras`, `clearFields`,
 * `clientId`, `description` or `metadata`.
 *
 * @since 0.1.0
 */
export interface UpdateOptions extends MutationOptions {
  /** A new event name. */
  readonly name?: string | undefined
  /** New data: a string is stored as is, anything else as its JSON. */
  readonly data?: unknown
  /** New extras, replacing the message's. */
  readonly extras?: MessageExtras | undefined
  /** Fields to set to null; a field cannot be both replaced and cleared. */
  readonly clearFields?: ReadonlyArray<ClearField> | undefined
}

/**
 * Options of `messages.delete` (a soft delete: a new version with action `delete`).
 *
 * @since 0.1.0
 */
export interface DeleteOptions extends MutationOptions {
  /** Data of the delete version (a tombstone, a reason...). */
  readonly data?: unknown
  /** Extras of the delete version. */
  readonly extras?: MessageExtras | undefined
  /** Fields to set to null in the delete version. */
  readonly clearFields?: ReadonlyArray<ClearField> | undefined
}

/**
 * Options of `messages.append`.
 *
 * @since 0.1.0
 */
export interface AppendOptions extends MutationOptions {
  /** Replaces the message's extras. */
  readonly extras?: MessageExtras | undefined
}

const { invalid, validationError } = Pagination

const SERIAL_MAX_BYTES = 128

/**
 * Why a message or annotation serial would be rejected (blank, whitespace, over 128 bytes), or
 * `undefined`.
 *
 * @since 0.1.0
 */
export const serialReason = (serial: unknown): string | undefined => {
  if (typeof serial !== "string" || serial.length === 0) return "must be a non-empty string"
  if (/\s/.test(serial)) return "must not contain whitespace"
  if (Validation.byteLength(serial) > SERIAL_MAX_BYTES) return `must be at most ${SERIAL_MAX_BYTES} bytes`
  return Validation.pathSegment(serial)
}

/**
 * The percent-encoded path of a message, after validating the channel and serial.
 *
 * @since 0.1.0
 */
export const messagePath = (
  operation: string,
  channel: string,
  serial: string,
  limits: Limits
): Result.Result<string, SockudoValidationError> => {
  const channelReason = Validation.channelName(channel, limits)
  if (channelReason) return invalid(operation, "channel", channelReason)
  const reason = serialReason(serial)
  if (reason) return invalid(operation, "serial", reason)
  return Result.succeed(`/channels/${encode(channel)}/messages/${encode(serial)}`)
}

/**
 * Checks extras the way the server will read them (see `Extras`).
 *
 * @since 0.1.0
 */
export const checkExtras = (
  operation: string,
  extras: MessageExtras
): Result.Result<MessageExtras, SockudoValidationError> => Extras.checkExtras(operation, "extras", extras)

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
/**
 * Errors of mutations.
 *
 * @since 0.1.0
 */
export type MutationError = SockudoValidationError | SockudoEncryptionError | SockudoRequestError

const decodeMessage = schemaDecoder(MessageResponse)
const decodeVersions = schemaDecoder(VersionsPage)
const decodeMutation = schemaDecoder(MutationResponse)

const versionPaging = Pagination.cursorPaging<VersionsPage>()

const OP_ID_MAX_BYTES = 64

const CLEAR_FIELDS: ReadonlySet<string> = new Set(["name", "data", "extras"])

const checkClearFields = (
  operation: string,
  clearFields: ReadonlyArray<ClearField>,
  replaced: { readonly name: boolean; readonly data: boolean; readonly extras: boolean }
): Result.Result<ReadonlyArray<ClearField>, SockudoValidationError> => {
  if (!Array.isArray(clearFields as unknown)) return invalid(operation, "clearFields", "must be an array")
  const seen = new Set<string>()
  for (const field of clearFields) {
    if (!CLEAR_FIELDS.has(field)) return invalid(operation, "clearFields", "may contain only 'name', 'data', 'extras'")
    if (seen.has(field)) return invalid(operation, "clearFields", `lists '${field}' twice`)
    if (replaced[field]) return invalid(operation, "clearFields", `clears '${field}', which is also being replaced`)
    seen.add(field)
  }
  return Result.succeed(clearFields)
}

const finalStatuses: ReadonlySet<unknown> = new Set(["complete", "cancelled"])

/** An empty append is only allowed to close an AI stream. */
const closesAiStream = (extras: MessageExtras | undefined): boolean =>
  finalStatuses.has(extras?.ai?.transport?.status) || finalStatuses.has(extras?.ai?.codec?.status)

type Wire = Record<string, unknown>

type MutationPrepareError = SockudoValidationError | SockudoEncryptionError

/**
 * Builds the versioned message operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const encryption = yield* Encryption
  const limits = config.limits

  /** The latest version of a message. */
  const get = traced("Sockudo.messages.get")(function* (
    channel: string,
    serial: string
  ): Effect.fn.Return<MessageResponse, SockudoValidationError | SockudoRequestError> {
    const path = messagePath("messages.get", channel, serial, limits)
    if (Result.isFailure(path)) return yield* path.failure
    return yield* http.request({
      channels: channel,
      operation: "messages.get",
      method: "GET",
      path: path.success,
      decode: decodeMessage
    })
  })

  const versionsPage = traced("Sockudo.messages.versions")(function* (
    channel: string,
    serial: string,
    options: VersionsOptions | undefined,
    decode: Decoder<VersionsPage>
  ): Effect.fn.Return<VersionsPage, SockudoValidationError | SockudoRequestError> {
    const operation = "messages.versions"
    const path = messagePath(operation, channel, serial, limits)
    if (Result.isFailure(path)) return yield* path.failure
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return yield* validationError(operation, "options", optionsReason)
    const query: Array<QueryParam> = []
    if (options?.limit !== undefined) {
      const reason = Pagination.limitReason(options.limit)
      if (reason) return yield* validationError(operation, "limit", reason)
      query.push(["limit", String(options.limit)])
    }
    if (options?.direction !== undefined) {
      const reason = Pagination.directionReason(options.direction)
      if (reason) return yield* validationError(operation, "direction", reason)
      query.push(["direction", options.direction])
    }
    if (options?.cursor !== undefined) {
      const reason = serialReason(options.cursor)
      if (reason) return yield* validationError(operation, "cursor", reason)
      query.push(["cursor", options.cursor])
    }
    return yield* http.request({
      channels: channel,
      operation,
      method: "GET",
      path: `${path.success}/versions`,
      query,
      decode
    })
  })

  /**
   * One page of a message's versions, newest first unless asked otherwise.
   */
  const versions = (
    channel: string,
    serial: string,
    options?: VersionsOptions
  ): Effect.Effect<VersionsPage, SockudoValidationError | SockudoRequestError> =>
    versionsPage(channel, serial, options, decodeVersions)

  /**
   * Every version of a message, page by page as the stream is consumed; `limit` is the page size
   * and `cursor` where to start.
   */
  const versionsStream = (
    channel: string,
    serial: string,
    options?: VersionsOptions
  ): Stream.Stream<VersionedMessage, SockudoValidationError | SockudoRequestError> =>
    Pagination.follow(versionPaging, options?.cursor, (cursor) =>
      versionsPage(
        channel,
        serial,
        Pagination.withCursor(options, "cursor", cursor),
        Pagination.advancing(versionPaging, decodeVersions, cursor)
      )
    )

  /** The `data` field as sent: a string as is, anything else as JSON; sealed on encrypted channels. */
  const wireData = (
    operation: string,
    channel: string,
    data: unknown
  ): Result.Result<string, SockudoValidationError | SockudoEncryptionError> => {
    if (!Validation.isEncryptedChannel(channel)) {
      const serialized = Validation.serializeData(data)
      return "error" in serialized ? invalid(operation, "data", serialized.error) : Result.succeed(serialized.json)
    }
    const serialized = Validation.toJson(data)
    if ("error" in serialized) return invalid(operation, "data", serialized.error)
    return encryption.seal(channel, serialized.json)
  }

  const prepareMutation = (
    action: "update" | "delete" | "append",
    channel: string,
    serial: string,
    patch: Wire,
    options: MutationOptions | undefined
  ): Result.Result<Request<MutationResult>, SockudoValidationError> => {
    const operation = `messages.${action}`
    const path = messagePath(operation, channel, serial, limits)
    if (Result.isFailure(path)) return Result.fail(path.failure)
    const wire: Wire = { ...patch }
    if (options?.clientId !== undefined) {
      if (typeof options.clientId !== "string" || options.clientId.length === 0) {
        return invalid(operation, "clientId", "must be a non-empty string")
      }
      wire.client_id = options.clientId
    }
    if (options?.socketId !== undefined) {
      const reason = Validation.socketId(options.socketId)
      if (reason) return invalid(operation, "socketId", reason)
      wire.socket_id = options.socketId
    }
    if (options?.description !== undefined) {
      if (typeof options.description !== "string") return invalid(operation, "description", "must be a string")
      wire.description = options.description
    }
    if (options?.metadata !== undefined) {
      const json = Validation.toJson(options.metadata)
      if ("error" in json) return invalid(operation, "metadata", json.error)
      wire.metadata = options.metadata
    }
    const given = options?.opId
    if (given !== undefined) {
      const bytes = typeof given === "string" ? Validation.byteLength(given) : 0
      if (bytes === 0 || bytes > OP_ID_MAX_BYTES) return invalid(operation, "opId", "must be 1 to 64 bytes")
    }
    const opId = given ?? scopedKey() ?? (config.autoIdempotency ? newKey() : undefined)
    if (opId !== undefined) wire.op_id = opId
    const body = Validation.toJson(wire)
    if ("error" in body) return invalid(operation, "extras", body.error)
    return Result.succeed({
      operation,
      channels: channel,
      method: "POST",
      path: `${path.success}/${action}`,
      body: prepareBody(body.json),
      decode: (json) => Result.map(decodeMutation(json), (response) => ({ ...response, opId })),
      // A replayed op_id is answered as a duplicate; without one, only retry what the server never handled.
      retry: opId === undefined ? "rejected-only" : "retryable"
    })
  }

  /** Validates data, extras and clearFields of update and delete, in the server's field order. */
  const patchFields = (
    operation: string,
    channel: string,
    options: UpdateOptions | DeleteOptions,
    name: string | undefined
  ): Result.Result<Wire, SockudoValidationError | SockudoEncryptionError> => {
    const wire: Wire = {}
    if (name !== undefined) {
      const reason = Validation.eventName(name, limits)
      if (reason) return invalid(operation, "name", reason)
      wire.name = name
    }
    if (options.data !== undefined) {
      const data = wireData(operation, channel, options.data)
      if (Result.isFailure(data)) return Result.fail(data.failure)
      wire.data = data.success
    }
    if (options.extras !== undefined) {
      const extras = checkExtras(operation, options.extras)
      if (Result.isFailure(extras)) return Result.fail(extras.failure)
      wire.extras = extras.success
    }
    if (
      options.clearFields !== undefined &&
      !(Array.isArray(options.clearFields) && options.clearFields.length === 0)
    ) {
      const clear = checkClearFields(operation, options.clearFields, {
        name: name !== undefined,
        data: options.data !== undefined,
        extras: options.extras !== undefined
      })
      if (Result.isFailure(clear)) return Result.fail(clear.failure)
      wire.clear_fields = clear.success
    }
    return Result.succeed(wire)
  }

  /**
   * Replaces fields of a message (a shallow mix-in: omitted fields are kept).
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const edit = (serial: string) =>
   *   Effect.gen(function* () {
   *     const sockudo = yield* Sockudo.Sockudo
   *     const r = yield* sockudo.messages.update("chat", serial, { data: { text: "edited" }, opId: "edit-1" })
   *     return r.status // "applied", or "duplicate" when edit-1 was already applied
   *   })
   * ```
   */
  const update = (
    channel: string,
    serial: string,
    options: UpdateOptions
  ): Effect.Effect<MutationResult, MutationError> =>
    http.prepareOnce("Sockudo.messages.update", (): Result.Result<Request<MutationResult>, MutationPrepareError> => {
      const operation = "messages.update"
      if (typeof options !== "object" || options === null) return invalid(operation, "options", "must be an object")
      const changes =
        options.name !== undefined ||
        options.data !== undefined ||
        options.extras !== undefined ||
        (options.clearFields !== undefined &&
          !(Array.isArray(options.clearFields) && options.clearFields.length === 0)) ||
        options.clientId !== undefined ||
        options.description !== undefined ||
        options.metadata !== undefined
      if (!changes) {
        return invalid(
          operation,
          "options",
          "must change something: name, data, extras, clearFields, clientId, description or metadata"
        )
      }
      const patch = patchFields(operation, channel, options, options.name)
      return Result.isFailure(patch)
        ? Result.fail(patch.failure)
        : prepareMutation("update", channel, serial, patch.success, options)
    })

  const deleteMessage = (
    channel: string,
    serial: string,
    options?: DeleteOptions
  ): Effect.Effect<MutationResult, MutationError> =>
    http.prepareOnce("Sockudo.messages.delete", (): Result.Result<Request<MutationResult>, MutationPrepareError> => {
      const optionsReason = Validation.optionsReason(options)
      if (optionsReason) return invalid("messages.delete", "options", optionsReason)
      const patch = patchFields("messages.delete", channel, options ?? {}, undefined)
      return Result.isFailure(patch)
        ? Result.fail(patch.failure)
        : prepareMutation("delete", channel, serial, patch.success, options)
    })

  /**
   * Appends a string to the message's string data (an AI token stream, say). An empty string
   * is accepted only with `extras.ai.transport.status` or `extras.ai.codec.status` set to
   * `complete` or `cancelled`.
   */
  const append = (
    channel: string,
    serial: string,
    data: string,
    options?: AppendOptions
  ): Effect.Effect<MutationResult, MutationError> =>
    http.prepareOnce("Sockudo.messages.append", (): Result.Result<Request<MutationResult>, MutationPrepareError> => {
      const operation = "messages.append"
      if (typeof data !== "string") return invalid(operation, "data", "must be a string")
      const optionsReason = Validation.optionsReason(options)
      if (optionsReason) return invalid(operation, "options", optionsReason)
      if (data.length === 0 && !closesAiStream(options?.extras)) {
        return invalid(operation, "data", "must not be empty unless extras.ai closes the stream")
      }
      if (Validation.isEncryptedChannel(channel)) {
        return invalid(
          operation,
          "channel",
          "cannot be a private-encrypted- channel: appended text would not be sealed"
        )
      }
      const wire: Wire = { data }
      if (options?.extras !== undefined) {
        const extras = checkExtras(operation, options.extras)
        if (Result.isFailure(extras)) return Result.fail(extras.failure)
        wire.extras = extras.success
      }
      return prepareMutation("append", channel, serial, wire, options)
    })

  return {
    get,
    versions,
    versionsStream,
    update,
    /**
     * Marks a message deleted (a new version with action `delete`); data and extras are kept
     * unless replaced or cleared.
     */
    delete: deleteMessage,
    append
  } as const
})

/**
 * The versioned message operations.
 *
 * @since 0.1.0
 */
export type Messages = Effect.Success<typeof make>
