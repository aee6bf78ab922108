/**
 * Helpers for the end-to-end scenarios: the target server's settings, pusher-js clients that
 * record what they receive, a raw WebSocket client, a webhook receiver and polling waits.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import Pusher from "pusher-js"

/** The Pusher-protocol server under test, from the environment `run.sh` sets. */
export interface Target {
  /** Shown in the report: "soketi". */
  readonly name: string
  readonly host: string
  readonly port: number
  readonly appId: string
  readonly key: string
  readonly secret: string
  /** Port of the local webhook receiver the server was configured to call. */
  readonly webhookPort: number
}

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set (run the scenarios through e2e/run.sh)`)
  return value
}

export const targetFromEnv = (): Target => ({
  name: process.env.E2E_TARGET ?? "soketi",
  host: process.env.E2E_HOST ?? "127.0.0.1",
  port: Number(required("E2E_PORT")),
  appId: required("E2E_APP_ID"),
  key: required("E2E_APP_KEY"),
  secret: required("E2E_APP_SECRET"),
  webhookPort: Number(required("E2E_WEBHOOK_PORT"))
})

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs` naming what was awaited. */
export const waitUntil = async (
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

// ---------------------------------------------------------------------------------------------
// pusher-js

/** The parts of the pusher-js API the scenarios use (its Node entry ships no typings). */
export interface ChannelAuthorizationData {
  readonly auth: string
  readonly channel_data?: string
  readonly shared_secret?: string
}
export interface UserAuthenticationData {
  readonly auth: string
  readonly user_data: string
}
interface PusherChannel {
  readonly name: string
  readonly subscribed: boolean
  readonly members?: {
    readonly count: number
    readonly me: { readonly id: string; readonly info: unknown } | null
    each(callback: (member: { readonly id: string; readonly info: unknown }) => void): void
  }
  bind(event: string, callback: (data: any, metadata?: any) => void): void
  bind_global(callback: (event: string, data: any) => void): void
  trigger(event: string, data: unknown): boolean
}
interface PusherClient {
  readonly connection: {
    readonly state: string
    readonly socket_id: string
    bind(event: string, callback: (data: any) => void): void
  }
  readonly user: {
    readonly signinDonePromise: Promise<unknown> | null
    readonly user_data: unknown
    bind(event: string, callback: (data: any) => void): void
    bind_global(callback: (event: string, data: any) => void): void
  }
  subscribe(channel: string): PusherChannel
  allChannels(): Array<PusherChannel>
  unsubscribe(channel: string): void
  signin(): void
  disconnect(): void
}
interface PusherStatic {
  new (key: string, options: Record<string, unknown>): PusherClient
  log: ((message: string) => void) | undefined
}
const PusherJs = Pusher as unknown as PusherStatic

/** Everything pusher-js logged (its logger is global, not per client). */
export const pusherLog: Array<string> = []
PusherJs.log = (message: string) => {
  pusherLog.push(message)
}

/** Answers a client's channel authorization request (pusher-js `channelAuthorization.customHandler`). */
export type Authorizer = (socketId: string, channel: string) => Promise<ChannelAuthorizationData>
/** Answers a client's `pusher:signin` request (pusher-js `userAuthentication.customHandler`). */
export type Authenticator = (socketId: string) => Promise<UserAuthenticationData>

/** An event a client's application code was handed, in arrival order. */
export interface Received {
  readonly channel: string
  readonly event: string
  readonly data: unknown
}

/**
 * How a server refused a subscription: soketi sends `pusher:subscription_error` (pusher-js's
 * `AuthError` with the `status`), Sockudo a connection-level `pusher:error` (a `PusherError`
 * with the `code`, 4009) and no channel.
 */
export interface SubscriptionError {
  readonly type?: string
  readonly error?: string
  readonly status?: number
  readonly code?: number
}

/**
 * The event name of fences: a fence is an event published after the events under test; once a
 * client has it, the server has delivered to that client everything it published before (one
 * connection, delivered in order), so "nothing else arrived" is known without sleeping.
 */
export const FENCE_EVENT = "e2e-fence"

const noAuthorizer: Authorizer = () => Promise.reject(new Error("this client has no channel authorizer"))
const noAuthenticator: Authenticator = () => Promise.reject(new Error("this client has no user authenticator"))

/** A pusher-js client connected to the target, recording what it receives. */
export class Client {
  /** Non-`pusher:` events of every subscribed channel, as handed to application code, in order. */
  readonly received: Array<Received> = []
  /** Presence notifications: `member_added` / `member_removed` with the member. */
  readonly memberEvents: Array<{
    readonly channel: string
    readonly kind: string
    readonly id: string
    readonly info: unknown
  }> = []
  /** Events published to the signed-in user (`sendToUser`). */
  readonly userEvents: Array<{ readonly event: string; readonly data: unknown }> = []
  /** The connection's `error` events (server `pusher:error` messages, close codes). */
  readonly errors: Array<unknown> = []
  readonly states: Array<string> = []
  /** Every channel authorization request this client made: the socket id and channel. */
  readonly authorizations: Array<{ readonly socketId: string; readonly channel: string }> = []
  /** Ids of the fences this client received, on a channel or as a signed-in user. */
  readonly fences: Set<string> = new Set()
  readonly pusher: PusherClient
  readonly name: string

  private constructor(name: string, target: Target, authorize: Authorizer, authenticate: Authenticator) {
    this.name = name
    this.pusher = new PusherJs(target.key, {
      cluster: "e2e",
      wsHost: target.host,
      wsPort: target.port,
      forceTLS: false,
      enabledTransports: ["ws"],
      enableStats: false,
      channelAuthorization: {
        customHandler: (
          params: { socketId: string; channelName: string },
          callback: (error: Error | null, data: ChannelAuthorizationData | null) => void
        ) => {
          this.authorizations.push({ socketId: params.socketId, channel: params.channelName })
          authorize(params.socketId, params.channelName).then(
            (data) => callback(null, { ...data }),
            (error) => callback(error instanceof Error ? error : new Error(String(error)), null)
          )
        }
      },
      userAuthentication: {
        customHandler: (
          params: { socketId: string },
          callback: (error: Error | null, data: UserAuthenticationData | null) => void
        ) => {
          authenticate(params.socketId).then(
            (data) => callback(null, data),
            (error) => callback(error instanceof Error ? error : new Error(String(error)), null)
          )
        }
      }
    })
    this.pusher.connection.bind("state_change", (change: { current: string }) => this.states.push(change.current))
    this.pusher.connection.bind("error", (error: unknown) => this.errors.push(error))
    this.pusher.user.bind_global((event: string, data: unknown) => {
      if (event === FENCE_EVENT) this.fences.add((data as { id: string }).id)
    })
  }

  /** Connects and waits for `connected` (pusher-js then knows its socket id). */
  static async connect(
    name: string,
    target: Target,
    options: { readonly authorize?: Authorizer; readonly authenticate?: Authenticator } = {}
  ): Promise<Client> {
    const client = new Client(name, target, options.authorize ?? noAuthorizer, options.authenticate ?? noAuthenticator)
    await waitUntil(`${name} to connect`, () => {
      const state = client.pusher.connection.state
      if (state === "failed" || state === "unavailable") throw new Error(`${name} could not connect: ${state}`)
      return state === "connected"
    })
    return client
  }

  get socketId(): string {
    return this.pusher.connection.socket_id
  }

  get state(): string {
    return this.pusher.connection.state
  }

  private track(channel: PusherChannel): void {
    channel.bind_global((event: string, data: unknown) => {
      if (event === FENCE_EVENT) this.fences.add((data as { id: string }).id)
      else if (!event.startsWith("pusher:")) this.received.push({ channel: channel.name, event, data })
    })
    channel.bind("pusher:member_added", (member: { id: string; info: unknown }) =>
      this.memberEvents.push({ channel: channel.name, kind: "member_added", id: member.id, info: member.info })
    )
    channel.bind("pusher:member_removed", (member: { id: string; info: unknown }) =>
      this.memberEvents.push({ channel: channel.name, kind: "member_removed", id: member.id, info: member.info })
    )
  }

  /** Subscribes and waits for the server's answer: resolves on success, rejects with the server's error. */
  subscribe(name: string): Promise<PusherChannel> {
    return new Promise((resolve, reject) => {
      const errorsBefore = this.errors.length
      const channel = this.pusher.subscribe(name)
      const refused = (error: SubscriptionError) => {
        clearTimeout(timer)
        clearInterval(poll)
        reject(
          Object.assign(new Error(`${this.name}: subscription to ${name} refused: ${JSON.stringify(error)}`), { error })
        )
      }
      const timer = setTimeout(() => {
        clearInterval(poll)
        reject(new Error(`${this.name}: no answer to subscribing to ${name}`))
      }, 5_000)
      // A refusal as a connection-level `pusher:error` (Sockudo) names no channel: one arriving
      // while this subscription is pending is its answer.
      const poll = setInterval(() => {
        const error = this.errors.slice(errorsBefore).find((e) => (e as { type?: string }).type === "PusherError") as
          | { readonly type: string; readonly data?: { readonly code?: number; readonly message?: string } }
          | undefined
        if (error !== undefined) {
          refused({ type: error.type, code: error.data?.code ?? 0, error: error.data?.message ?? "" })
        }
      }, 10)
      channel.bind("pusher:subscription_succeeded", () => {
        clearTimeout(timer)
        clearInterval(poll)
        resolve(channel)
      })
      channel.bind("pusher:subscription_error", refused)
      this.track(channel)
    })
  }

  /** Subscribes expecting a refusal; resolves with what the server (or pusher-js) said. */
  async subscribeRefused(name: string): Promise<SubscriptionError> {
    try {
      await this.subscribe(name)
    } catch (e) {
      const error = (e as { error?: SubscriptionError }).error
      if (error !== undefined) {
        this.pusher.unsubscribe(name)
        return error
      }
      throw e
    }
    throw new Error(`${this.name}: subscribing to ${name} succeeded, but a refusal was expected`)
  }

  /** Signs in (pusher-js `signin()`), waiting for the server's `pusher:signin_success`. */
  async signin(): Promise<void> {
    this.pusher.signin()
    await waitUntil(`${this.name} to sign in`, () => this.pusher.user.user_data != null)
  }

  /** Listens to events sent to the signed-in user. */
  listenAsUser(event: string): void {
    this.pusher.user.bind(event, (data: unknown) => this.userEvents.push({ event, data }))
  }

  /** Error codes the connection reported (`pusher:error` messages and WebSocket close codes). */
  errorCodes(): Array<number> {
    const codes: Array<number> = []
    const walk = (value: unknown): void => {
      if (typeof value !== "object" || value === null) return
      const record = value as Record<string, unknown>
      if (typeof record.code === "number") codes.push(record.code)
      for (const key of ["data", "error"]) walk(record[key])
    }
    for (const error of this.errors) walk(error)
    return codes
  }

  /** A channel this client is subscribed to, for fences: an unencrypted one when there is one. */
  fenceChannel(): string {
    const subscribed = this.pusher
      .allChannels()
      .filter((c) => c.subscribed)
      .map((c) => c.name)
    const channel = subscribed.find((name) => !name.startsWith("private-encrypted-")) ?? subscribed[0]
    if (channel === undefined) throw new Error(`${this.name} is subscribed to no channel, so it cannot be fenced`)
    return channel
  }

  eventsOn(channel: string): Array<Received> {
    return this.received.filter((r) => r.channel === channel)
  }

  disconnect(): void {
    if (this.state !== "disconnected") this.pusher.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket client: sees the frames exactly as the server sent them.

export interface Frame {
  readonly event: string
  readonly channel?: string
  readonly data?: unknown
}

export class RawClient {
  readonly frames: Array<Frame> = []
  socketId = ""
  private readonly socket: WebSocket

  private constructor(socket: WebSocket) {
    this.socket = socket
  }

  static async connect(target: Target): Promise<RawClient> {
    const url = `ws://${target.host}:${target.port}/app/${target.key}?protocol=7&client=e2e-raw&version=1.0.0`
    const client = new RawClient(new WebSocket(url))
    client.socket.addEventListener("message", (message) => {
      const frame = JSON.parse(String(message.data)) as Frame
      client.frames.push(frame)
      if (frame.event === "pusher:connection_established") {
        client.socketId = (JSON.parse(String(frame.data)) as { socket_id: string }).socket_id
      }
    })
    await waitUntil("the raw client to connect", () => client.socketId !== "")
    return client
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame))
  }

  close(): void {
    this.socket.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver

export interface Delivery {
  readonly headers: IncomingHttpHeaders
  /** The body exactly as received. */
  readonly body: Uint8Array
  readonly receivedAt: number
}

export interface WebhookReceiver {
  readonly deliveries: Array<Delivery>
  readonly port: number
  close(): Promise<void>
}

/** Listens on 127.0.0.1:port and answers every POST with 200, keeping the raw body. */
export const startWebhookReceiver = (port: number): Promise<WebhookReceiver> =>
  new Promise((resolve, reject) => {
    const deliveries: Array<Delivery> = []
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        deliveries.push({
          headers: request.headers,
          body: new Uint8Array(Buffer.concat(chunks)),
          receivedAt: Date.now()
        })
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      resolve({
        deliveries,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
