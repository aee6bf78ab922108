/**
 * Annotations on versioned messages (reactions, flags, votes): publish, list (a page or a
 * `Stream`) and delete.
 *
 * Unlike the rest of the core API, annotation bodies and responses are camelCase (`clientId`,
 * `annotationSerial`) while the list's query stays snake_case (`from_serial`, `socket_id`); the
 * SDK sends each in the server's own spelling. The server has no dedupe key for annotation
 * publishes, so a publish is only retried after a 429 (before the server handled it).
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
import { encode, type QueryParam } from "../Signer.ts"
import { SockudoConfig } from "../SockudoConfig.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"
import { messagePath, serialReason } from "./Messages.ts"
import * as Pagination from "./Pagination.ts"

/**
 * The summarizers an annotation type can name.
 *
 * @since 0.1.0
 */
export type Summarizer = "total" | "flag" | "distinct" | "unique" | "multiple"

/**
 * An annotation type: `<namespace>:<summarizer>.v1`, e.g. `"reactions:distinct.v1"`.
 *
 * @since 0.1.0
 */
export type AnnotationType = `${string}:${Summarizer}.v1`

/**
 * Options of `annotations.publish`. `name` is required by `distinct`, `unique` and `multiple`;
 * `clientId` by `flag`, `distinct` and `unique` (unless `socketId` names a signed-in connection,
 * whose user is taken instead).
 *
 * @since 0.1.0
 */
export interface PublishOptions {
  /** The annotation type, `<namespace>:<summarizer>.v1` (`reactions:distinct.v1`); it decides which fields are needed. */
  readonly type: AnnotationType
  /** The annotation's name (the reaction, the flag...); required by `distinct`, `unique` and `multiple`. */
  readonly name?: string | undefined
  /** Who annotates; required by `flag`, `distinct` and `unique` unless `socketId` gives a signed-in user. */
  readonly clientId?: string | undefined
  /** Publish as this Protocol V2 connection (it needs the annotation-publish capability). */
  readonly socketId?: string | undefined
  /** A positive count, for `multiple` (default 1). */
  readonly count?: number | undefined
  /**
   * Any JSON, sent as is. Sockudo 5.0.1 refuses every value with a 422 (its body decoder cannot
   * read one); leave it out against that server.
   */
  readonly data?: unknown
  /** The encoding of `data`, passed through to subscribers. */
  readonly encoding?: string | undefined
}

/**
 * Options of `annotations.list` and `annotations.stream`.
 *
 * @since 0.1.0
 */
export interface ListOptions {
  /** Only annotations of this type. */
  readonly type?: AnnotationType | undefined
  /** Page size (the server's default and maximum is 100). */
  readonly limit?: number | undefined
  /** Continue after this annotation serial (exclusive): a previous page's `nextCursor`. */
  readonly fromSerial?: string | undefined
  /** Read as this connection (it needs the annotation-subscribe capability). */
  readonly socketId?: string | undefined
}

/**
 * Options of `annotations.delete`.
 *
 * @since 0.1.0
 */
export interface DeleteOptions {
  /** Delete as this connection (annotation-delete-any, or annotation-delete-own for its own). */
  readonly socketId?: string | undefined
}

/**
 * `annotations.publish`.
 *
 * @since 0.1.0
 */
export const PublishResponse = Schema.Struct({ annotationSerial: Schema.String })

/**
 * @since 0.1.0
 */
export interface PublishResponse extends Schema.Schema.Type<typeof PublishResponse> {}

/**
 * `annotations.delete`: the serial of the delete event and of the annotation it deleted. Deleting
 * an annotation already deleted answers with both equal to the target.
 *
 * @since 0.1.0
 */
export const DeleteResponse = Schema.Struct({ annotationSerial: Schema.String, deletedAnnotationSerial: Schema.String })

/**
 * @since 0.1.0
 */
export interface DeleteResponse extends Schema.Schema.Type<typeof DeleteResponse> {}

/**
 * One annotation event, camelCase as the server sends it; `id` only on creates.
 *
 * @since 0.1.0
 */
export const Annotation = Schema.Struct({
  action: open(["annotation.create", "annotation.delete"]),
  id: Schema.optionalKey(Schema.String),
  serial: Schema.String,
  messageSerial: Schema.String,
  type: Schema.String,
  name: Schema.optionalKey(Schema.String),
  clientId: Schema.optionalKey(Schema.String),
  count: Schema.optionalKey(Schema.Number),
  data: Schema.optionalKey(Schema.Unknown),
  encoding: Schema.optionalKey(Schema.String),
  timestamp: Schema.Number
})

/**
 * @since 0.1.0
 */
export interface Annotation extends Schema.Schema.Type<typeof Annotation> {}

/**
 * One page of a message's annotations, ascending by serial; `nextCursor` goes into `fromSerial`.
 *
 * @since 0.1.0
 */
export const AnnotationPage = Schema.Struct({
  channel: Schema.String,
  messageSerial: Schema.String,
  limit: Schema.Number,
  hasMore: Schema.Boolean,
  nextCursor: Schema.optionalKey(Schema.NullOr(Schema.String)),
  items: Schema.Array(Annotation)
})

/**
 * @since 0.1.0
 */
export interface AnnotationPage extends Schema.Schema.Type<typeof AnnotationPage> {}

const SUMMARIZERS: ReadonlySet<string> = new Set(["total", "flag", "distinct", "unique", "multiple"])
const NEEDS_NAME: ReadonlySet<string> = new Set(["distinct", "unique", "multiple"])
const NEEDS_CLIENT: ReadonlySet<string> = new Set(["flag", "distinct", "unique"])
const TYPE_MAX_BYTES = 256

/**
 * The summarizer of a valid annotation type, or why the type is invalid: it must read
 * `<namespace>:<summarizer>.v1`, without whitespace, at most 256 bytes.
 *
 * @since 0.1.0
 */
export const parseType = (type: unknown): Result.Result<Summarizer, string> => {
  const form = "must look like '<namespace>:<summarizer>.v1', e.g. 'reactions:distinct.v1'"
  if (typeof type !== "string" || type.length === 0) return Result.fail(form)
  if (/\s/.test(type)) return Result.fail("must not contain whitespace")
  if (Validation.byteLength(type) > TYPE_MAX_BYTES) return Result.fail(`must be at most ${TYPE_MAX_BYTES} bytes`)
  const colon = type.indexOf(":")
  const dot = type.lastIndexOf(".v")
  if (colon <= 0 || dot < colon) return Result.fail(form)
  const summarizer = type.slice(colon + 1, dot)
  if (!SUMMARIZERS.has(summarizer)) {
    return Result.fail(`names an unknown summarizer '${summarizer}' (total, flag, distinct, unique, multiple)`)
  }
  if (type.slice(dot + 2) !== "1") return Result.fail("must use summarizer version 1 ('.v1')")
  return Result.succeed(summarizer as Summarizer)
}

const nonBlank = (s: unknown): s is string => typeof s === "string" && s.trim().length > 0

const decodePublish = schemaDecoder(PublishResponse)
const decodeDelete = schemaDecoder(DeleteResponse)
const decodePage = schemaDecoder(AnnotationPage)

const paging: Pagination.Paging<AnnotationPage, Annotation> = {
  items: (page) => page.items,
  hasMore: (page) => page.hasMore,
  next: (page) => page.nextCursor
}

/**
 * Builds the annotation operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const { validationError } = Pagination

  /**
   * Annotates a message. The type and the fields its summarizer needs are checked before
   * sending.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const like = (serial: string) =>
   *   Effect.gen(function* () {
   *     const sockudo = yield* Sockudo.Sockudo
   *     yield* sockudo.annotations.publish("chat", serial, { type: "reactions:distinct.v1", name: "👍", clientId: "u1" })
   *   })
   * ```
   */
  const publish = traced("Sockudo.annotations.publish")(function* (
    channel: string,
    serial: string,
    options: PublishOptions
  ): Effect.fn.Return<PublishResponse, SockudoValidationError | SockudoRequestError> {
    const operation = "annotations.publish"
    const path = messagePath(operation, channel, serial, config.limits)
    if (Result.isFailure(path)) return yield* path.failure
    if (typeof options !== "object" || options === null) {
      return yield* validationError(operation, "options", "must be an object")
    }
    const summarizer = parseType(options.type)
    if (Result.isFailure(summarizer)) return yield* validationError(operation, "type", summarizer.failure)
    const wire: Record<string, unknown> = { type: options.type }
    if (options.name !== undefined && typeof options.name !== "string") {
      return yield* validationError(operation, "name", "must be a string")
    }
    if (NEEDS_NAME.has(summarizer.success) && !nonBlank(options.name)) {
      return yield* validationError(operation, "name", `is required by '${summarizer.success}' annotations`)
    }
    if (options.name !== undefined) wire.name = options.name
    if (options.clientId !== undefined && typeof options.clientId !== "string") {
      return yield* validationError(operation, "clientId", "must be a string")
    }
    if (NEEDS_CLIENT.has(summarizer.success) && !nonBlank(options.clientId) && options.socketId === undefined) {
      return yield* validationError(
        operation,
        "clientId",
        `is required by '${summarizer.success}' annotations (or a socketId whose user is signed in)`
      )
    }
    if (options.clientId !== undefined) wire.clientId = options.clientId
    if (options.socketId !== undefined) {
      const reason = Validation.socketId(options.socketId)
      if (reason) return yield* validationError(operation, "socketId", reason)
      wire.socketId = options.socketId
    }
    if (options.count !== undefined) {
      const reason = Pagination.limitReason(options.count)
      if (reason) return yield* validationError(operation, "count", reason)
      wire.count = options.count
    }
    if (options.data !== undefined) wire.data = options.data
    if (options.encoding !== undefined) {
      if (typeof options.encoding !== "string") return yield* validationError(operation, "encoding", "must be a string")
      wire.encoding = options.encoding
    }
    const body = Validation.toJson(wire)
    if ("error" in body) return yield* validationError(operation, "data", body.error)
    return yield* http.request({
      channels: channel,
      operation,
      method: "POST",
      path: `${path.success}/annotations`,
      body: prepareBody(body.json),
      decode: decodePublish,
      retry: "rejected-only"
    })
  })

  const page = traced("Sockudo.annotations.list")(function* (
    channel: string,
    serial: string,
    options: ListOptions | undefined,
    decode: Decoder<AnnotationPage>
  ): Effect.fn.Return<AnnotationPage, SockudoValidationError | SockudoRequestError> {
    const operation = "annotations.list"
    const path = messagePath(operation, channel, serial, config.limits)
    if (Result.isFailure(path)) return yield* path.failure
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return yield* validationError(operation, "options", optionsReason)
    const query: Array<QueryParam> = []
    if (options?.type !== undefined) {
      const type = parseType(options.type)
      if (Result.isFailure(type)) return yield* validationError(operation, "type", type.failure)
      query.push(["type", options.type])
    }
    if (options?.limit !== undefined) {
      const reason = Pagination.limitReason(options.limit)
      if (reason) return yield* validationError(operation, "limit", reason)
      query.push(["limit", String(options.limit)])
    }
    if (options?.fromSerial !== undefined) {
      const reason = serialReason(options.fromSerial)
      if (reason) return yield* validationError(operation, "fromSerial", reason)
      query.push(["from_serial", options.fromSerial])
    }
    if (options?.socketId !== undefined) {
      const reason = Validation.socketId(options.socketId)
      if (reason) return yield* validationError(operation, "socketId", reason)
      query.push(["socket_id", options.socketId])
    }
    return yield* http.request({
      channels: channel,
      operation,
      method: "GET",
      path: `${path.success}/annotations`,
      query,
      decode
    })
  })

  /** One page of a message's annotation events, oldest first. */
  const list = (
    channel: string,
    serial: string,
    options?: ListOptions
  ): Effect.Effect<AnnotationPage, SockudoValidationError | SockudoRequestError> =>
    page(channel, serial, options, decodePage)

  /** Every annotation event of a message, one page requested at a time as the stream is consumed. */
  const stream = (
    channel: string,
    serial: string,
    options?: ListOptions
  ): Stream.Stream<Annotation, SockudoValidationError | SockudoRequestError> =>
    Pagination.follow(paging, options?.fromSerial, (fromSerial) =>
      page(
        channel,
        serial,
        Pagination.withCursor(options, "fromSerial", fromSerial),
        Pagination.advancing(paging, decodePage, fromSerial)
      )
    )

  const deleteAnnotation = traced("Sockudo.annotations.delete")(function* (
    channel: string,
    serial: string,
    annotationSerial: string,
    options?: DeleteOptions
  ): Effect.fn.Return<DeleteResponse, SockudoValidationError | SockudoRequestError> {
    const operation = "annotations.delete"
    const path = messagePath(operation, channel, serial, config.limits)
    if (Result.isFailure(path)) return yield* path.failure
    const reason = serialReason(annotationSerial)
    if (reason) return yield* validationError(operation, "annotationSerial", reason)
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return yield* validationError(operation, "options", optionsReason)
    const query: Array<QueryParam> = []
    if (options?.socketId !== undefined) {
      const socketReason = Validation.socketId(options.socketId)
      if (socketReason) return yield* validationError(operation, "socketId", socketReason)
      query.push(["socket_id", options.socketId])
    }
    return yield* http.request({
      channels: channel,
      operation,
      method: "DELETE",
      path: `${path.success}/annotations/${encode(annotationSerial)}`,
      query,
      decode: decodeDelete
    })
  })

  return {
    publish,
    list,
    stream,
    /**
     * Deletes an annotation (by the serial `publish` returned). Retried like a read: deleting an
     * annotation twice is answered with the same serials.
     */
    delete: deleteAnnotation
  } as const
})

/**
 * The annotation operations.
 *
 * @since 0.1.0
 */
export type Annotations = Effect.Success<typeof make>
