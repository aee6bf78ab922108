/**
 * Simulated clients, as tests drive them: open a connection (optionally signed in, optionally
 * with a capability token's identity), sign in, subscribe with the `auth` a real client sends
 * (checked like the server checks it) or let the emulator sign for you, send client events,
 * read what arrived, disconnect.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 * import { Emulator } from "effect-sockudo/testing"
 *
 * const scenario = Effect.gen(function* () {
 *   const emulator = yield* Emulator.Emulator
 *   const sockudo = yield* Sockudo.Sockudo
 *   const c = yield* emulator.connect({ user: { id: "u1" } })
 *   yield* c.subscribe("presence-room", yield* sockudo.authorizeChannel(c.socketId, "presence-room", { user_id: "u1" }))
 *   yield* c.subscribe("private-orders") // no auth given: the emulator signs it
 *   return yield* c.events("presence-room")
 * }).pipe(Effect.scoped, Effect.provide(Emulator.layerTest()))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { AppRuntime, Outbox } from "./App.ts"
import type { CloseInfo, ConnectionState, ReceivedMessage, SignedInUser } from "./ConnectionState.ts"
import * as Names from "./Names.ts"

/**
 * A simulated client's request the server refused (bad signature, closed connection...).
 *
 * @since 0.1.0
 */
export class EmulatorClientError extends Data.TaggedError("EmulatorClientError")<{
  /** What the client tried (`"subscribe"`, `"signin"`...). */
  readonly operation: string
  /** Why the server refused it. */
  readonly message: string
}> {}

/**
 * How to open a connection.
 *
 * @since 0.1.0
 */
export interface ConnectOptions {
  /** The app (default: the emulator's first app). */
  readonly app?: string | undefined
  /**
   * Sign the connection in as this user at once, as if its `pusher:signin` had been signed by
   * the app's server. Needs the `userAuthentication` feature, like a real sign-in.
   */
  readonly user?: SignedInUser | undefined
  /** Protocol V2 connections receive message `extras`; V1 connections do not. Default 2. */
  readonly protocol?: 1 | 2 | undefined
  /**
   * The identity of a Protocol V2 capability token (revocable with `POST /revocations`). With a
   * revoked identity, or over Protocol V1, the connection is closed at once (4009), as the
   * server closes it.
   */
  readonly token?:
    | {
        /** The token's id, what `revocations.revoke({ jti })` names. */
        readonly jti?: string | undefined
        /** The token's client, also the connection's user; `revocations.revoke({ clientId })` names it. */
        readonly clientId?: string | undefined
      }
    | undefined
  /**
   * Called after each frame the connection receives and once it is closed (read `received` and
   * `closed` then), for a transport that forwards frames as they arrive. It runs inside the
   * emulator's own operations: it must not block or throw.
   */
  readonly onUpdate?: (() => void) | undefined
}

/**
 * How to subscribe. Give the `auth` (and `channel_data`) your app's server would return, and
 * the emulator checks it as the server does; give neither, and the emulator signs the
 * subscription itself (with `member` as the presence member).
 *
 * @since 0.1.0
 */
export interface SubscribeOptions {
  /** The `auth` your server's `authorizeChannel` returned. */
  readonly auth?: string | undefined
  /** Its `channel_data`, for presence channels. */
  readonly channel_data?: string | undefined
  /** The presence member when the emulator signs the subscription itself. */
  readonly member?:
    | {
        /** The member's id. */
        readonly user_id: string
        /** The member's info. */
        readonly user_info?: unknown
      }
    | undefined
}

/**
 * A simulated client connection.
 *
 * @since 0.1.0
 */
export interface Connection {
  /** The connection's socket id, as a client sends it to `authorizeChannel`. */
  readonly socketId: string
  /** The app the connection belongs to. */
  readonly appId: string
  /** `pusher:signin` with the `{ auth, user_data }` the SDK's `authenticateUser` returns. */
  readonly signin: (authentication: {
    /** `<key>:<signature>`. */
    readonly auth: string
    /** The signed user data JSON. */
    readonly user_data: string
  }) => Effect.Effect<void, EmulatorClientError>
  /** Subscribes, checked as the server checks it; fails when the server refuses. */
  readonly subscribe: (channel: string, options?: SubscribeOptions) => Effect.Effect<void, EmulatorClientError>
  /** Leaves a channel. */
  readonly unsubscribe: (channel: string) => Effect.Effect<void>
  /** Sends a client event (`client-...`) to the channel's other subscribers. */
  readonly trigger: (channel: string, event: string, data: unknown) => Effect.Effect<void, EmulatorClientError>
  /**
   * A Protocol V2 presence update (`sockudo:presence_update`) on a presence channel the
   * connection is a member of: its new `user_info`, told to the channel's V2 connections.
   */
  readonly presenceUpdate: (channel: string, userInfo: unknown) => Effect.Effect<void, EmulatorClientError>
  /** Closes the connection as a client would. */
  readonly disconnect: Effect.Effect<void>
  /**
   * Every message received, protocol messages included (`pusher:...`, `pusher_internal:...`; on
   * Protocol V2 `sockudo:...`, `sockudo_internal:...`).
   */
  readonly received: Effect.Effect<ReadonlyArray<ReceivedMessage>>
  /** Application events only (no protocol messages), optionally of one channel. */
  readonly events: (channel?: string) => Effect.Effect<ReadonlyArray<ReceivedMessage>>
  /** How the server closed the connection, once it has. */
  readonly closed: Effect.Effect<CloseInfo | undefined>
}

const isProtocol = (event: string) => /^(pusher|pusher_internal|sockudo|sockudo_internal):/.test(event)

const fail = (operation: string, message: string) => Effect.fail(new EmulatorClientError({ operation, message }))

/**
 * Opens a connection on `app`. `run` wraps each operation: it sets the outbox's time and
 * drains it afterwards.
 *
 * @since 0.1.0
 */
export const connect = (
  app: AppRuntime,
  options: ConnectOptions,
  outbox: Outbox,
  drain: Effect.Effect<void>
): Effect.Effect<Connection, EmulatorClientError> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const revoked = (id: string | undefined, kind: string) =>
      id !== undefined && (app.revocations.get(`${kind}:${id}`) ?? 0) > now
    if (options.user !== undefined && !app.features.userAuthentication) {
      return yield* fail("connect", "user authentication is not enabled for this app")
    }
    let socketId: string
    do {
      const high = yield* Random.nextIntBetween(0, 9_999_999_999)
      const low = yield* Random.nextIntBetween(0, 9_999_999_999)
      socketId = `${high}.${low}`
    } while (app.hub.connections.has(socketId))
    const protocol = options.protocol ?? 2
    const refusal =
      options.token === undefined
        ? undefined
        : protocol === 1
          ? "capability tokens require protocol V2"
          : revoked(options.token.jti, "jti") || revoked(options.token.clientId, "client")
            ? "capability token has been revoked"
            : undefined
    const state: ConnectionState =
      refusal === undefined
        ? app.hub.connect(socketId, protocol, options.token)
        : app.hub.refuse(socketId, protocol, options.token, { code: 4009, reason: `Authentication error: ${refusal}` })
    if (options.user !== undefined && state.closed === undefined) state.user = options.user
    state.onUpdate = options.onUpdate

    const run = <A>(f: (nowMs: number) => A): Effect.Effect<A> =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => {
        outbox.nowMs = nowMs
        const result = f(nowMs)
        return Effect.as(drain, result)
      })
    const orFail = (operation: string) => (error: string | undefined) =>
      error === undefined ? Effect.void : fail(operation, error)

    return {
      socketId,
      appId: app.credentials.id,
      signin: (authentication) =>
        Effect.flatMap(
          run(() => app.hub.signin(state, authentication.auth, authentication.user_data)),
          orFail("signin")
        ),
      subscribe: (channel, subscribe = {}) =>
        Effect.flatMap(
          run((nowMs) => {
            const given = subscribe.auth !== undefined
            const auth =
              given || !Names.needsAuth(channel)
                ? { auth: subscribe.auth, channel_data: subscribe.channel_data }
                : app.hub.authorize(state, channel, subscribe.member)
            return app.hub.subscribe(state, channel, auth, nowMs)
          }),
          orFail("subscribe")
        ),
      unsubscribe: (channel) => run((nowMs) => app.hub.unsubscribe(state, channel, nowMs, "disconnect")),
      trigger: (channel, event, data) =>
        Effect.flatMap(
          run((nowMs) => app.hub.clientEvent(state, channel, event, data, nowMs)),
          orFail("trigger")
        ),
      presenceUpdate: (channel, userInfo) =>
        Effect.flatMap(
          run((nowMs) => app.hub.presenceUpdate(state, channel, userInfo, nowMs)),
          orFail("presenceUpdate")
        ),
      disconnect: run((nowMs) =>
        app.hub.close(state, { code: 1000, reason: "client disconnected" }, nowMs, "disconnect")
      ),
      received: Effect.sync(() => state.received.slice()),
      events: (channel) =>
        Effect.sync(() =>
          state.received.filter((m) => !isProtocol(m.event) && (channel === undefined || m.channel === channel))
        ),
      closed: Effect.sync(() => state.closed)
    }
  })
