/**
 * The emulator's WebSocket endpoint, served by `layerServer` (`effect-sockudo/testing/node`) at
 * `ws://127.0.0.1:<port>/app/<key>`, so that real clients (pusher-js in Node or in a browser, any Pusher-protocol client) connect to
 * the emulator as they connect to the server. `?protocol=2` selects Sockudo's Protocol V2 frame
 * names; anything else is Protocol V1 (pusher-js sends `protocol=7`).
 *
 * Each socket is one simulated connection (`emulator.connect`), so everything the emulator does
 * for connections holds: the same signature checks, presence members, webhooks, user channels,
 * closes by `terminate_connections`. The client's frames are mapped to the connection's
 * operations: `pusher:subscribe`, `pusher:unsubscribe`, `pusher:signin`, `client-` events and
 * `pusher:ping` (answered `pusher:pong`). A refused subscription, sign-in or client event is
 * answered, as Sockudo 5.0.1 answers it, with a `pusher:error` that names no channel (code 4009,
 * 4301 for client events) and the connection stays open. An unknown app key gets `pusher:error`
 * 4001 and the close 4001. Other frames are ignored.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import { isObject } from "./Admission.ts"
import type { Connection } from "./Client.ts"
import { wireEvent } from "./Connections.ts"
import type { Service } from "./EmulatorService.ts"
import * as Names from "./Names.ts"

const APP_PATH = /^\/app\/([^/]+)$/

/**
 * The app key of a WebSocket upgrade request to `/app/<key>`; `undefined` for other requests.
 *
 * @since 0.1.0
 */
export const upgradeKey = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  if (request.headers.upgrade?.toLowerCase() !== "websocket") return undefined
  const match = APP_PATH.exec(new URL(request.url, "http://emulator").pathname)
  if (match === null) return undefined
  try {
    return decodeURIComponent(match[1]!)
  } catch {
    return undefined
  }
}

/** What the socket's writer sends next: the connection's new frames (and its close), or one frame. */
type Outgoing = { readonly _tag: "Flush" } | { readonly _tag: "Frame"; readonly frame: Frame }

/** A frame the endpoint writes itself, its event under its Protocol V1 name. */
interface Frame {
  readonly event: string
  readonly data?: unknown
}

const flush: Outgoing = { _tag: "Flush" }

const parseData = (data: unknown): unknown => {
  if (typeof data !== "string") return data
  try {
    return JSON.parse(data)
  } catch {
    return data
  }
}

/** A client frame as the connection's operation, or `undefined` for frames that are ignored. */
const dispatch = (
  connection: Connection,
  frame: Readonly<Record<string, unknown>>,
  reply: (frame: Frame) => void,
  refuse: (code: number, message: string) => void
): Effect.Effect<void> | undefined => {
  if (typeof frame.event !== "string") return undefined
  const event = frame.event.replace(/^sockudo(_internal)?:/, "pusher$1:")
  const data = parseData(frame.data)
  const fields = isObject(data) ? data : {}
  const refused = (code: number) => (error: { readonly message: string }) =>
    Effect.sync(() => refuse(code, error.message))
  switch (event) {
    case "pusher:ping":
      return Effect.sync(() => reply({ event: "pusher:pong" }))
    case "pusher:subscribe": {
      const channel = fields.channel
      if (typeof channel !== "string") return Effect.sync(() => refuse(4009, "subscribe needs a channel"))
      const auth = typeof fields.auth === "string" ? fields.auth : Names.needsAuth(channel) ? "" : undefined
      const channelData = typeof fields.channel_data === "string" ? fields.channel_data : undefined
      return connection
        .subscribe(channel, { auth, channel_data: channelData })
        .pipe(Effect.catchTag("EmulatorClientError", refused(4009)))
    }
    case "pusher:unsubscribe":
      return typeof fields.channel === "string" ? connection.unsubscribe(fields.channel) : undefined
    case "pusher:signin": {
      const auth = typeof fields.auth === "string" ? fields.auth : ""
      const userData = typeof fields.user_data === "string" ? fields.user_data : ""
      return connection
        .signin({ auth, user_data: userData })
        .pipe(Effect.catchTag("EmulatorClientError", refused(4009)))
    }
    default:
      if (!event.startsWith("client-") || typeof frame.channel !== "string") return undefined
      return connection
        .trigger(frame.channel, event, frame.data)
        .pipe(Effect.catchTag("EmulatorClientError", refused(4301)))
  }
}

/**
 * Serves one WebSocket connection of app `key` until either side closes it.
 *
 * @since 0.1.0
 */
export const serve = (
  emulator: Service,
  request: HttpServerRequest.HttpServerRequest,
  key: string
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> =>
  Effect.gen(function* () {
    const protocol: 1 | 2 = new URL(request.url, "http://emulator").searchParams.get("protocol") === "2" ? 2 : 1
    const socket = yield* request.upgrade
    const pull = yield* Socket.readerString(socket)
    const writer = yield* socket.writer
    const onWire = (frame: Frame) => JSON.stringify({ ...frame, event: wireEvent(protocol, frame.event) })
    const errorFrame = (code: number, message: string): Frame => ({ event: "pusher:error", data: { code, message } })
    const app = emulator.apps.find((a) => a.key === key)
    if (app === undefined) {
      yield* writer.write(onWire(errorFrame(4001, "Application does not exist")))
      yield* writer.write(new Socket.CloseEvent(4001, "Application does not exist"))
      return HttpServerResponse.empty()
    }
    const outbox = yield* Queue.unbounded<Outgoing>()
    const connection = yield* emulator.connect({
      app: app.id,
      protocol,
      onUpdate: () => Queue.offerUnsafe(outbox, flush)
    })
    const reply = (frame: Frame) => Queue.offerUnsafe(outbox, { _tag: "Frame", frame })
    const refuse = (code: number, message: string) => reply(errorFrame(code, message))

    // One writer, so frames leave in the order the connection received them.
    let sent = 0
    const write: Effect.Effect<boolean, Socket.SocketError> = Effect.gen(function* () {
      const next = yield* Queue.take(outbox)
      if (next._tag === "Frame") {
        yield* writer.write(onWire(next.frame))
        return true
      }
      const received = yield* connection.received
      for (; sent < received.length; sent++) yield* writer.write(JSON.stringify(received[sent]))
      const closed = yield* connection.closed
      if (closed === undefined) return true
      yield* writer.write(new Socket.CloseEvent(closed.code, closed.reason))
      return false
    })
    let open = true
    yield* Effect.forkScoped(
      Effect.whileLoop({
        while: () => open,
        body: () => write,
        step: (more) => {
          open = more
        }
      })
    )
    Queue.offerUnsafe(outbox, flush)

    const read: Effect.Effect<void, Socket.SocketError> = Effect.flatMap(pull, (texts) =>
      Effect.forEach(
        texts,
        (text) => {
          let frame: unknown
          try {
            frame = JSON.parse(text)
          } catch {
            return Effect.void
          }
          return (isObject(frame) && dispatch(connection, frame, reply, refuse)) || Effect.void
        },
        { discard: true }
      )
    )
    yield* Effect.forever(read).pipe(Effect.catchTag("SocketError", () => connection.disconnect))
    return HttpServerResponse.empty()
  }).pipe(Effect.catch(() => Effect.succeed(HttpServerResponse.empty({ status: 400 }))))
