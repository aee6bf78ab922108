import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { Sockudo } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as Faults from "../../../src/testing/emulator/Faults.ts"
import * as EmulatorNode from "../../../src/testing/Node.ts"

/** The SDK over undici, talking to the emulator on a real loopback port. */
const Live = Sockudo.layer.pipe(
  Layer.provideMerge(Emulator.layerSockudoConfig({ retry: Schedule.recurs(3) })),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(EmulatorNode.layerServer),
  Layer.provideMerge(Emulator.layer({ features: { userAuthentication: true } }))
)

const fetchText = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

layer(Live, { timeout: "30 seconds" })("the SDK against the emulator on a loopback port", (it) => {
  it.effect("serves on 127.0.0.1 and answers unknown paths in plain text", () =>
    Effect.gen(function* () {
      const server = yield* Emulator.EmulatorServer
      assert.match(server.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      const answer = yield* fetchText(`${server.baseUrl}/nope`)
      expect(answer).toMatchObject({ status: 404, text: "404 NOT FOUND" })
    })
  )

  it.effect("trigger and triggerBatch reach subscribers, on channels whose names need percent-encoding", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const channel = "presence-room=1@a_b-c.d"
      const client = yield* emulator.connect()
      yield* client.subscribe(channel, yield* sockudo.authorizeChannel(client.socketId, channel, { user_id: "u-1" }))
      const receipt = yield* sockudo.trigger(channel, "hello", { a: 1 }, { info: ["user_count", "subscription_count"] })
      expect(receipt.channels[channel]).toMatchObject({ user_count: 1, subscription_count: 1 })
      yield* sockudo.triggerBatch([
        { channel, name: "one", data: "1" },
        { channel, name: "two", data: "2" }
      ])
      expect((yield* client.events(channel)).map((m) => [m.event, m.data])).toEqual([
        ["hello", '{"a":1}'],
        ["one", "1"],
        ["two", "2"]
      ])
      expect(yield* sockudo.channels.get(channel, { info: ["user_count", "subscription_count"] })).toEqual({
        occupied: true,
        user_count: 1,
        subscription_count: 1
      })
      expect(yield* sockudo.channels.users(channel)).toEqual({ users: [{ id: "u-1" }] })
      expect(
        (yield* sockudo.channels.list({ filterByPrefix: "presence-room=", info: ["user_count"] })).channels
      ).toEqual({
        [channel]: { user_count: 1 }
      })
      yield* client.disconnect
    })
  )

  it.effect("sendToUser, a user channel's state, terminateConnections and forceReconnect", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const user = "user/with spaces"
      const a = yield* emulator.connect()
      yield* a.signin(yield* sockudo.authenticateUser(a.socketId, { id: "u1" }))
      const b = yield* emulator.connect({ user: { id: user } })
      yield* sockudo.sendToUser("u1", "notice", { x: 1 })
      expect(yield* a.events()).toEqual([{ event: "notice", channel: "#server-to-user-u1", data: '{"x":1}' }])
      expect(yield* sockudo.channels.get("#server-to-user-u1")).toEqual({ occupied: false })
      yield* sockudo.users.terminateConnections(user)
      expect(yield* b.closed).toMatchObject({ code: 4009 })
      yield* sockudo.users.forceReconnect("u1")
      expect(yield* a.closed).toMatchObject({ code: 4200 })
    })
  )

  it.effect("signedUrl gives URLs the server accepts, for GET and for POST with a body", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emulator.connect()
      yield* client.subscribe("signed-channel")
      const get = yield* sockudo.signedUrl("GET", "/channels", {
        filter_by_prefix: "signed-",
        info: "subscription_count"
      })
      const listed = yield* fetchText(get)
      expect(listed).toMatchObject({ status: 200 })
      expect(JSON.parse(listed.text)).toEqual({ channels: { "signed-channel": { subscription_count: 1 } } })
      assert.strictEqual(listed.headers.get("connection"), "close")
      const body = { name: "via-url", channel: "signed-channel", data: "d" }
      const url = yield* sockudo.signedUrl("POST", "/events", {}, body)
      const posted = yield* fetchText(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body)
      })
      expect(posted).toMatchObject({ status: 200, text: '{"ok":true}' })
      expect((yield* client.events()).map((m) => m.event)).toEqual(["via-url"])
      const tampered = yield* fetchText(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...body, data: "other" })
      })
      expect(JSON.parse(tampered.text)).toEqual({ error: "body_md5 mismatch", code: "auth_failed", status: 401 })
    })
  )

  it.effect("a dropped connection is a transport error; a publish dropped after processing is retried once", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      yield* emulator.faults.inject({ route: "GET /channels/:channelName", times: 4, fault: Faults.dropBefore })
      const error = yield* Effect.flip(sockudo.channels.get("dropped"))
      assert.strictEqual(error._tag, "SockudoTransportError")
      const client = yield* emulator.connect()
      yield* client.subscribe("after-drop")
      yield* emulator.faults.inject({ route: "POST /events", times: 1, fault: Faults.dropAfter })
      yield* sockudo.trigger("after-drop", "once", 1)
      assert.strictEqual((yield* client.events()).length, 1)
    })
  )
})
