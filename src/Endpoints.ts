/**
 * The web edge: the three HTTP endpoints a Pusher-protocol app serves. Channel authorization and
 * user authentication answer the requests pusher-js sends for `private-`, `presence-` and
 * `private-encrypted-` channels and for `pusher:signin`; the webhook endpoint verifies what the
 * server posts and hands typed events to your handler.
 *
 * Each endpoint is framework-free: `endpoint.handle({ method, headers, body })` answers
 * `{ status, headers, body }`. You decide who may do what (your `authorize`, `authenticate` and
 * `handle` callbacks may return a value, a Promise or an Effect); the endpoint parses and checks
 * the request, signs the answer with the `Sockudo` service, and turns every malformed request
 * into a clear 4xx with a JSON `{"error": ...}` body:
 *
 * | endpoint | answers |
 * | --- | --- |
 * | {@link channelAuthorization} | 200 with `{ auth, channel_data?, shared_secret? }`, 403 when your authorizer denies, 400 for a missing or malformed `socket_id` / `channel_name`, 415 for a body that is neither form-encoded nor JSON |
 * | {@link userAuthentication} | 200 with `{ auth, user_data }`, 403 when denied, 400, 415 as above |
 * | {@link webhooks} | 200 once your handler succeeded, 401 for a wrong key or signature, 400 for a body that is not a webhook, 500 when your handler failed (so the server retries) |
 *
 * All three answer 405 to anything but POST and 413 to a body over `maxBodyBytes`. A failure of
 * your callback (or a throw, a rejection, a defect) is logged with `Effect.logError` and answered
 * 500 with a generic message: details never reach the client.
 *
 * Adapters: {@link toFetch} (Hono, Bun, Deno, Cloudflare Workers, Next.js route handlers),
 * {@link layerRoute} and {@link toHttpEffect} for effect's own HTTP server, and `toNodeHandler` in
 * `effect-sockudo/node` (`SockudoNode.Endpoints`) for Express, Fastify and `node:http`.
 *
 * ```ts
 * import { Endpoints } from "effect-sockudo"
 *
 * declare const userOf: (authorization: string | null) => { readonly id: string; readonly name: string } | undefined
 *
 * const auth = Endpoints.channelAuthorization({
 *   authorize: ({ channelName, headers }) => {
 *     const user = userOf(headers.get("authorization"))
 *     if (user === undefined) return Endpoints.deny("sign in first")
 *     return channelName.startsWith("presence-")
 *       ? Endpoints.allow({ user_id: user.id, user_info: { name: user.name } })
 *       : Endpoints.allow()
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { SockudoEncryptionError, SockudoValidationError, SockudoWebhookError } from "./Errors.ts"
import * as Sockudo from "./Sockudo.ts"
import * as Validation from "./Validation.ts"
import type * as Webhook from "./Webhook.ts"

// ===== Requests and responses =====

/**
 * A request body as an adapter has it: the bytes (or text) exactly as received; a body a
 * framework already parsed (`express.json()`, `express.urlencoded()`: enough for the two auth
 * endpoints, never for webhooks, whose signature covers the raw bytes); or no body, because it
 * was over the limit or already read by someone else.
 *
 * @since 0.1.0
 */
export type EndpointBody =
  | string
  | Uint8Array
  | {
      /** A body a framework already parsed. */
      readonly _tag: "Parsed"
      /** What the framework's parser made of it. */
      readonly value: unknown
    }
  | {
      /** No body to read. */
      readonly _tag: "Unavailable"
      /** Over `maxBodyBytes`, or already read by someone else. */
      readonly reason: "TooLarge" | "Consumed"
    }

/**
 * A request as the endpoints read it. Headers as a Fetch `Headers`, Node's `IncomingHttpHeaders`
 * or any record (names in any letter case).
 *
 * @since 0.1.0
 */
export interface EndpointRequest {
  /** The HTTP method; only `POST` is served. */
  readonly method: string
  /** The request's headers. */
  readonly headers: Headers | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The body as the adapter has it. */
  readonly body: EndpointBody
}

/**
 * An endpoint's answer, to be written by the adapter as it is.
 *
 * @since 0.1.0
 */
export interface EndpointResponse {
  /** The HTTP status. */
  readonly status: number
  /** The response headers (`content-type` among them). */
  readonly headers: Readonly<Record<string, string>>
  /** The response body, JSON. */
  readonly body: string
}

/**
 * A framework-free endpoint. `handle` never fails: every outcome is a response.
 *
 * @since 0.1.0
 */
export interface Endpoint<R> {
  /** Which of the three endpoints this is. */
  readonly kind: "channelAuthorization" | "userAuthentication" | "webhooks"
  /** The largest body accepted, in bytes; adapters stop reading past it and answer 413. */
  readonly maxBodyBytes: number
  /** Whether the endpoint needs the body byte for byte (webhooks), not a parsed form of it. */
  readonly needsRawBody: boolean
  /** Answers one request; every outcome, malformed input and callback failures included, is a response. */
  readonly handle: (request: EndpointRequest) => Effect.Effect<EndpointResponse, never, R>
}

/**
 * What a callback may return: a value, a Promise of it, or an Effect. A failed Effect, a rejected
 * Promise and a throw are all answered 500 (and logged).
 *
 * @since 0.1.0
 */
export type Reply<A, R = never> = A | PromiseLike<A> | Effect.Effect<A, unknown, R>

// ===== Decisions =====

/**
 * Lets the client subscribe; on `presence-` channels, as `member`.
 *
 * @since 0.1.0
 */
export interface Allow {
  /** The decision. */
  readonly _tag: "Allow"
  /** The presence member the authorization vouches for (`presence-` channels only). */
  readonly member?: Sockudo.PresenceMember | undefined
}

/**
 * Signs the client in as `user` (`pusher:signin`).
 *
 * @since 0.1.0
 */
export interface SignIn {
  /** The decision. */
  readonly _tag: "SignIn"
  /** The user data signed for the client (`id` required). */
  readonly user: Sockudo.UserData
}

/**
 * Refuses the request: answered 403 with `{"error": reason}`.
 *
 * @since 0.1.0
 */
export interface Deny {
  /** The decision. */
  readonly _tag: "Deny"
  /** Why, sent to the client as `{"error": reason}`. */
  readonly reason: string
}

/**
 * An authorizer's decision on a channel subscription.
 *
 * @since 0.1.0
 */
export type ChannelDecision = Allow | Deny

/**
 * An authenticator's decision on a sign-in.
 *
 * @since 0.1.0
 */
export type UserDecision = SignIn | Deny

/**
 * Allows a subscription. A `presence-` channel needs the `member` (`user_id` and optional
 * `user_info`) the other subscribers will see; other channels take none.
 *
 * @since 0.1.0
 */
export const allow = (member?: Sockudo.PresenceMember): Allow =>
  member === undefined ? { _tag: "Allow" } : { _tag: "Allow", member }

/**
 * Signs a user in: `user.id` is required; `watchlist`, `capabilities` and other fields are
 * passed through to the server.
 *
 * @since 0.1.0
 */
export const signIn = (user: Sockudo.UserData): SignIn => ({ _tag: "SignIn", user })

/**
 * Refuses a subscription or sign-in, answered 403. The reason is sent to the client: keep it
 * short and free of anything private.
 *
 * @since 0.1.0
 */
export const deny = (reason = "Forbidden"): Deny => ({ _tag: "Deny", reason })

// ===== What the callbacks receive =====

/**
 * A client's request to subscribe to a channel that needs authorization.
 *
 * @since 0.1.0
 */
export interface ChannelAuthorizationRequest {
  /** The client's connection (`socket_id`), already checked. */
  readonly socketId: string
  /** The channel it asks to subscribe to (`channel_name`), already checked. */
  readonly channelName: string
  /** The body's other fields (pusher-js `channelAuthorization.params`), as sent. */
  readonly params: Readonly<Record<string, unknown>>
  /** The request's headers (cookies, `Authorization`: whatever identifies your user). */
  readonly headers: Headers
}

/**
 * A client's request to sign in (`pusher:signin`).
 *
 * @since 0.1.0
 */
export interface UserAuthenticationRequest {
  /** The client's connection (`socket_id`), already checked. */
  readonly socketId: string
  /** The body's other fields (pusher-js `userAuthentication.params`), as sent. */
  readonly params: Readonly<Record<string, unknown>>
  /** The request's headers (cookies, `Authorization`: whatever identifies your user). */
  readonly headers: Headers
}

// ===== Responses =====

const jsonHeaders = { "content-type": "application/json", "cache-control": "no-store" } as const

const respond = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): EndpointResponse => ({
  status,
  headers: headers === undefined ? jsonHeaders : { ...jsonHeaders, ...headers },
  body: JSON.stringify(body)
})

const failure = (status: number, message: string, headers?: Readonly<Record<string, string>>) =>
  respond(status, { error: message }, headers)

const notPost = failure(405, "only POST is allowed", { allow: "POST" })

const tooLarge = (max: number) => failure(413, `the body is larger than ${max} bytes`)

/** Logs a failure on the server's side and answers 500 with a message that names no detail. */
const internal = (endpoint: string, message: string, cause: Cause.Cause<unknown>) =>
  Effect.as(
    Effect.logError(`${endpoint}: ${message}`, cause).pipe(Effect.annotateLogs("endpoint", endpoint)),
    failure(500, "internal error")
  )

/**
 * Runs a user callback, whatever it returned. An interruption stays an interruption; any other
 * failure (an Effect failure or defect, a rejected Promise, a throw) is answered 500 and logged.
 */
const runCallback = <A, R>(
  endpoint: string,
  what: string,
  call: () => Reply<A, R>,
  then: (value: A) => Effect.Effect<EndpointResponse, never, R | Sockudo.Sockudo>
): Effect.Effect<EndpointResponse, never, R | Sockudo.Sockudo> =>
  Effect.suspend((): Effect.Effect<A, unknown, R> => {
    const value = call()
    if (Effect.isEffect(value)) return value
    if (Predicate.isPromiseLike(value)) return Effect.tryPromise({ try: () => value, catch: (e) => e })
    return Effect.succeed(value)
  }).pipe(
    Effect.matchCauseEffect({
      onFailure: (cause) =>
        // an interruption has no failure in it, so it fits `never`
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : internal(endpoint, `${what} failed`, cause),
      onSuccess: then
    })
  )

// ===== Parsing =====

const utf8 = new TextDecoder("utf-8", { fatal: true })

const toHeaders = (input: EndpointRequest["headers"]): Headers => {
  if (input instanceof Headers) return input
  const headers = new Headers()
  for (const [name, value] of Object.entries(input)) {
    if (typeof value === "string") headers.append(name, value)
    else if (Array.isArray(value)) for (const v of value) if (typeof v === "string") headers.append(name, v)
  }
  return headers
}

const mediaType = (headers: Headers): string => (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase()

const isJsonType = (type: string) =>
  type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))

type Fields = { readonly fields: Readonly<Record<string, unknown>> } | { readonly error: EndpointResponse }

const bad = (message: string): Fields => ({ error: failure(400, message) })

/** The fields of an auth request's body: form-encoded (as pusher-js sends it) or a JSON object. */
const parseFields = (
  body: EndpointBody,
  headers: Headers,
  maxBodyBytes: number,
  unique: ReadonlyArray<string>
): Fields => {
  if (typeof body === "object" && "_tag" in body) {
    if (body._tag === "Unavailable") return { error: tooLarge(maxBodyBytes) } // a consumed body is refused earlier
    return Predicate.isObject(body.value) && !Array.isArray(body.value)
      ? { fields: body.value as Record<string, unknown> }
      : bad("the body must be a JSON object or form fields")
  }
  const size = typeof body === "string" ? Validation.byteLength(body) : body.byteLength
  if (size > maxBodyBytes) return { error: tooLarge(maxBodyBytes) }
  let text: string
  try {
    text = typeof body === "string" ? body : utf8.decode(body)
  } catch {
    return bad("the body is not UTF-8")
  }
  const type = mediaType(headers)
  if (type === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams(text)
    for (const name of unique) if (form.getAll(name).length > 1) return bad(`${name} is given more than once`)
    return { fields: Object.fromEntries(form) }
  }
  if (isJsonType(type)) {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return bad("the body is not valid JSON")
    }
    return Predicate.isObject(json) && !Array.isArray(json)
      ? { fields: json as Record<string, unknown> }
      : bad("the JSON body must be an object")
  }
  return {
    error: failure(
      415,
      type === ""
        ? "the body needs a Content-Type: application/x-www-form-urlencoded or application/json"
        : `the body must be application/x-www-form-urlencoded or application/json, not ${type.slice(0, 100)}`
    )
  }
}

/** A required string field: its value, or the 400 that names it. */
const stringField = (fields: Readonly<Record<string, unknown>>, name: string): string | EndpointResponse => {
  const value = fields[name]
  if (value === undefined || value === "") return failure(400, `${name} is missing`)
  if (typeof value !== "string") return failure(400, `${name} must be a string`)
  return value
}

const socketIdField = (fields: Readonly<Record<string, unknown>>): string | EndpointResponse => {
  const socketId = stringField(fields, "socket_id")
  if (typeof socketId !== "string") return socketId
  const reason = Validation.socketId(socketId)
  return reason === undefined ? socketId : failure(400, `socket_id ${reason}`)
}

const consumed = (endpoint: string, body: EndpointBody) =>
  typeof body === "object" && "_tag" in body && body._tag === "Unavailable" && body.reason === "Consumed"
    ? internal(
        endpoint,
        "the request body was read before the endpoint could read it (a body parser or middleware on this route?)",
        Cause.empty
      )
    : undefined

/** An auth request's headers, fields and checked `socket_id`, or the answer that refuses it. */
const readAuthRequest = (
  endpoint: string,
  request: EndpointRequest,
  maxBodyBytes: number,
  unique: ReadonlyArray<string>
): Effect.Effect<
  | EndpointResponse
  | { readonly headers: Headers; readonly fields: Readonly<Record<string, unknown>>; readonly socketId: string }
> => {
  const unreadable = consumed(endpoint, request.body)
  if (unreadable !== undefined) return unreadable
  if (request.method.toUpperCase() !== "POST") return Effect.succeed(notPost)
  const headers = toHeaders(request.headers)
  const parsed = parseFields(request.body, headers, maxBodyBytes, unique)
  if ("error" in parsed) return Effect.succeed(parsed.error)
  const socketId = socketIdField(parsed.fields)
  return Effect.succeed(typeof socketId === "string" ? { headers, fields: parsed.fields, socketId } : socketId)
}

const otherFields = (fields: Readonly<Record<string, unknown>>, known: ReadonlyArray<string>) => {
  const params: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) if (!known.includes(key)) params[key] = value
  return params
}

/** A signing failure: the client's input (socket id, channel) is a 400, the callback's output a 500. */
const signingFailure = (
  endpoint: string,
  error: SockudoValidationError | SockudoEncryptionError,
  clientFields: Readonly<Record<string, string>>
) => {
  if (error._tag === "SockudoValidationError") {
    const wire = clientFields[error.field]
    if (wire !== undefined) return Effect.succeed(failure(400, error.message.replace(error.field, wire)))
  }
  return internal(endpoint, "the answer could not be signed", Cause.fail(error))
}

const unexpected = (endpoint: string, expected: string, value: unknown) =>
  internal(
    endpoint,
    `the callback returned ${value === null ? "null" : typeof value}${Predicate.isObject(value) && "_tag" in value ? ` (_tag ${String(value._tag)})` : ""}, not ${expected}`,
    Cause.empty
  )

const isDecision = (value: unknown, tag: string): boolean =>
  Predicate.isObject(value) && (value as { readonly _tag?: unknown })._tag === tag

// ===== Channel authorization =====

/**
 * Options of {@link channelAuthorization}.
 *
 * @since 0.1.0
 */
export interface ChannelAuthorizationOptions<R> {
  /** Decides: `Endpoints.allow()`, `Endpoints.allow(member)` for presence, or `Endpoints.deny(reason)`. */
  readonly authorize: (request: ChannelAuthorizationRequest) => Reply<ChannelDecision, R>
  /** The largest body accepted. Default 16 KiB. */
  readonly maxBodyBytes?: number | undefined
}

const authLimit = 16 * 1024

const checkOptions = (operation: string, callback: string, options: unknown, maxBodyBytes: unknown) => {
  if (!Predicate.isObject(options) || typeof (options as Record<string, unknown>)[callback] !== "function") {
    throw Validation.validationError(operation, callback, "must be a function")
  }
  if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && (maxBodyBytes as number) > 0)) {
    throw Validation.validationError(operation, "maxBodyBytes", "must be a positive integer")
  }
}

/**
 * The channel authorization endpoint pusher-js calls (`channelAuthorization.endpoint`, by
 * default `/pusher/auth`) before it subscribes to a `private-`, `presence-` or
 * `private-encrypted-` channel. It reads `socket_id` and `channel_name` (form-encoded or JSON),
 * asks your `authorize`, and answers the signed `{ auth, channel_data?, shared_secret? }`.
 *
 * Throws a `SockudoValidationError` when `authorize` is not a function.
 *
 * @since 0.1.0
 */
export const channelAuthorization = <R = never>(
  options: ChannelAuthorizationOptions<R>
): Endpoint<R | Sockudo.Sockudo> => {
  const name = "Endpoints.channelAuthorization"
  checkOptions(name, "authorize", options, options?.maxBodyBytes)
  const maxBodyBytes = options.maxBodyBytes ?? authLimit
  const handle = Effect.fn(name)(function* (request: EndpointRequest) {
    const input = yield* readAuthRequest(name, request, maxBodyBytes, ["socket_id", "channel_name"])
    if ("status" in input) return input
    const { headers, fields, socketId } = input
    const channelName = stringField(fields, "channel_name")
    if (typeof channelName !== "string") return channelName
    if (!channelName.startsWith("private-") && !channelName.startsWith("presence-")) {
      return failure(400, "channel_name: only private- and presence- channels need authorization")
    }
    const params = otherFields(fields, ["socket_id", "channel_name"])
    return yield* runCallback(
      name,
      "authorize",
      () => options.authorize({ socketId, channelName, params, headers }),
      (decision) => {
        if (isDecision(decision, "Deny")) return Effect.succeed(failure(403, String((decision as Deny).reason)))
        if (!isDecision(decision, "Allow"))
          return unexpected(name, "Endpoints.allow(...) or Endpoints.deny(...)", decision)
        return Sockudo.Sockudo.use((sockudo) =>
          sockudo.authorizeChannel(socketId, channelName, (decision as Allow).member)
        ).pipe(
          Effect.map((authorization) => respond(200, authorization)),
          Effect.catch((error) => signingFailure(name, error, { socketId: "socket_id", channel: "channel_name" }))
        )
      }
    )
  })
  return { kind: "channelAuthorization", maxBodyBytes, needsRawBody: false, handle }
}

// ===== User authentication =====

/**
 * Options of {@link userAuthentication}.
 *
 * @since 0.1.0
 */
export interface UserAuthenticationOptions<R> {
  /** Decides: `Endpoints.signIn({ id, ... })` or `Endpoints.deny(reason)`. */
  readonly authenticate: (request: UserAuthenticationRequest) => Reply<UserDecision, R>
  /** The largest body accepted. Default 16 KiB. */
  readonly maxBodyBytes?: number | undefined
}

/**
 * The user authentication endpoint pusher-js calls for `pusher.signin()`
 * (`userAuthentication.endpoint`, by default `/pusher/user-auth`). It reads `socket_id`, asks
 * your `authenticate`, and answers the signed `{ auth, user_data }`.
 *
 * Throws a `SockudoValidationError` when `authenticate` is not a function.
 *
 * @since 0.1.0
 */
export const userAuthentication = <R = never>(options: UserAuthenticationOptions<R>): Endpoint<R | Sockudo.Sockudo> => {
  const name = "Endpoints.userAuthentication"
  checkOptions(name, "authenticate", options, options?.maxBodyBytes)
  const maxBodyBytes = options.maxBodyBytes ?? authLimit
  const handle = Effect.fn(name)(function* (request: EndpointRequest) {
    const input = yield* readAuthRequest(name, request, maxBodyBytes, ["socket_id"])
    if ("status" in input) return input
    const { headers, fields, socketId } = input
    const params = otherFields(fields, ["socket_id"])
    return yield* runCallback(
      name,
      "authenticate",
      () => options.authenticate({ socketId, params, headers }),
      (decision) => {
        if (isDecision(decision, "Deny")) return Effect.succeed(failure(403, String((decision as Deny).reason)))
        if (!isDecision(decision, "SignIn"))
          return unexpected(name, "Endpoints.signIn(...) or Endpoints.deny(...)", decision)
        return Sockudo.Sockudo.use((sockudo) => sockudo.authenticateUser(socketId, (decision as SignIn).user)).pipe(
          Effect.map((authentication) => respond(200, authentication)),
          Effect.catch((error) => signingFailure(name, error, { socketId: "socket_id" }))
        )
      }
    )
  })
  return { kind: "userAuthentication", maxBodyBytes, needsRawBody: false, handle }
}

// ===== Webhooks =====

/**
 * Options of {@link webhooks}.
 *
 * @since 0.1.0
 */
export interface WebhooksOptions<R> {
  /**
   * Handles a verified webhook: its typed events (`event._tag`), decrypted. Succeed once they are
   * safely handled: a failure answers 500, and the server sends the same webhook again later.
   */
  readonly handle: (
    webhook: Webhook.Webhook,
    request: {
      /** The webhook request's headers. */
      readonly headers: Headers
    }
  ) => Reply<void, R>
  /**
   * The largest body accepted. Default 10 MiB, the server's own request limit: a body refused
   * with 413 is not sent again, so keep it above the largest batch the server can send.
   */
  readonly maxBodyBytes?: number | undefined
}

const webhookStatus = (error: SockudoWebhookError): number => {
  switch (error._tag) {
    case "SockudoWebhookKeyError":
    case "SockudoWebhookSignatureError":
      return 401
    case "SockudoEncryptionError":
      // a master key that is missing or not the one the clients' keys came from is fixed on this
      // side: 500, so the server sends the webhook again; malformed ciphertext never opens
      return error.reason === "Malformed" ? 400 : 500
    default:
      return 400
  }
}

/**
 * The webhook endpoint the server posts to. It verifies `X-Pusher-Key` and `X-Pusher-Signature`
 * over the raw body (with the `Sockudo` service's key, secret and master key), hands the typed
 * webhook to your `handle`, and answers 200 once it succeeded.
 *
 * Throws a `SockudoValidationError` when `handle` is not a function.
 *
 * @since 0.1.0
 */
export const webhooks = <R = never>(options: WebhooksOptions<R>): Endpoint<R | Sockudo.Sockudo> => {
  const name = "Endpoints.webhooks"
  checkOptions(name, "handle", options, options?.maxBodyBytes)
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024
  const handle = Effect.fn(name)(function* (request: EndpointRequest) {
    if (request.method.toUpperCase() !== "POST") return notPost
    const body = request.body
    const unreadable = consumed(name, body)
    if (unreadable !== undefined) return yield* unreadable
    if (typeof body === "object" && "_tag" in body) {
      if (body._tag === "Unavailable") return tooLarge(maxBodyBytes)
      return yield* internal(
        name,
        "the webhook arrived parsed, but its signature covers the raw body: give this route the body as received (see the Endpoints section of the README)",
        Cause.empty
      )
    }
    const size = typeof body === "string" ? Validation.byteLength(body) : body.byteLength
    if (size > maxBodyBytes) return tooLarge(maxBodyBytes)
    const headers = toHeaders(request.headers)
    const verified = yield* Sockudo.Sockudo.use((sockudo) => sockudo.webhooks.verify({ headers, body })).pipe(
      Effect.result
    )
    if (verified._tag === "Failure") {
      const status = webhookStatus(verified.failure)
      if (status === 500)
        return yield* internal(name, "the webhook could not be decrypted", Cause.fail(verified.failure))
      return failure(status, verified.failure.message)
    }
    return yield* runCallback(
      name,
      "handle",
      () => options.handle(verified.success, { headers }),
      () => Effect.succeed(respond(200, { ok: true }))
    )
  })
  return { kind: "webhooks", maxBodyBytes, needsRawBody: true, handle }
}

// ===== Reading bodies =====

/**
 * Collects a body's chunks up to a byte limit, for adapters: `push` returns false once the body
 * is over the limit, and the adapter stops reading.
 *
 * @since 0.1.0
 */
export class BodyCollector {
  readonly #chunks: Array<Uint8Array> = []
  readonly #max: number
  #size = 0
  constructor(maxBytes: number) {
    this.#max = maxBytes
  }
  /** Adds a chunk; false when the body is now over the limit. */
  push(chunk: Uint8Array): boolean {
    this.#size += chunk.byteLength
    if (this.#size > this.#max) return false
    this.#chunks.push(chunk)
    return true
  }
  /** The body so far, as one array. */
  bytes(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!
    const out = new Uint8Array(this.#size)
    let at = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, at)
      at += chunk.byteLength
    }
    return out
  }
}

/**
 * True when a request's `Content-Length` already says the body is over `maxBytes`.
 *
 * @since 0.1.0
 */
export const declaredTooLarge = (contentLength: string | null | undefined, maxBytes: number): boolean => {
  if (contentLength === null || contentLength === undefined) return false
  const length = Number(contentLength)
  return Number.isFinite(length) && length > maxBytes
}

// ===== Fetch =====

/**
 * Runs Effects that need `R`: a `ManagedRuntime` built once from your layer (for example
 * `ManagedRuntime.make(SockudoNode.layerConfig)`), or anything with its `runPromise`.
 *
 * @since 0.1.0
 */
export interface Runner<R> {
  /** Runs one Effect to a Promise. */
  readonly runPromise: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>
}

const readFetchBody = async (request: Request, maxBytes: number): Promise<EndpointBody> => {
  if (request.bodyUsed) return { _tag: "Unavailable", reason: "Consumed" }
  if (declaredTooLarge(request.headers.get("content-length"), maxBytes)) {
    await request.body?.cancel().catch(() => undefined)
    return { _tag: "Unavailable", reason: "TooLarge" }
  }
  if (request.body === null) return new Uint8Array(0)
  const collector = new BodyCollector(maxBytes)
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return collector.bytes()
    if (!collector.push(value)) {
      await reader.cancel().catch(() => undefined)
      return { _tag: "Unavailable", reason: "TooLarge" }
    }
  }
}

const toWebResponse = (response: EndpointResponse): Response =>
  new Response(response.body, { status: response.status, headers: response.headers })

/**
 * The endpoint as a Fetch handler, `(Request) => Promise<Response>`: Hono (`(c) =>
 * handler(c.req.raw)`), Bun, Deno, Cloudflare Workers, Next.js route handlers. Build `runner`
 * once for the whole app, never per request (see {@link Runner}).
 *
 * The body must still be unread: a middleware that read it (a `Request` whose `bodyUsed` is
 * true) is answered 500, and logged.
 *
 * @since 0.1.0
 */
export const toFetch =
  <R>(endpoint: Endpoint<R>, runner: Runner<R>) =>
  async (request: Request): Promise<Response> => {
    const body = request.method === "POST" ? await readFetchBody(request, endpoint.maxBodyBytes) : new Uint8Array(0)
    return toWebResponse(
      await runner.runPromise(endpoint.handle({ method: request.method, headers: request.headers, body }))
    )
  }

// ===== effect's HTTP server =====

const readServerBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<EndpointBody> => {
  if (declaredTooLarge(request.headers["content-length"], maxBytes)) {
    return Effect.succeed({ _tag: "Unavailable", reason: "TooLarge" })
  }
  return Effect.suspend(() => {
    const collector = new BodyCollector(maxBytes)
    let over = false
    return Stream.runForEachWhile(request.stream, (chunk) =>
      Effect.sync(() => {
        over = !collector.push(chunk)
        return !over
      })
    ).pipe(
      Effect.map((): EndpointBody => (over ? { _tag: "Unavailable", reason: "TooLarge" } : collector.bytes())),
      Effect.catch(() => Effect.succeed<EndpointBody>({ _tag: "Unavailable", reason: "Consumed" }))
    )
  })
}

/**
 * The endpoint as a handler of effect's HTTP server (it reads the current
 * `HttpServerRequest`), for `HttpRouter.route` or your own routing.
 *
 * @since 0.1.0
 */
export const toHttpEffect = <R>(
  endpoint: Endpoint<R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = request.method === "POST" ? yield* readServerBody(request, endpoint.maxBodyBytes) : new Uint8Array(0)
    const response = yield* endpoint.handle({ method: request.method, headers: request.headers, body })
    const { "content-type": contentType, ...headers } = response.headers
    return HttpServerResponse.text(response.body, { status: response.status, headers, contentType })
  })

/**
 * A layer that mounts the endpoint on effect's `HttpRouter` at `path` (every method: the
 * endpoint answers 405 to all but POST).
 *
 * ```ts
 * import { createServer } from "node:http"
 * import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
 * import { Effect, Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { Endpoints } from "effect-sockudo"
 * import * as SockudoNode from "effect-sockudo/node"
 *
 * const Routes = Layer.mergeAll(
 *   Endpoints.layerRoute("/pusher/auth", Endpoints.channelAuthorization({ authorize: () => Endpoints.allow() })),
 *   Endpoints.layerRoute(
 *     "/pusher/webhooks",
 *     Endpoints.webhooks({ handle: (webhook) => Effect.log(`${webhook.events.length} events`) })
 *   )
 * )
 * const ServerLive = HttpRouter.serve(Routes).pipe(
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.provide(SockudoNode.layerConfig)
 * )
 * ```
 *
 * @since 0.1.0
 */
export const layerRoute = <R>(
  path: HttpRouter.PathInput,
  endpoint: Endpoint<R>
): Layer.Layer<
  never,
  never,
  HttpRouter.HttpRouter | HttpRouter.Request.From<"Requires", Exclude<R, HttpRouter.Provided>>
> => HttpRouter.add("*", path, toHttpEffect(endpoint))
