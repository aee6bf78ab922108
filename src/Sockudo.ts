/**
 * The Sockudo client service: every API operation, assembled from the resource modules, plus the
 * authentication helpers browser clients need and webhook verification.
 *
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Sockudo, SockudoConfig } from "effect-sockudo"
 *
 * const Live = Sockudo.layer.pipe(
 *   Layer.provide(SockudoConfig.layer({ appId: "app-id", key: "app-key", secret: Redacted.make("app-secret") })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * const program = Effect.gen(function* () {
 *   const sockudo = yield* Sockudo.Sockudo
 *   yield* sockudo.trigger("orders", "order.created", { id: "ord_1" })
 * })
 * ```
 *
 * Provide the layer once (at the program's edge or in a `ManagedRuntime`): a layer provided per
 * call builds a new connection pool per call.
 *
 * @since 0.1.0
 */

import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Base64 from "effect/encoding/Base64"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Tracer from "effect/Tracer"
import * as Crypto from "./Crypto.ts"
import { type SockudoEncryptionError, SockudoValidationError, type SockudoWebhookError } from "./Errors.ts"
import * as Http from "./Http.ts"
import * as Idempotency from "./Idempotency.ts"
import * as Annotations from "./Resources/Annotations.ts"
import * as Channels from "./Resources/Channels.ts"
import * as Events from "./Resources/Events.ts"
import * as History from "./Resources/History.ts"
import * as Messages from "./Resources/Messages.ts"
import * as PresenceHistory from "./Resources/PresenceHistory.ts"
import * as Push from "./Resources/Push.ts"
import * as Revocations from "./Resources/Revocations.ts"
import * as Users from "./Resources/Users.ts"
import * as Signer from "./Signer.ts"
import { SockudoConfig } from "./SockudoConfig.ts"
import * as Telemetry from "./Telemetry.ts"
import * as Validation from "./Validation.ts"
import * as Webhook from "./Webhook.ts"

/**
 * The presence member a `presence-` channel authorization vouches for. `user_id` must be a
 * non-empty string (the server rejects numbers at subscribe time).
 *
 * @since 0.1.0
 */
export interface PresenceMember {
  /** The member's id, as clients see it in `members`. */
  readonly user_id: string
  /** What clients see as the member's `info`. */
  readonly user_info?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The body to return to a client's channel authorization request.
 *
 * @since 0.1.0
 */
export interface ChannelAuthorization {
  /** `<key>:<signature>`, the value of the client's `auth` field. */
  readonly auth: string
  /** For `presence-` channels: the exact JSON string that was signed. */
  readonly channel_data?: string
  /** For `private-encrypted-` channels: the channel key, base64. */
  readonly shared_secret?: string
}

/**
 * The data of a signed-in user: `id` is required; `watchlist`, `capabilities` and anything else
 * are passed through.
 *
 * @since 0.1.0
 */
export interface UserData {
  /** The user's id: non-empty. */
  readonly id: string
  readonly [field: string]: unknown
}

/**
 * The body to return to a client's `pusher:signin` authentication request.
 *
 * @since 0.1.0
 */
export interface UserAuthentication {
  /** `<key>:<signature>` over the socket id and `user_data`. */
  readonly auth: string
  /** The exact JSON string of the user data that was signed. */
  readonly user_data: string
}

/**
 * The Sockudo service: every operation of the SDK.
 *
 * @since 0.1.0
 */
export interface Service extends Events.Events {
  /** Signs a client's subscription to a `private-`, `presence-` or `private-encrypted-` channel. */
  readonly authorizeChannel: (
    socketId: string,
    channel: string,
    presenceMember?: PresenceMember
  ) => Effect.Effect<ChannelAuthorization, SockudoValidationError | SockudoEncryptionError>
  /** Signs a client's `pusher:signin`. */
  readonly authenticateUser: (
    socketId: string,
    userData: UserData
  ) => Effect.Effect<UserAuthentication, SockudoValidationError>
  /** Webhooks from the server. */
  readonly webhooks: {
    /**
     * Verifies and parses a webhook with this app's key, secret (or a previous one) and master
     * key, refusing webhooks older than `webhookMaxAge` when it is set.
     */
    readonly verify: (request: Webhook.WebhookRequest) => Effect.Effect<Webhook.Webhook, SockudoWebhookError>
  }
  /** Channel state: the occupied channels, one channel's counts, a presence channel's users. */
  readonly channels: Channels.Channels
  /** Users' connections: terminate them, or make them reconnect. */
  readonly users: Users.Users
  /** Durable channel history: pages, a `Stream` of items, stream state, reset and purge. */
  readonly history: History.History
  /** Presence history of `presence-` channels: pages, a `Stream`, state, reset and snapshots. */
  readonly presenceHistory: PresenceHistory.PresenceHistory
  /** Versioned messages: latest version, versions, update, delete and append. */
  readonly messages: Messages.Messages
  /** Annotations on versioned messages: publish, list, stream and delete. */
  readonly annotations: Annotations.Annotations
  /** Revocation of Protocol V2 capability tokens. */
  readonly revocations: Revocations.Revocations
  /** Push notifications: credentials, templates, devices, channel subscriptions, publishing, dead letters. */
  readonly push: Push.Push
  /**
   * A URL for a request signed now (valid for 10 minutes), for callers who send requests
   * themselves. `path` is below `/apps/<appId>` and already percent-encoded; `body` (POST only)
   * must be sent exactly as given (a non-string is sent as its JSON).
   */
  readonly signedUrl: (
    method: "GET" | "POST" | "DELETE",
    path: string,
    params?: Readonly<Record<string, string | number | boolean>>,
    body?: unknown
  ) => Effect.Effect<string, SockudoValidationError>
}

/**
 * Runs a program as one retry-safe unit: its publishes and mutations get keys from `key` and
 * their position, the same on every run (see `Idempotency`).
 *
 * @since 0.1.0
 */
export const idempotent = Idempotency.idempotent

/**
 * @since 0.1.0
 */
export class Sockudo extends Context.Service<Sockudo, Service>()("effect-sockudo/Sockudo") {}

const invalid = (operation: string, field: string, message: string) =>
  Effect.fail(new SockudoValidationError({ operation, field, message }))

const refuse = (operation: string, field: string, message: string) =>
  Exit.fail(new SockudoValidationError({ operation, field, message }))

const localSpan = (channel: string | undefined): Tracer.SpanOptions =>
  channel === undefined
    ? Telemetry.localSpan
    : {
        ...Telemetry.localSpan,
        attributes: { ...Telemetry.localSpan.attributes, "messaging.destination.name": channel }
      }

/**
 * Builds the service from its parts.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const signer = yield* Signer.Signer
  const encryption = yield* Crypto.Encryption
  const http = yield* Http.Http
  // Signing (channel authorization, user sign-in) is deterministic: built without a tracer, the
  // service signs when the operation is called and answers the outcome as an Exit, which a
  // `runSync` per browser subscription runs without starting a fiber; built with one, each run of
  // the Effect signs again inside its own span.
  const tracing = Telemetry.isTracing(yield* Tracer.Tracer)
  const signing = <A, E>(span: string, channel: string | undefined, run: () => Exit.Exit<A, E>): Effect.Effect<A, E> =>
    tracing ? Effect.withSpan(Effect.suspend(run), span, localSpan(channel)) : run()
  const events = yield* Events.make
  const channels = yield* Channels.make
  const users = yield* Users.make
  const history = yield* History.make
  const presenceHistory = yield* PresenceHistory.make
  const messages = yield* Messages.make
  const annotations = yield* Annotations.make
  const revocations = yield* Revocations.make
  const push = yield* Push.make

  const webhookCredentials: Webhook.Credentials = {
    key: config.key,
    secret: config.secret,
    previousSecrets: config.previousSecrets,
    encryptionMasterKeyBase64:
      config.encryptionMasterKey === undefined
        ? undefined
        : Redacted.make(Base64.encode(Redacted.value(config.encryptionMasterKey)))
  }

  const authorizeChannel = (
    socketId: string,
    channel: string,
    presenceMember?: PresenceMember
  ): Effect.Effect<ChannelAuthorization, SockudoValidationError | SockudoEncryptionError> =>
    signing(
      "Sockudo.authorizeChannel",
      channel,
      (): Exit.Exit<ChannelAuthorization, SockudoValidationError | SockudoEncryptionError> => {
        const op = "authorizeChannel"
        const socketReason = Validation.socketId(socketId)
        if (socketReason) return refuse(op, "socketId", `socketId ${socketReason}`)
        const channelReason = Validation.channelName(channel, config.limits)
        if (channelReason) return refuse(op, "channel", `channel ${channelReason}`)
        if (!channel.startsWith("private-") && !channel.startsWith("presence-")) {
          return refuse(op, "channel", "only private- and presence- channels need authorization")
        }
        if (Validation.isPresenceChannel(channel)) {
          if (presenceMember === undefined || !Validation.isRecord(presenceMember as unknown)) {
            return refuse(
              op,
              "presenceMember",
              "presenceMember must be an object: presence- channels need the member's user_id (and user_info)"
            )
          }
          if (typeof presenceMember.user_id !== "string" || presenceMember.user_id.length === 0) {
            return refuse(op, "presenceMember.user_id", "presenceMember.user_id must be a non-empty string")
          }
          const info = presenceMember.user_info
          if (info !== undefined && (typeof info !== "object" || info === null || Array.isArray(info))) {
            return refuse(op, "presenceMember.user_info", "presenceMember.user_info must be an object")
          }
          const channelData = Validation.toJson(presenceMember)
          if ("error" in channelData) return refuse(op, "presenceMember", `presenceMember ${channelData.error}`)
          return Exit.succeed({
            auth: signer.authorizeChannel(socketId, channel, channelData.json),
            channel_data: channelData.json
          })
        }
        if (presenceMember !== undefined) {
          return refuse(op, "presenceMember", "member data is only signed for presence- channels")
        }
        const auth = signer.authorizeChannel(socketId, channel)
        if (!Validation.isEncryptedChannel(channel)) return Exit.succeed({ auth })
        const sharedSecret = encryption.sharedSecretBase64(channel)
        if (Result.isFailure(sharedSecret)) return Exit.fail(sharedSecret.failure)
        return Exit.succeed({ auth, shared_secret: sharedSecret.success })
      }
    )

  const authenticateUser = (
    socketId: string,
    userData: UserData
  ): Effect.Effect<UserAuthentication, SockudoValidationError> =>
    signing("Sockudo.authenticateUser", undefined, (): Exit.Exit<UserAuthentication, SockudoValidationError> => {
      const op = "authenticateUser"
      const socketReason = Validation.socketId(socketId)
      if (socketReason) return refuse(op, "socketId", `socketId ${socketReason}`)
      if (typeof userData !== "object" || userData === null || Array.isArray(userData)) {
        return refuse(op, "userData", "userData must be an object")
      }
      if (typeof userData.id !== "string" || userData.id.length === 0) {
        return refuse(op, "userData.id", "userData.id must be a non-empty string")
      }
      const json = Validation.toJson(userData)
      if ("error" in json) return refuse(op, "userData", `userData ${json.error}`)
      return Exit.succeed({ auth: signer.authenticateUser(socketId, json.json), user_data: json.json })
    })

  const verifier = Webhook.makeVerifier(webhookCredentials, { maxAge: config.webhookMaxAge })
  // Without a maximum age nothing in a verification reads the clock: like signing, it is then
  // decided when called (built without a tracer).
  const eagerVerify = config.webhookMaxAge === undefined && !tracing
  const verify = (request: Webhook.WebhookRequest): Effect.Effect<Webhook.Webhook, SockudoWebhookError> => {
    if (eagerVerify) {
      const verified = verifier(request, 0)
      return Result.isSuccess(verified) ? Exit.succeed(verified.success) : Exit.fail(verified.failure)
    }
    return Telemetry.operation("Sockudo.webhooks.verify", Telemetry.localSpan, (fiber) =>
      Effect.fromResult(verifier(request, fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()))
    )
  }

  const signedUrl = Effect.fn("Sockudo.signedUrl")(function* (
    method: "GET" | "POST" | "DELETE",
    path: string,
    params?: Readonly<Record<string, string | number | boolean>>,
    body?: unknown
  ): Effect.fn.Return<string, SockudoValidationError> {
    const op = "signedUrl"
    if (method !== "GET" && method !== "POST" && method !== "DELETE") {
      return yield* invalid(op, "method", "method must be GET, POST or DELETE")
    }
    if (typeof path !== "string" || !path.startsWith("/") || /[?#\s]/.test(path)) {
      return yield* invalid(op, "path", "path must start with '/' and contain no query, fragment or spaces")
    }
    if (path === "/apps" || path.startsWith("/apps/")) {
      return yield* invalid(op, "path", "path is relative to /apps/<appId>: leave that prefix out")
    }
    if (params !== undefined && !Validation.isRecord(params as unknown)) {
      return yield* invalid(op, "params", "params must be an object")
    }
    const query: Array<Signer.QueryParam> = []
    for (const [k, v] of Object.entries(params ?? {})) {
      if (typeof v !== "string" && typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v))) {
        return yield* invalid(op, `params.${k}`, `params.${k} must be a string, a finite number or a boolean`)
      }
      query.push([k, String(v)])
    }
    const reason = Signer.checkQueryParams(query)
    if (reason) return yield* invalid(op, "params", reason)
    if (body !== undefined && method !== "POST") return yield* invalid(op, "body", "only POST requests carry a body")
    let prepared: Http.PreparedBody | undefined
    if (body !== undefined) {
      const json = Validation.serializeData(body)
      if ("error" in json) return yield* invalid(op, "body", `body ${json.error}`)
      prepared = Http.prepareBody(json.json)
    }
    return yield* http.signUrl(method, path, query, prepared)
  })

  return Sockudo.of({
    ...events,
    authorizeChannel,
    authenticateUser,
    webhooks: { verify },
    channels,
    users,
    history,
    presenceHistory,
    messages,
    annotations,
    revocations,
    push,
    signedUrl
  })
})

const internals = Layer.mergeAll(Http.layer, Crypto.layer).pipe(Layer.provideMerge(Signer.layer))

/**
 * The Sockudo service, needing a `SockudoConfig` and an `HttpClient`.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Sockudo, never, SockudoConfig | HttpClient.HttpClient> = Layer.effect(
  Sockudo,
  make
).pipe(Layer.provide(internals))
