/**
 * Client connections, one interface over two peers: a raw Pusher-protocol WebSocket client of
 * the real server (every frame recorded exactly as it arrived), and the emulator's simulated
 * connections. Scenarios written against `PeerClient` run unchanged on both.
 */
import { createHmac } from "node:crypto"
import * as Effect from "effect/Effect"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import type { Sockudo } from "../../../src/index.ts"
import { Emulator } from "../../../src/testing/index.ts"

/** A message a client received: the server's frame, `data` parsed only when the frame's `data` was a JSON string. */
export interface Frame {
  readonly event: string
  readonly channel?: string | undefined
  readonly data?: unknown
  readonly user_id?: string | undefined
  readonly [field: string]: unknown
}

/** How the server closed a connection. */
export interface Closed {
  readonly code: number
  readonly reason: string
}

/** Whether a subscription or sign-in was accepted; a refusal carries the server's words. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

export interface PeerClient {
  readonly socketId: string
  /** Subscribes with the auth an app server would hand out (none for public channels). */
  readonly subscribe: (channel: string, auth?: Sockudo.ChannelAuthorization) => Promise<Outcome>
  readonly signin: (auth: Sockudo.UserAuthentication) => Promise<Outcome>
  /** A client event (`client-...`). */
  readonly trigger: (channel: string, event: string, data: unknown) => Promise<void>
  /** A Protocol V2 presence update (`sockudo:presence_update`): the member's new `user_info`. */
  readonly presenceUpdate: (channel: string, userInfo: unknown) => Promise<void>
  readonly unsubscribe: (channel: string) => Promise<void>
  readonly disconnect: () => Promise<void>
  /** Application events received (no `pusher:`, `pusher_internal:`, `sockudo:` or `sockudo_internal:` frames). */
  readonly events: (channel?: string) => ReadonlyArray<Frame>
  /** Every frame received. */
  readonly frames: () => ReadonlyArray<Frame>
  /** Waits until `check` holds for the frames received; fails after `timeoutMs`. */
  readonly waitFor: (
    what: string,
    check: (frames: ReadonlyArray<Frame>) => boolean,
    timeoutMs?: number
  ) => Promise<void>
  /** How the server closed the connection, once it has (waits up to `timeoutMs`). */
  readonly closed: (timeoutMs?: number) => Promise<Closed>
}

const protocolEvent = /^(pusher|pusher_internal|sockudo|sockudo_internal):/

/** A frame as the client sees it: `data` parsed when it is a JSON string (as pusher-js does). */
export const toFrame = (raw: object): Frame => {
  const fields = raw as Readonly<Record<string, unknown>>
  let data = fields.data
  if (typeof data === "string") {
    try {
      data = JSON.parse(data)
    } catch {
      // a plain string: kept as it is
    }
  }
  return { ...fields, data } as Frame
}

export const applicationEvents = (frames: ReadonlyArray<Frame>, channel?: string): ReadonlyArray<Frame> =>
  frames.filter((f) => !protocolEvent.test(f.event) && (channel === undefined || f.channel === channel))

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs` naming what was awaited. */
export const waitUntil = async (what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

// ---------------------------------------------------------------------------------------------
// The real server: a raw WebSocket client speaking the Pusher protocol (V1) or Sockudo's V2.

/** The identity of a Protocol V2 capability token: its id and the connection's client id. */
export interface TokenIdentity {
  readonly jti: string
  readonly clientId: string
}

export interface RawOptions {
  readonly host: string
  readonly port: number
  readonly key: string
  readonly protocol?: 1 | 2 | undefined
  /** Connect (over V2) with a capability token for this identity, signed with `secret`. */
  readonly token?: (TokenIdentity & { readonly secret: string }) | undefined
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url")

/**
 * A Protocol V2 capability token as the server verifies it: an HS256 JWT signed with the app
 * secret, `kid` = the app key, allowed everything on every channel for an hour.
 */
export const capabilityToken = (key: string, secret: string, identity: TokenIdentity): string => {
  const now = Math.floor(Date.now() / 1000)
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: key }))
  const claims = base64url(
    JSON.stringify({
      "x-sockudo-capability": { "*": ["subscribe", "publish", "history", "presence"] },
      "x-sockudo-client-id": identity.clientId,
      iat: now,
      exp: now + 3600,
      jti: identity.jti
    })
  )
  const signature = createHmac("sha256", secret).update(`${header}.${claims}`).digest("base64url")
  return `${header}.${claims}.${signature}`
}

export const connectRaw = async (options: RawOptions): Promise<PeerClient> => {
  const v2 = options.protocol === 2 || options.token !== undefined
  const prefix = v2 ? "sockudo:" : "pusher:"
  const internal = v2 ? "sockudo_internal:" : "pusher_internal:"
  const token =
    options.token === undefined
      ? ""
      : `&token=${encodeURIComponent(capabilityToken(options.key, options.token.secret, options.token))}`
  const query = v2 ? `protocol=2${token}` : "protocol=7&client=effect-sockudo-test&version=1.0.0"
  const socket = new WebSocket(`ws://${options.host}:${options.port}/app/${options.key}?${query}`)
  const frames: Array<Frame> = []
  let socketId = ""
  let closed: Closed | undefined
  let failed: string | undefined
  socket.addEventListener("message", (message) => {
    const frame = toFrame(JSON.parse(String(message.data)) as Record<string, unknown>)
    frames.push(frame)
    if (frame.event === `${prefix}connection_established`) socketId = (frame.data as { socket_id: string }).socket_id
    if (frame.event === `${prefix}ping`) socket.send(JSON.stringify({ event: `${prefix}pong`, data: {} }))
  })
  socket.addEventListener("close", (event) => {
    closed = { code: event.code, reason: event.reason }
  })
  socket.addEventListener("error", () => {
    failed ??= "the WebSocket failed"
  })
  await waitUntil("the WebSocket connection", () => {
    if (closed !== undefined || failed !== undefined) {
      throw new Error(`could not connect: ${failed ?? `closed ${closed?.code} ${closed?.reason}`}`)
    }
    return socketId !== ""
  })
  const send = (event: string, data: unknown, channel?: string) =>
    socket.send(JSON.stringify(channel === undefined ? { event, data } : { event, channel, data }))

  /** Waits for the first frame from index `from` on that `accept`s or `refuse`s. */
  const answer = async (
    from: number,
    what: string,
    accept: (f: Frame) => boolean,
    refuse: (f: Frame) => boolean
  ): Promise<Outcome> => {
    let outcome: Outcome | undefined
    await waitUntil(what, () => {
      for (let i = from; i < frames.length && outcome === undefined; i++) {
        const f = frames[i]!
        if (accept(f)) outcome = { ok: true }
        else if (refuse(f)) outcome = { ok: false, error: JSON.stringify(f.data) }
      }
      if (outcome === undefined && closed !== undefined) outcome = { ok: false, error: `closed ${closed.code}` }
      return outcome !== undefined
    })
    return outcome!
  }

  const client: PeerClient = {
    socketId,
    subscribe: (channel, auth) => {
      const from = frames.length
      send(`${prefix}subscribe`, { channel, ...auth })
      return answer(
        from,
        `the answer to subscribing to ${channel}`,
        (f) => f.event === `${internal}subscription_succeeded` && f.channel === channel,
        (f) =>
          (f.event === `${prefix}subscription_error` && (f.channel === undefined || f.channel === channel)) ||
          f.event === `${prefix}error`
      )
    },
    signin: (auth) => {
      const from = frames.length
      send(`${prefix}signin`, auth)
      return answer(
        from,
        "the answer to signing in",
        (f) => f.event === `${prefix}signin_success`,
        (f) => f.event === `${prefix}error`
      )
    },
    trigger: async (channel, event, data) => {
      send(event, data, channel)
    },
    // `data` as a JSON string: Sockudo 5.0.1 reads `channel` from an object `data` into a field
    // of its own, and then refuses the update ("presence_update channel is required").
    presenceUpdate: async (channel, userInfo) => {
      send(`${prefix}presence_update`, JSON.stringify({ channel, data: userInfo }))
    },
    unsubscribe: async (channel) => {
      send(`${prefix}unsubscribe`, { channel })
    },
    disconnect: async () => {
      if (closed === undefined) {
        socket.close()
        await waitUntil("the WebSocket to close", () => closed !== undefined).catch(() => undefined)
      }
    },
    events: (channel) => applicationEvents(frames, channel),
    frames: () => frames,
    waitFor: (what, check, timeoutMs) => waitUntil(what, () => check(frames), timeoutMs),
    closed: async (timeoutMs = 5_000) => {
      await waitUntil("the server to close the connection", () => closed !== undefined, timeoutMs)
      return closed!
    }
  }
  return client
}

// ---------------------------------------------------------------------------------------------
// The emulator: its simulated connections, as Promises.

export const connectEmulated = async (
  runtime: ManagedRuntime.ManagedRuntime<Emulator.Emulator, unknown>,
  options: Emulator.ConnectOptions
): Promise<PeerClient> => {
  const run = <A, E>(effect: Effect.Effect<A, E, Emulator.Emulator>) => runtime.runPromise(effect)
  const emulator = await run(Effect.service(Emulator.Emulator))
  const connection = await run(emulator.connect(options))
  const refused = runtime.runSync(connection.closed)
  if (refused !== undefined) throw new Error(`could not connect: closed ${refused.code} ${refused.reason}`)
  const outcome = <E>(effect: Effect.Effect<void, E>): Promise<Outcome> =>
    runtime.runPromise(
      Effect.match(effect, {
        onSuccess: () => ({ ok: true }) as const,
        onFailure: (e) => ({ ok: false, error: String((e as { message?: string }).message ?? e) }) as const
      })
    )
  // The emulator answers synchronously: its frames are there as soon as an operation returns.
  const frames = (): ReadonlyArray<Frame> => runtime.runSync(connection.received).map(toFrame)
  return {
    socketId: connection.socketId,
    subscribe: (channel, auth) =>
      outcome(
        connection.subscribe(channel, auth === undefined ? {} : { auth: auth.auth, channel_data: auth.channel_data })
      ),
    signin: (auth) => outcome(connection.signin(auth)),
    trigger: (channel, event, data) => run(connection.trigger(channel, event, data)),
    presenceUpdate: (channel, userInfo) => run(connection.presenceUpdate(channel, userInfo)),
    unsubscribe: (channel) => run(connection.unsubscribe(channel)),
    disconnect: () => run(connection.disconnect),
    events: (channel) => applicationEvents(frames(), channel),
    frames,
    waitFor: (what, check, timeoutMs) => waitUntil(what, () => check(frames()), timeoutMs),
    closed: async (timeoutMs = 5_000) => {
      const info = () => runtime.runSync(connection.closed)
      await waitUntil("the server to close the connection", () => info() !== undefined, timeoutMs)
      return info()!
    }
  }
}
