import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Sockudo } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as EmulatorNode from "../../../src/testing/Node.ts"
import { connectRaw, type Frame, waitUntil } from "../../sockudo/support/clients.ts"

// The emulator's WebSocket endpoint, driven by the same raw Pusher-protocol client the real-server
// suite uses against Sockudo (test/sockudo/support/clients.ts): every frame as it arrived.

const Live = Sockudo.layer.pipe(
  Layer.provideMerge(Emulator.layerSockudoConfig()),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(EmulatorNode.layerServer),
  Layer.provideMerge(Emulator.layer({ features: { userAuthentication: true } }))
)

let runtime: ManagedRuntime.ManagedRuntime<Sockudo.Sockudo | Emulator.Emulator | Emulator.EmulatorServer, unknown>
let port = 0
const sdk = <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) =>
  runtime.runPromise(Effect.flatMap(Effect.service(Sockudo.Sockudo), f))
const connect = (protocol?: 1 | 2) => connectRaw({ host: "127.0.0.1", port, key: Emulator.defaultApp.key, protocol })

/** Opens a socket and records every frame and the close, without waiting for the handshake. */
const rawSocket = (path: string) => {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`)
  const frames: Array<unknown> = []
  let closed: { code: number; reason: string } | undefined
  socket.addEventListener("message", (m) => frames.push(JSON.parse(String(m.data))))
  socket.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason }
  })
  return { socket, frames, closed: () => closed }
}

beforeAll(async () => {
  runtime = ManagedRuntime.make(Live)
  port = (await runtime.runPromise(Effect.service(Emulator.EmulatorServer))).port
})
afterAll(() => runtime.dispose())

describe("the emulator's WebSocket endpoint (/app/<key>)", () => {
  it("greets with pusher:connection_established and a socket id, as the server does", async () => {
    const s = rawSocket(`/app/${Emulator.defaultApp.key}?protocol=7&client=js&version=8.6.0`)
    await waitUntil("the greeting", () => s.frames.length > 0)
    const greeting = s.frames[0] as { event: string; data: string }
    expect(greeting.event).toBe("pusher:connection_established")
    expect(typeof greeting.data).toBe("string")
    expect(JSON.parse(greeting.data)).toEqual({ socket_id: expect.stringMatching(/^\d+\.\d+$/), activity_timeout: 120 })
    s.socket.close()
  })

  it("refuses an unknown app key with pusher:error 4001 and the close 4001", async () => {
    const s = rawSocket("/app/no-such-key?protocol=7")
    await waitUntil("the close", () => s.closed() !== undefined)
    expect(s.frames).toEqual([{ event: "pusher:error", data: { code: 4001, message: "Application does not exist" } }])
    expect(s.closed()).toEqual({ code: 4001, reason: "Application does not exist" })
  })

  it("delivers events published by the SDK to public and private subscriptions", async () => {
    const client = await connect()
    expect(await client.subscribe("ws-orders")).toEqual({ ok: true })
    const auth = await sdk((s) => s.authorizeChannel(client.socketId, "private-ws-orders"))
    expect(await client.subscribe("private-ws-orders", auth)).toEqual({ ok: true })
    await sdk((s) => s.trigger(["ws-orders", "private-ws-orders"], "order.created", { id: "ord_1" }))
    await client.waitFor("both events", (frames) => frames.filter((f) => f.event === "order.created").length === 2)
    expect(client.events()).toEqual([
      { event: "order.created", channel: "ws-orders", data: { id: "ord_1" } },
      { event: "order.created", channel: "private-ws-orders", data: { id: "ord_1" } }
    ])
    await client.disconnect()
  })

  it("answers a bad signature with a pusher:error 4009 naming no channel, and keeps the connection open", async () => {
    const client = await connect()
    const other = await connect()
    const auth = await sdk((s) => s.authorizeChannel(other.socketId, "private-ws-other"))
    const outcome = await client.subscribe("private-ws-other", auth)
    expect(outcome).toEqual({
      ok: false,
      error: JSON.stringify({ code: 4009, message: "Invalid signature for private-ws-other" })
    })
    const refusal = client.frames().find((f) => f.event === "pusher:error")
    expect(refusal).toEqual({
      event: "pusher:error",
      data: { code: 4009, message: "Invalid signature for private-ws-other" }
    })
    // no auth at all is refused the same way
    expect((await client.subscribe("private-ws-other")).ok).toBe(false)
    // still open: a ping is answered
    const before = client.frames().length
    expect((await ping(client)).slice(before)).toContainEqual({ event: "pusher:pong" })
    await client.disconnect()
    await other.disconnect()
  })

  it("presence: the member list as signed, and member_added / member_removed to the others", async () => {
    const channel = "presence-ws-room"
    const ada = await connect()
    const adaAuth = await sdk((s) =>
      s.authorizeChannel(ada.socketId, channel, { user_id: "ada", user_info: { name: "Ada" } })
    )
    expect(await ada.subscribe(channel, adaAuth)).toEqual({ ok: true })
    const grace = await connect()
    const graceAuth = await sdk((s) => s.authorizeChannel(grace.socketId, channel, { user_id: "grace" }))
    expect(await grace.subscribe(channel, graceAuth)).toEqual({ ok: true })
    const succeeded = grace.frames().find((f) => f.event === "pusher_internal:subscription_succeeded")
    expect(succeeded).toEqual({
      event: "pusher_internal:subscription_succeeded",
      channel,
      data: { presence: { ids: ["ada", "grace"], hash: { ada: { name: "Ada" }, grace: null }, count: 2 } }
    })
    await ada.waitFor("member_added", (frames) => frames.some((f) => f.event === "pusher_internal:member_added"))
    expect(ada.frames().find((f) => f.event === "pusher_internal:member_added")).toEqual({
      event: "pusher_internal:member_added",
      channel,
      data: { user_id: "grace" }
    })
    expect(await sdk((s) => s.channels.users(channel))).toEqual({ users: [{ id: "ada" }, { id: "grace" }] })
    await grace.disconnect()
    await ada.waitFor("member_removed", (frames) => frames.some((f) => f.event === "pusher_internal:member_removed"))
    expect(await sdk((s) => s.channels.users(channel))).toEqual({ users: [{ id: "ada" }] })
    await ada.disconnect()
  })

  it("client events reach the channel's other subscribers, not the sender", async () => {
    const channel = "private-ws-chat"
    const a = await connect()
    const b = await connect()
    for (const c of [a, b]) {
      expect(await c.subscribe(channel, await sdk((s) => s.authorizeChannel(c.socketId, channel)))).toEqual({
        ok: true
      })
    }
    await a.trigger(channel, "client-typing", { who: "a" })
    await b.waitFor("the client event", (frames) => frames.some((f) => f.event === "client-typing"))
    expect(b.events(channel)).toEqual([{ event: "client-typing", channel, data: { who: "a" } }])
    expect(a.events(channel)).toEqual([])
    await a.disconnect()
    await b.disconnect()
  })

  it("sign-in, sendToUser, and terminateConnections closing the socket with 4009 after its pusher:error", async () => {
    const client = await connect()
    const authentication = await sdk((s) => s.authenticateUser(client.socketId, { id: "ws-user" }))
    expect(await client.signin(authentication)).toEqual({ ok: true })
    expect(client.frames().find((f) => f.event === "pusher:signin_success")).toEqual({
      event: "pusher:signin_success",
      data: { user_data: authentication.user_data }
    })
    await sdk((s) => s.sendToUser("ws-user", "notice", { body: "hi" }))
    await client.waitFor("the user event", (frames) => frames.some((f) => f.event === "notice"))
    expect(client.events()).toEqual([{ event: "notice", channel: "#server-to-user-ws-user", data: { body: "hi" } }])
    await sdk((s) => s.users.terminateConnections("ws-user"))
    expect(await client.closed()).toEqual({ code: 4009, reason: "You got disconnected by the app." })
    expect(client.frames().at(-1)).toEqual({
      event: "pusher:error",
      data: { code: 4009, message: "You got disconnected by the app." }
    })
  })

  it("a socket the client closes leaves its channels", async () => {
    const client = await connect()
    expect(await client.subscribe("ws-leaving")).toEqual({ ok: true })
    expect(await sdk((s) => s.channels.get("ws-leaving", { info: ["subscription_count"] }))).toEqual({
      occupied: true,
      subscription_count: 1
    })
    await client.disconnect()
    let state: unknown
    await waitUntilAsync(async () => {
      state = await sdk((s) => s.channels.get("ws-leaving"))
      return (state as { occupied: boolean }).occupied === false
    })
    expect(state).toEqual({ occupied: false })
  })

  it("Protocol V2 (?protocol=2) speaks under sockudo: names", async () => {
    const client = await connect(2)
    expect(client.frames()[0]?.event).toBe("sockudo:connection_established")
    expect(await client.subscribe("ws-v2")).toEqual({ ok: true })
    expect(client.frames().map((f) => f.event)).toEqual([
      "sockudo:connection_established",
      "sockudo_internal:subscription_succeeded"
    ])
    await client.disconnect()
  })
})

/** Sends `pusher:ping` (a frame without channel) and returns the client's frames once the pong arrived. */
const ping = async (client: Awaited<ReturnType<typeof connect>>): Promise<ReadonlyArray<Frame>> => {
  const before = client.frames().length
  await client.trigger(undefined as unknown as string, "pusher:ping", {})
  await client.waitFor("the pong", (frames) => frames.slice(before).some((f) => f.event === "pusher:pong"))
  return client.frames()
}

const waitUntilAsync = async (check: () => Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
