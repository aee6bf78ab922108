/**
 * Webhooks from the server: verify `X-Pusher-Key` and `X-Pusher-Signature` over the raw body
 * (timing-safe, with the current secret or a previous one of the same key while it is being
 * rotated), parse `{ time_ms, events }` into typed events, optionally refuse webhooks older than
 * a maximum age, and decrypt the `data` of `client_event`s on `private-encrypted-` channels.
 *
 * Every event gets a `_tag` naming its kind (`"MemberAdded"`, ...) for narrowing; the server's
 * fields are kept as sent, unknown fields included, and events this SDK does not know yet come
 * through as `_tag: "UnknownEvent"` with all their fields. A client event that cannot be
 * decrypted comes through as `_tag: "UndecryptableEvent"` with its error, beside the others: the
 * server batches up to 100 events per webhook, and failing them all would only make it retry.
 *
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Sockudo, Webhook } from "effect-sockudo"
 *
 * // `request`: the headers and the raw body (string or bytes) exactly as received
 * const receive = (request: Webhook.WebhookRequest) =>
 *   Effect.gen(function* () {
 *     // inside the service: keys and master key come from SockudoConfig
 *     const sockudo = yield* Sockudo.Sockudo
 *     const webhook = yield* sockudo.webhooks.verify(request)
 *     for (const event of webhook.events) if (event._tag === "MemberAdded") console.log(event.user_id)
 *   })
 *
 * // without it
 * const verifyAlone = (request: Webhook.WebhookRequest) => Webhook.verify(request, { key: "app-key", secret: Redacted.make("app-secret") })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Base64 from "effect/encoding/Base64"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as Crypto from "./Crypto.ts"
import {
  SockudoEncryptionError,
  SockudoWebhookBodyError,
  type SockudoWebhookError,
  SockudoWebhookExpiredError,
  SockudoWebhookKeyError,
  SockudoWebhookSignatureError
} from "./Errors.ts"
import { utf8Bytes } from "./internal/Bytes.ts"
import { digest, equalHexConstantTime } from "./internal/Digest.ts"
import { hmacHex } from "./Signer.ts"
import { isEncryptedChannel, isRecord } from "./Validation.ts"

const Str = Schema.String
const NullableStr = Schema.NullOr(Schema.String)

/**
 * The schemas of the events the server sends (server reference §9.3), by event name.
 *
 * @since 0.1.0
 */
export const eventSchemas = {
  channel_occupied: { tag: "ChannelOccupied", schema: Schema.Struct({ channel: Str }) },
  channel_vacated: { tag: "ChannelVacated", schema: Schema.Struct({ channel: Str }) },
  subscription_count: {
    tag: "SubscriptionCount",
    schema: Schema.Struct({ channel: Str, subscription_count: Schema.Number })
  },
  member_added: { tag: "MemberAdded", schema: Schema.Struct({ channel: Str, user_id: Str }) },
  member_removed: { tag: "MemberRemoved", schema: Schema.Struct({ channel: Str, user_id: Str }) },
  member_updated: {
    tag: "MemberUpdated",
    schema: Schema.Struct({ channel: Str, user_id: Str, user_info: Schema.optionalKey(Schema.Unknown) })
  },
  client_event: {
    tag: "ClientEvent",
    schema: Schema.Struct({
      channel: Str,
      event: Str,
      data: Schema.Unknown,
      socket_id: Str,
      user_id: Schema.optionalKey(Str)
    })
  },
  cache_miss: { tag: "CacheMiss", schema: Schema.Struct({ channel: Str, data: Schema.optionalKey(Str) }) },
  message_version_created: {
    tag: "MessageVersionCreated",
    schema: Schema.Struct({ channel: Str, message_serial: Str, version_serial: Str, action: Str })
  },
  annotation_created: {
    tag: "AnnotationCreated",
    schema: Schema.Struct({ channel: Str, message_serial: Str, annotation_serial: Str, annotation_type: Str })
  },
  annotation_deleted: {
    tag: "AnnotationDeleted",
    schema: Schema.Struct({
      channel: Str,
      message_serial: Str,
      annotation_serial: Str,
      deleted_annotation_serial: Str,
      annotation_type: Str
    })
  },
  ai_run_started: {
    tag: "AiRunStarted",
    schema: Schema.Struct({ channel: Str, run_id: Str, client_id: Schema.optionalKey(NullableStr) })
  },
  ai_run_ended: {
    tag: "AiRunEnded",
    schema: Schema.Struct({ channel: Str, run_id: Str, reason: Str, error_code: Schema.optionalKey(NullableStr) })
  },
  ai_turn_started: {
    tag: "AiTurnStarted",
    schema: Schema.Struct({ channel: Str, turn_id: Str, client_id: Schema.optionalKey(NullableStr) })
  },
  ai_turn_ended: {
    tag: "AiTurnEnded",
    schema: Schema.Struct({ channel: Str, turn_id: Str, reason: Str, error_code: Schema.optionalKey(NullableStr) })
  },
  ai_cancel_requested: {
    tag: "AiCancelRequested",
    schema: Schema.Struct({ channel: Str, run_id: Str, turn_id: Str, client_id: Schema.optionalKey(NullableStr) })
  },
  ai_stream_cancelled: {
    tag: "AiStreamCancelled",
    schema: Schema.Struct({ channel: Str, message_serial: Str, reason: Str })
  },
  ai_stream_orphaned: {
    tag: "AiStreamOrphaned",
    schema: Schema.Struct({ channel: Str, message_serial: Str, reason: Str })
  }
} as const

/**
 * The `_tag` and schema of every webhook event this SDK knows, by event name.
 *
 * @since 0.1.0
 */
export type Schemas = typeof eventSchemas

/**
 * A known webhook event: the server's fields, its `name`, a `_tag`, and any fields the server
 * added that this SDK does not model.
 *
 * @since 0.1.0
 */
export type KnownEvent = {
  readonly [N in keyof Schemas]: {
    /** The event's kind, for narrowing (`"MemberAdded"`). */
    readonly _tag: Schemas[N]["tag"]
    /** The server's event name (`"member_added"`). */
    readonly name: N
    readonly [extra: string]: unknown
  } & Schemas[N]["schema"]["Type"]
}[keyof Schemas]

/**
 * An event whose name this SDK does not know, kept whole.
 *
 * @since 0.1.0
 */
export interface UnknownEvent {
  /** Marks an event this SDK does not model. */
  readonly _tag: "UnknownEvent"
  /** The server's event name. */
  readonly name: string
  readonly [field: string]: unknown
}

/**
 * A `client_event` on a `private-encrypted-` channel whose data could not be opened: no master
 * key, another key, or tampered or malformed ciphertext. Its fields are kept as sent (`data`
 * still sealed); `error` says why.
 *
 * @since 0.1.0
 */
export interface UndecryptableEvent {
  /** Tells it from the events that were opened. */
  readonly _tag: "UndecryptableEvent"
  /** Always a client event. */
  readonly name: "client_event"
  /** The `private-encrypted-` channel. */
  readonly channel: string
  /** The client event's name (`client-...`). */
  readonly event: string
  /** The data as sent, still sealed. */
  readonly data: string
  /** The sending connection. */
  readonly socket_id: string
  /** The sender's user, when the server names one. */
  readonly user_id?: string
  /** Why it could not be opened. */
  readonly error: SockudoEncryptionError
  readonly [field: string]: unknown
}

/**
 * @since 0.1.0
 */
export type WebhookEvent = KnownEvent | UnknownEvent | UndecryptableEvent

/**
 * A verified webhook.
 *
 * @since 0.1.0
 */
export interface Webhook {
  /** When the (first) event happened, in Unix milliseconds. */
  readonly time_ms: number
  /** The events, in the order the server sent them. */
  readonly events: ReadonlyArray<WebhookEvent>
}

/**
 * The incoming request. Headers as a Fetch `Headers`, Node's `IncomingHttpHeaders` or any record
 * (names in any letter case); the body exactly as received.
 *
 * @since 0.1.0
 */
export interface WebhookRequest {
  /** The request headers; `X-Pusher-Key` and `X-Pusher-Signature` are read. */
  readonly headers: Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The raw body as received, before any parsing: the signature covers these bytes. */
  readonly body: string | Uint8Array | ArrayBuffer
}

/**
 * The secrets of one app key: the current one, and while it is being rotated, the previous ones,
 * whose signatures are accepted too.
 *
 * @since 0.1.0
 */
export interface KeyCredentials {
  /** The app key webhooks must carry in `X-Pusher-Key`. */
  readonly key: string
  /** The app secret the signature is checked with. */
  readonly secret: Redacted.Redacted<string>
  /** Secrets this key had before a rotation, still accepted. */
  readonly previousSecrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/**
 * An app's credentials for verification. Give `previousSecrets` while rotating the app's secret,
 * and `additional` credentials to accept webhooks signed by more than one app: the secrets are
 * chosen by `X-Pusher-Key`.
 *
 * @since 0.1.0
 */
export interface Credentials extends KeyCredentials {
  /** Base64 of the 32-byte master key, to decrypt client events on `private-encrypted-` channels. */
  readonly encryptionMasterKeyBase64?: Redacted.Redacted<string> | undefined
  /** More apps' credentials, chosen by `X-Pusher-Key`. */
  readonly additional?: ReadonlyArray<KeyCredentials> | undefined
}

/**
 * Options of verification.
 *
 * @since 0.1.0
 */
export interface VerifyOptions {
  /**
   * Refuse a webhook whose `time_ms` is older than this (a replay window); off when absent.
   * Leave room for the server's retries: a retried delivery keeps its first `time_ms`.
   */
  readonly maxAge?: Duration.Input | undefined
}

/** A header's first value; `name` is lower case. */
const header = (headers: WebhookRequest["headers"], name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  // Node's IncomingHttpHeaders (and most records) already have lower-case names.
  const direct: unknown = Object.hasOwn(headers, name) ? headers[name] : undefined
  if (typeof direct === "string") return direct
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value: unknown = headers[key]
      const first = Array.isArray(value) ? value[0] : value
      return typeof first === "string" ? first : undefined
    }
  }
  return undefined
}

/** Hex characters in an HMAC-SHA256 signature. */
const SIGNATURE_LENGTH = 64

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** What a field of a flat schema accepts, or `undefined` when the field needs the full decoder. */
const accepts = (ast: SchemaAST.AST): ((value: unknown) => boolean) | undefined => {
  if (ast.checks !== undefined || ast.encoding !== undefined) return undefined
  switch (ast._tag) {
    case "String":
      return (value) => typeof value === "string"
    case "Number":
      return (value) => typeof value === "number" && !Number.isNaN(value)
    case "Null":
      return (value) => value === null
    case "Unknown":
      return () => true
    case "Union": {
      const members = ast.types.map(accepts)
      if (members.some((member) => member === undefined)) return undefined
      return (value) => members.some((member) => member!(value))
    }
    default:
      return undefined
  }
}

/**
 * A check that a struct's fields are what its schema accepts, for a struct of strings, numbers,
 * `null`s and unknowns with no refinements or transformations (every webhook event's schema):
 * decoding such a schema only checks types and returns the same values, and the check is many
 * times cheaper. `undefined` for any other schema.
 */
const flatCheck = (ast: SchemaAST.AST): ((fields: Record<string, unknown>) => boolean) | undefined => {
  if (ast._tag !== "Objects" || ast.indexSignatures.length > 0 || ast.checks !== undefined) return undefined
  if (ast.encoding !== undefined) return undefined
  const names: Array<string> = []
  const accepted: Array<(value: unknown) => boolean> = []
  const optional: Array<boolean> = []
  for (const property of ast.propertySignatures) {
    const accept = accepts(property.type)
    if (accept === undefined || typeof property.name !== "string") return undefined
    names.push(property.name)
    accepted.push(accept)
    optional.push(property.type.context?.isOptional === true)
  }
  return (fields) => {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      if (!Object.hasOwn(fields, name)) {
        if (optional[i]) continue
        return false
      }
      if (!accepted[i]!(fields[name])) return false
    }
    return true
  }
}

interface EventDecoder {
  /** The event's `_tag`. */
  readonly tag: string
  /** Whether the fields decode, when that can be told without decoding. */
  readonly check: ((fields: Record<string, unknown>) => boolean) | undefined
  readonly decode: (input: unknown) => Result.Result<unknown, Schema.SchemaError>
}

/** Each known event's decoder, built on first use. */
const decoders = new Map<string, EventDecoder>()

/** The decoder of a known event's name, `undefined` for any other name. */
const decoderOf = (name: string): EventDecoder | undefined => {
  let decoder = decoders.get(name)
  if (decoder === undefined) {
    if (!Object.hasOwn(eventSchemas, name)) return undefined
    const known = eventSchemas[name as keyof Schemas]
    const schema = known.schema as Schema.Decoder<unknown>
    decoder = { tag: known.tag, check: flatCheck(schema.ast), decode: Schema.decodeUnknownResult(schema) }
    decoders.set(name, decoder)
  }
  return decoder
}

/**
 * Parses one event object into a typed event, or explains why it does not match its schema.
 *
 * @since 0.1.0
 */
export const parseEvent = (raw: unknown): Result.Result<WebhookEvent, string> => {
  const event = parseEventOf(raw, false)
  return typeof event === "string" ? Result.fail(event) : Result.succeed(event)
}

/**
 * {@link parseEvent}, answering the event or why it is not one; with `owned` (an object just parsed
 * from JSON, nobody else's) the `_tag` is added to it in place instead of to a copy, which ends up
 * the same: the fields, then `_tag`.
 */
const parseEventOf = (raw: unknown, owned: boolean): WebhookEvent | string => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "an event is not an object"
  const fields = raw as Record<string, unknown>
  const name = fields.name
  if (typeof name !== "string") return "an event has no string 'name'"
  const decoder = decoderOf(name)
  if (decoder === undefined) {
    if (!owned) return { ...fields, _tag: "UnknownEvent", name } as UnknownEvent
    fields._tag = "UnknownEvent"
    return fields as unknown as WebhookEvent
  }
  if (decoder.check?.(fields) === true) {
    if (!owned) return { ...fields, _tag: decoder.tag } as WebhookEvent
    fields._tag = decoder.tag
    return fields as unknown as WebhookEvent
  }
  const decoded = decoder.decode(fields)
  if (Result.isFailure(decoded)) return `event '${name}': ${String(decoded.failure)}`
  return { ...fields, ...(decoded.success as object), _tag: decoder.tag } as WebhookEvent
}

const badBody = (message: string) => Result.fail(new SockudoWebhookBodyError({ message }))

/**
 * Parses a verified body. Exported for tests and for bodies verified elsewhere.
 *
 * @since 0.1.0
 */
export const parseBody = (text: string): Result.Result<Webhook, SockudoWebhookBodyError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return badBody("the webhook body is not JSON")
  }
  if (typeof json !== "object" || json === null) return badBody("the webhook body is not a JSON object")
  const { time_ms, events } = json as Record<string, unknown>
  if (typeof time_ms !== "number" || !Number.isFinite(time_ms)) {
    return badBody("the webhook body has no numeric 'time_ms'")
  }
  if (!Array.isArray(events)) return badBody("the webhook body has no 'events' array")
  // The array was just parsed from JSON: each event takes its place.
  for (let i = 0; i < events.length; i++) {
    const event = parseEventOf(events[i], true)
    if (typeof event === "string") return badBody(event)
    events[i] = event
  }
  return Result.succeed({ time_ms, events: events as Array<WebhookEvent> })
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The 32-byte master key, `"invalid"` when the configured one is not base64 of 32 bytes. */
const decodeMasterKey = (encoded: Redacted.Redacted<string> | undefined): Uint8Array | "invalid" | undefined => {
  if (encoded === undefined) return undefined
  const text = Redacted.value(encoded)
  if (!BASE64.test(text)) return "invalid"
  const bytes = Base64.decode(text)
  return Result.isSuccess(bytes) && bytes.success.length === 32 ? bytes.success : "invalid"
}

/**
 * Opens the `data` of `client_event`s on `private-encrypted-` channels: the only events whose data
 * a client wrote (and sealed). Other events keep their data as sent: a `cache_miss` on a
 * `private-encrypted-cache-` channel carries the plain string `"{}"`, and events this SDK does not
 * know may not be encrypted at all. An event that cannot be opened becomes an
 * {@link UndecryptableEvent}; only a configured key that is not a key fails the webhook.
 */
const decrypt = (
  webhook: Webhook,
  masterKey: Uint8Array | "invalid" | undefined
): Result.Result<Webhook, SockudoEncryptionError> => {
  let events: Array<WebhookEvent> | undefined
  for (let i = 0; i < webhook.events.length; i++) {
    const event = webhook.events[i]!
    if (event._tag !== "ClientEvent" || !isEncryptedChannel(event.channel) || typeof event.data !== "string") continue
    const channel = event.channel
    if (masterKey === "invalid") {
      return Result.fail(
        new SockudoEncryptionError({
          reason: "MissingMasterKey",
          channel,
          message: "encryptionMasterKeyBase64 must be the base64 encoding of exactly 32 bytes"
        })
      )
    }
    const opened =
      masterKey === undefined
        ? Result.fail(
            new SockudoEncryptionError({
              reason: "MissingMasterKey",
              channel,
              message: "an event on an encrypted channel needs encryptionMasterKeyBase64 to be read"
            })
          )
        : Crypto.open(Crypto.sharedSecret(masterKey, channel), channel, event.data)
    events ??= webhook.events.slice()
    events[i] = Result.isSuccess(opened)
      ? { ...event, data: opened.success }
      : ({ ...event, _tag: "UndecryptableEvent", error: opened.failure } as UndecryptableEvent)
  }
  return events === undefined ? Result.succeed(webhook) : Result.succeed({ time_ms: webhook.time_ms, events })
}

/** The raw body as bytes or text, or `undefined` when it is not a raw body at all. */
const rawBody = (body: unknown): string | Uint8Array | undefined => {
  if (typeof body === "string" || body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  return undefined
}

/** A key's secrets, each with its HMAC prepared. */
type PreparedKey = ReadonlyArray<(body: string | Uint8Array) => string>

/**
 * A webhook verifier with its credentials prepared: every secret's HMAC keyed once, the master
 * key decoded once and the maximum age read once. Answers the verified webhook of a request, or
 * why it is refused; `nowMillis` is the time `maxAge` is measured to.
 *
 * @since 0.1.0
 */
export type Verifier = (request: WebhookRequest, nowMillis: number) => Result.Result<Webhook, SockudoWebhookError>

/**
 * Prepares a {@link Verifier}: build it once per set of credentials and call it per request.
 *
 * @since 0.1.0
 */
export const makeVerifier = (credentials: Credentials, options?: VerifyOptions): Verifier => {
  const keys = new Map<string, PreparedKey>()
  for (const c of [credentials, ...(credentials.additional ?? [])]) {
    if (keys.has(c.key)) continue
    keys.set(
      c.key,
      [c.secret, ...(c.previousSecrets ?? [])].map((secret) =>
        digest.preparedHmacSha256Hex(utf8Bytes(Redacted.value(secret)))
      )
    )
  }
  const masterKey = decodeMasterKey(credentials.encryptionMasterKeyBase64)
  const maxAgeMillis =
    options?.maxAge === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(options.maxAge))
  return (request, nowMillis) => {
    if (!isRecord(request as unknown)) {
      return Result.fail(
        new SockudoWebhookBodyError({
          message: "verify takes the request as { headers, body }: its headers and the raw body as received"
        })
      )
    }
    const headers: unknown = request.headers
    if (!(headers instanceof Headers) && !isRecord(headers)) {
      return Result.fail(
        new SockudoWebhookKeyError({
          message: "the request's headers are missing: pass them as received (a Fetch Headers or a record of names)"
        })
      )
    }
    const body = rawBody(request.body)
    if (body === undefined) {
      return Result.fail(
        new SockudoWebhookBodyError({
          message:
            "the webhook body must be the raw body as received (a string or bytes), not parsed JSON: the signature " +
            "covers its exact bytes, so have the framework hand over the raw body (express.raw, request.text())"
        })
      )
    }
    const key = header(request.headers, "x-pusher-key")
    if (key === undefined)
      return Result.fail(new SockudoWebhookKeyError({ message: "the X-Pusher-Key header is missing" }))
    const secrets = keys.get(key)
    if (secrets === undefined) {
      return Result.fail(new SockudoWebhookKeyError({ message: "the webhook was signed with an unknown app key" }))
    }
    let signature = header(request.headers, "x-pusher-signature")
    if (signature !== undefined && signature.length !== SIGNATURE_LENGTH) signature = signature.trim()
    if (signature === undefined || signature === "") {
      return Result.fail(new SockudoWebhookSignatureError({ message: "the X-Pusher-Signature header is missing" }))
    }
    let valid = false
    if (signature.length === SIGNATURE_LENGTH) {
      // Every candidate is compared, so the time taken does not tell which secret matched.
      for (const mac of secrets) valid = equalHexConstantTime(signature, mac(body)) || valid
    }
    if (!valid) {
      return Result.fail(new SockudoWebhookSignatureError({ message: "the webhook signature does not match its body" }))
    }
    let text: string
    try {
      text = typeof body === "string" ? body : utf8.decode(body)
    } catch {
      return Result.fail(new SockudoWebhookBodyError({ message: "the webhook body is not UTF-8" }))
    }
    const parsed = parseBody(text)
    if (Result.isFailure(parsed)) return parsed
    if (maxAgeMillis !== undefined) {
      const timeMs = parsed.success.time_ms
      const ageMillis = nowMillis - timeMs
      if (ageMillis > maxAgeMillis) {
        return Result.fail(
          new SockudoWebhookExpiredError({
            message: `the webhook is ${ageMillis} ms old, older than the maximum age of ${maxAgeMillis} ms`,
            timeMs,
            ageMillis,
            maxAgeMillis
          })
        )
      }
    }
    return decrypt(parsed.success, masterKey)
  }
}

/**
 * Verifies and parses a webhook; the synchronous core of {@link verify}. `nowMillis` (default
 * `Date.now()`) is the time `maxAge` is measured to. Prepares the credentials on every call: to
 * verify many webhooks, prepare them once with {@link makeVerifier}.
 *
 * @since 0.1.0
 */
export const verifyResult = (
  request: WebhookRequest,
  credentials: Credentials,
  options?: VerifyOptions & {
    /** The time, in Unix milliseconds, `maxAge` is measured to (default `Date.now()`). */
    readonly nowMillis?: number | undefined
  }
): Result.Result<Webhook, SockudoWebhookError> =>
  makeVerifier(credentials, options)(request, options?.nowMillis ?? Date.now())

/**
 * Verifies and parses a webhook, without the SDK's services. `maxAge` is measured to the
 * `Clock`'s time.
 *
 * @since 0.1.0
 */
export const verify = (
  request: WebhookRequest,
  credentials: Credentials,
  options?: VerifyOptions
): Effect.Effect<Webhook, SockudoWebhookError> =>
  Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
    Effect.fromResult(makeVerifier(credentials, options)(request, nowMillis))
  )

/**
 * The `X-Pusher-Signature` of a body: for tests and for forwarding webhooks.
 *
 * @since 0.1.0
 */
export const sign = (secret: Redacted.Redacted<string>, body: string | Uint8Array): string =>
  hmacHex(Redacted.value(secret), body)
