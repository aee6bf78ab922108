import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { Sockudo } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import { hmac, post, signed } from "./support.ts"

const test = (options: Emulator.Options = {}) =>
  Effect.provide(Emulator.layerTest({ ...options, features: { userAuthentication: true, ...options.features } }))

describe("subscriptions", () => {
  it.effect("checks a private subscription's auth as the server does", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const c = yield* emulator.connect()
      const good = yield* sockudo.authorizeChannel(c.socketId, "private-orders")
      yield* c.subscribe("private-orders", good)
      const other = yield* emulator.connect()
      const error = yield* Effect.flip(other.subscribe("private-orders", good))
      expect(error).toMatchObject({ _tag: "EmulatorClientError", message: "Invalid signature for private-orders" })
      const empty = yield* Effect.flip(other.subscribe("private-x", { auth: "" }))
      assert.strictEqual(empty.message, "Invalid signature for private-x")
    }).pipe(test())
  )

  it.effect("refuses a private subscription whose auth also signed channel_data", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Emulator.Emulator).connect()
      const channelData = '{"user_id":"u1"}'
      const auth = `app-key:${hmac("app-secret", `${c.socketId}:private-encrypted-room:${channelData}`)}`
      const error = yield* Effect.flip(c.subscribe("private-encrypted-room", { auth, channel_data: channelData }))
      assert.strictEqual(error.message, "Invalid signature for private-encrypted-room")
      yield* c.subscribe("private-encrypted-room", {
        auth: `app-key:${hmac("app-secret", `${c.socketId}:private-encrypted-room`)}`,
        channel_data: channelData
      })
    }).pipe(test())
  )

  it.effect("names protocol events by the connection's protocol: pusher: on V1, sockudo: on V2", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const v1 = yield* emulator.connect({ protocol: 1 })
      const v2 = yield* emulator.connect({ protocol: 2 })
      for (const c of [v1, v2]) {
        yield* c.signin(yield* sockudo.authenticateUser(c.socketId, { id: "u1" }))
        yield* c.subscribe("presence-room", { member: { user_id: c === v1 ? "a" : "b" } })
        yield* c.subscribe("cache-x")
      }
      const events = (c: Emulator.Connection) => Effect.map(c.received, (frames) => frames.map((m) => m.event))
      expect(yield* events(v1)).toEqual([
        "pusher:connection_established",
        "pusher:signin_success",
        "pusher_internal:subscription_succeeded",
        "pusher_internal:subscription_succeeded",
        "pusher:cache_miss",
        "pusher_internal:member_added"
      ])
      expect(yield* events(v2)).toEqual([
        "sockudo:connection_established",
        "sockudo:signin_success",
        "sockudo_internal:subscription_succeeded",
        "sockudo_internal:subscription_succeeded",
        "sockudo:cache_miss"
      ])
    }).pipe(test())
  )

  it.effect("keeps presence members, counts and member events", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const a = yield* emulator.connect()
      const b = yield* emulator.connect()
      const b2 = yield* emulator.connect()
      yield* a.subscribe(
        "presence-room",
        yield* sockudo.authorizeChannel(a.socketId, "presence-room", { user_id: "u1", user_info: { name: "Ada" } })
      )
      yield* b.subscribe("presence-room", { member: { user_id: "u2" } })
      yield* b2.subscribe("presence-room", { member: { user_id: "u2" } })
      const state = yield* sockudo.channels.get("presence-room", { info: ["user_count", "subscription_count"] })
      expect(state).toMatchObject({ occupied: true, user_count: 2, subscription_count: 3 })
      expect(yield* sockudo.channels.users("presence-room")).toEqual({ users: [{ id: "u1" }, { id: "u2" }] })
      const joined = (yield* a.received).filter((m) => m.event === "sockudo_internal:member_added")
      expect(joined).toEqual([
        { event: "sockudo_internal:member_added", channel: "presence-room", data: '{"user_id":"u2"}' }
      ])
      const succeeded = (yield* b2.received).find((m) => m.event === "sockudo_internal:subscription_succeeded")
      expect(JSON.parse(succeeded!.data as string)).toEqual({
        presence: { ids: ["u1", "u2"], hash: { u1: { name: "Ada" }, u2: null }, count: 2 }
      })
      yield* b.disconnect
      assert.strictEqual((yield* sockudo.channels.get("presence-room", { info: ["user_count"] })).user_count, 2)
      yield* b2.unsubscribe("presence-room")
      expect(yield* sockudo.channels.users("presence-room")).toEqual({ users: [{ id: "u1" }] })
      const removed = (yield* a.received).filter((m) => m.event === "sockudo_internal:member_removed")
      assert.strictEqual(removed.length, 1)
    }).pipe(test())
  )

  it.effect("rejects presence channel_data without a string user_id", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Emulator.Emulator).connect()
      const channelData = '{"user_id":10}'
      const auth = `app-key:${hmac("app-secret", `${c.socketId}:presence-room:${channelData}`)}`
      const error = yield* Effect.flip(c.subscribe("presence-room", { auth, channel_data: channelData }))
      assert.include(error.message, "user_id must be a string")
    }).pipe(test())
  )

  it.effect("enforces the presence member limits", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const a = yield* emulator.connect()
      yield* a.subscribe("presence-room", { member: { user_id: "u1" } })
      const sameUser = yield* emulator.connect()
      yield* sameUser.subscribe("presence-room", { member: { user_id: "u1" } })
      const full = yield* Effect.flip(
        (yield* emulator.connect()).subscribe("presence-room", { member: { user_id: "u2" } })
      )
      assert.include(full.message, "limit of 1 members")
      const big = yield* Effect.flip(
        (yield* emulator.connect()).subscribe("presence-other", {
          member: { user_id: "u3", user_info: { b: "x".repeat(1024) } }
        })
      )
      assert.include(big.message, "above the limit of 1 KB")
    }).pipe(test({ limits: { maxPresenceMembersPerChannel: 1, maxPresenceMemberSizeInKb: 1 } }))
  )

  it.effect("lets only the listed users into a user-limited channel", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const u1 = yield* emulator.connect({ user: { id: "u1" } })
      const u3 = yield* emulator.connect({ user: { id: "u3" } })
      yield* u1.subscribe("chat:room#u1")
      assert.strictEqual((yield* Effect.flip(u3.subscribe("chat:room#u1")))._tag, "EmulatorClientError")
      // Sockudo 5.0.1 refuses a list of users: `,` is not a channel-name character.
      expect(yield* Effect.flip(u1.subscribe("chat:room#u1,u3"))).toMatchObject({
        message: "Channel name contains invalid characters: 'chat:room#u1,u3' (invalid chars: [','])"
      })
      const plain = yield* emulator.connect()
      assert.strictEqual((yield* Effect.flip(plain.subscribe("other:room#u1")))._tag, "EmulatorClientError")
    }).pipe(
      test({ apps: [{ ...Emulator.defaultApp, namespaces: [{ name: "chat", allowUserLimitedChannels: true }] }] })
    )
  )

  it.effect("answers a cache channel's subscriber with the last event, or a cache miss", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const early = yield* emulator.connect()
      yield* early.subscribe("cache-prices")
      expect((yield* early.received).map((m) => m.event)).toContain("sockudo:cache_miss")
      yield* sockudo.trigger("cache-prices", "price", { p: 1 })
      const late = yield* emulator.connect()
      yield* late.subscribe("cache-prices")
      expect(yield* late.events()).toEqual([{ event: "price", channel: "cache-prices", data: '{"p":1}' }])
      const state = yield* sockudo.channels.get("cache-prices", { info: ["cache"] })
      expect(state.cache).toEqual({
        data: JSON.stringify({ event: "price", channel: "cache-prices", data: '{"p":1}' }),
        ttl: 3600
      })
    }).pipe(test())
  )
})

describe("users", () => {
  it.effect("verifies sign-in and delivers sendToUser to every connection of the user", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const a = yield* emulator.connect()
      const b = yield* emulator.connect({ user: { id: "u1" } })
      const other = yield* emulator.connect({ user: { id: "u2" } })
      const bad = yield* Effect.flip(a.signin({ auth: "app-key:00", user_data: '{"id":"u1"}' }))
      assert.strictEqual(bad.message, "Invalid signature")
      yield* a.signin(yield* sockudo.authenticateUser(a.socketId, { id: "u1" }))
      yield* sockudo.sendToUser("u1", "notice", { n: 1 })
      for (const c of [a, b]) {
        expect(yield* c.events()).toEqual([{ event: "notice", channel: "#server-to-user-u1", data: '{"n":1}' }])
      }
      expect(yield* other.events()).toEqual([])
    }).pipe(test())
  )

  it.effect("refuses sign-in when user authentication is off", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      assert.strictEqual((yield* Effect.flip(emulator.connect({ user: { id: "u1" } })))._tag, "EmulatorClientError")
    }).pipe(Effect.provide(Emulator.layerTest()))
  )

  it.effect("terminates and force-reconnects a user's connections (signed-in or presence user)", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const signedIn = yield* emulator.connect({ user: { id: "user/1" } })
      const member = yield* emulator.connect()
      yield* member.subscribe("presence-room", { member: { user_id: "user/1" } })
      const bystander = yield* emulator.connect()
      yield* bystander.subscribe("presence-room", { member: { user_id: "u2" } })
      yield* sockudo.users.terminateConnections("user/1")
      expect(yield* signedIn.closed).toEqual({ code: 4009, reason: "You got disconnected by the app." })
      expect(yield* member.closed).toEqual({ code: 4009, reason: "You got disconnected by the app." })
      // The close is announced by a pusher:error frame, under that name on V2 connections too.
      expect((yield* member.received).at(-1)).toEqual({
        event: "pusher:error",
        data: { code: 4009, message: "You got disconnected by the app." }
      })
      assert.isUndefined(yield* bystander.closed)
      expect(yield* sockudo.channels.users("presence-room")).toEqual({ users: [{ id: "u2" }] })
      yield* sockudo.users.forceReconnect("u2")
      expect(yield* bystander.closed).toEqual({ code: 4200, reason: "Force reconnect requested by the app." })
      expect((yield* bystander.received).at(-1)).toEqual({
        event: "pusher:error",
        data: { code: 4200, message: "Force reconnect requested by the app." }
      })
      yield* sockudo.users.forceReconnect("nobody")
      const closedError = yield* Effect.flip(signedIn.subscribe("a"))
      assert.strictEqual(closedError.message, "the connection is closed")
    }).pipe(test())
  )

  it.effect("revokes capability tokens by jti or client id", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const byJti = yield* emulator.connect({ token: { jti: "t1", clientId: "c1" } })
      const byClient = yield* emulator.connect({ token: { jti: "t2", clientId: "c2" } })
      const kept = yield* emulator.connect({ token: { jti: "t3", clientId: "c3" } })
      const answer = yield* post("/apps/app-id/revocations", { jti: "t1", client_id: "c2", ttl_seconds: 60 })
      expect(answer.json).toEqual({ revoked_jti: true, revoked_client_id: true, closed_connections: 2 })
      for (const c of [byJti, byClient]) {
        expect(yield* c.closed).toEqual({ code: 4009, reason: "capability token revoked" })
        // Told "revoked" whatever reason the revocation gave, then the close's error frame.
        expect((yield* c.received).slice(1)).toEqual([
          { event: "sockudo:token_expired", data: { code: 40160, reason: "revoked" } },
          { event: "pusher:error", data: { code: 4009, message: "capability token revoked" } }
        ])
      }
      assert.isUndefined(yield* kept.closed)
      // A connection with a revoked identity is closed before it is established.
      for (const token of [{ jti: "t1" }, { jti: "t9", clientId: "c2" }]) {
        const refused = yield* emulator.connect({ token })
        const reason = "Authentication error: capability token has been revoked"
        expect(yield* refused.closed).toEqual({ code: 4009, reason })
        expect(yield* refused.received).toEqual([
          { event: "sockudo:error", data: { code: 4009, message: reason } },
          { event: "pusher:error", data: { code: 4009, message: reason } }
        ])
      }
      const v1 = yield* emulator.connect({ protocol: 1, token: { jti: "t4" } })
      expect(yield* v1.closed).toEqual({
        code: 4009,
        reason: "Authentication error: capability tokens require protocol V2"
      })
      expect(yield* post("/apps/app-id/revocations", { reason: "x" })).toMatchObject({
        status: 401,
        json: { code: "auth_failed", error: "revocation requires jti or client_id" }
      })
    }).pipe(test())
  )
})

describe("client events", () => {
  it.effect("reach the channel's other subscribers as sent, without the sender's user_id on presence channels", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const a = yield* emulator.connect()
      const b = yield* emulator.connect()
      for (const c of [a, b]) yield* c.subscribe("presence-chat", { member: { user_id: c === a ? "ua" : "ub" } })
      yield* a.trigger("presence-chat", "client-typing", { on: true })
      expect(yield* b.events()).toEqual([{ event: "client-typing", channel: "presence-chat", data: { on: true } }])
      expect(yield* a.events()).toEqual([])
      const refusals = [
        a.trigger("presence-chat", "typing", 1),
        a.trigger("public", "client-x", 1),
        a.trigger("private-other", "client-x", 1)
      ]
      for (const refusal of refusals) assert.strictEqual((yield* Effect.flip(refusal))._tag, "EmulatorClientError")
    }).pipe(test())
  )

  it.effect("are stored like a publish: in history and, on a versioned channel, as a message version", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const a = yield* emulator.connect({ protocol: 1 })
      const b = yield* emulator.connect({ protocol: 1 })
      for (const c of [a, b]) yield* c.subscribe("private-chat")
      yield* a.trigger("private-chat", "client-typing", { on: true })
      expect(yield* b.events()).toEqual([{ event: "client-typing", channel: "private-chat", data: { on: true } }])
      const { items } = yield* sockudo.history.list("private-chat")
      expect(items).toHaveLength(1)
      const message = items[0]!.message as { readonly message_serial: string }
      expect(message).toMatchObject({ name: "client-typing", data: { on: true }, action: "create" })
      const serial = message.message_serial
      expect((yield* sockudo.messages.get("private-chat", serial)).item).toMatchObject({ data: { on: true } })
    }).pipe(test({ features: { history: true, versionedMessages: true } }))
  )

  it.effect("are refused when the app disables them", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Emulator.Emulator).connect()
      yield* c.subscribe("private-a")
      const error = yield* Effect.flip(c.trigger("private-a", "client-x", 1))
      assert.strictEqual(error.message, "Client events are not enabled for this app")
    }).pipe(test({ apps: [{ ...Emulator.defaultApp, clientMessages: false }] }))
  )
})

describe("presence updates", () => {
  it.effect("tell the channel's Protocol V2 connections, the sender too; later joiners see the joined user_info", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const a = yield* emulator.connect({ protocol: 2 })
      const b = yield* emulator.connect({ protocol: 2 })
      const v1 = yield* emulator.connect({ protocol: 1 })
      yield* a.subscribe("presence-desk", { member: { user_id: "ua", user_info: { n: 1 } } })
      yield* b.subscribe("presence-desk", { member: { user_id: "ub" } })
      yield* v1.subscribe("presence-desk", { member: { user_id: "uc" } })
      yield* a.presenceUpdate("presence-desk", { status: "away" })
      const update = {
        event: "sockudo_internal:presence_update",
        channel: "presence-desk",
        data: JSON.stringify({ user_id: "ua", user_info: { status: "away" } })
      }
      for (const c of [a, b])
        expect((yield* c.received).filter((m) => m.event.endsWith("presence_update"))).toEqual([update])
      expect((yield* v1.received).filter((m) => m.event.endsWith("presence_update"))).toEqual([])
      const later = yield* emulator.connect({ protocol: 1 })
      yield* later.subscribe("presence-desk", { member: { user_id: "ud" } })
      const joined = (yield* later.received).find((m) => m.event === "pusher_internal:subscription_succeeded")
      expect(JSON.parse(String(joined?.data)).presence.hash.ua).toEqual({ n: 1 })
    }).pipe(test())
  )

  it.effect("are refused as the server refuses them", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const v2 = yield* emulator.connect({ protocol: 2 })
      const v1 = yield* emulator.connect({ protocol: 1 })
      yield* v2.subscribe("presence-desk", { member: { user_id: "ua" } })
      yield* v2.subscribe("private-desk")
      yield* v1.subscribe("presence-desk", { member: { user_id: "ub" } })
      const refused = (effect: Effect.Effect<void, { readonly message: string }>) =>
        Effect.map(Effect.flip(effect), (e) => e.message)
      expect(yield* refused(v1.presenceUpdate("presence-desk", {}))).toBe("presence_update requires protocol V2")
      expect(yield* refused(v2.presenceUpdate("private-desk", {}))).toBe("presence_update requires a presence channel")
      expect(yield* refused(v2.presenceUpdate("presence-desk", "x".repeat(1023)))).toBe(
        "presence_update data exceeds 1024 bytes"
      )
      yield* v2.presenceUpdate("presence-desk", "x".repeat(1022))
      expect(yield* refused(v2.presenceUpdate("presence-other", {}))).toBe("presence_update requires active membership")
    }).pipe(test())
  )
})

describe("channels", () => {
  it.effect("lists occupied channels with counts, and refuses user_count without the presence prefix", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const c = yield* emulator.connect()
      yield* c.subscribe("orders")
      yield* c.subscribe("presence-room", { member: { user_id: "u1" } })
      expect(yield* sockudo.channels.list()).toEqual({ channels: { orders: {}, "presence-room": {} } })
      expect(yield* sockudo.channels.list({ filterByPrefix: "presence-", info: ["user_count"] })).toEqual({
        channels: { "presence-room": { user_count: 1 } }
      })
      expect(yield* sockudo.channels.list({ info: ["subscription_count"] })).toEqual({
        channels: { orders: { subscription_count: 1 }, "presence-room": { subscription_count: 1 } }
      })
      const refused = yield* signed("GET", "/apps/app-id/channels", { query: [["info", "user_count"]] })
      expect(refused).toMatchObject({
        status: 400,
        json: { error: "user_count is only available for presence channels. Use filter_by_prefix=presence-" }
      })
      const unsupported = yield* signed("GET", "/apps/app-id/channels", { query: [["info", "cache"]] })
      expect(unsupported.json).toEqual({ channels: {} })
      const duplicate = yield* signed("GET", "/apps/app-id/channels", {
        query: [
          ["info", "a"],
          ["info", "b"]
        ]
      })
      expect(duplicate).toMatchObject({
        status: 400,
        text: "Failed to deserialize query string: duplicate field `info`"
      })
      yield* c.disconnect
      expect(yield* sockudo.channels.list()).toEqual({ channels: {} })
    }).pipe(test())
  )

  it.effect("answers one channel's state and refuses user_count and users off presence channels", () =>
    Effect.gen(function* () {
      expect(yield* signed("GET", "/apps/app-id/channels/orders", { query: [["info", "user_count"]] })).toMatchObject({
        status: 400,
        json: { error: "user_count is only available for presence channels" }
      })
      expect(yield* signed("GET", "/apps/app-id/channels/orders/users")).toMatchObject({
        status: 400,
        json: { error: "Only presence channels support this endpoint" }
      })
      expect(yield* signed("GET", "/apps/app-id/channels/a%20b")).toMatchObject({ status: 400 })
      expect(yield* signed("GET", "/apps/app-id/channels/orders")).toMatchObject({
        status: 200,
        json: { occupied: false }
      })
    }).pipe(test())
  )

  it.effect("caches the channel list when asked to", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      yield* sockudo.channels.list()
      const c = yield* emulator.connect()
      yield* c.subscribe("orders")
      expect(yield* sockudo.channels.list()).toEqual({ channels: {} })
    }).pipe(test({ channelListCacheTtl: "2 seconds" }))
  )

  it.effect("keeps every cache entry for the memory cache driver's TTL, whatever its own", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      yield* sockudo.trigger("cache-prices", "price", { p: 1 })
      expect((yield* sockudo.channels.get("cache-prices", { info: ["cache"] })).cache?.ttl).toBe(300)
      yield* TestClock.adjust("299 seconds")
      expect((yield* sockudo.channels.get("cache-prices", { info: ["cache"] })).cache?.ttl).toBe(300)
      yield* TestClock.adjust("1 seconds")
      expect((yield* sockudo.channels.get("cache-prices", { info: ["cache"] })).cache).toBeUndefined()

      // A channel list answer outlives its own 2 s.
      yield* sockudo.channels.list()
      yield* (yield* emulator.connect()).subscribe("orders")
      yield* TestClock.adjust("299 seconds")
      expect(yield* sockudo.channels.list()).toEqual({ channels: {} })
      yield* TestClock.adjust("1 seconds")
      expect(yield* sockudo.channels.list()).toEqual({ channels: { orders: {} } })

      // A revocation asked for a day is forgotten with the driver's TTL.
      yield* sockudo.revocations.revoke({ jti: "t1", ttlSeconds: 86_400 })
      yield* TestClock.adjust("299 seconds")
      expect(yield* (yield* emulator.connect({ token: { jti: "t1" } })).closed).toMatchObject({ code: 4009 })
      yield* TestClock.adjust("1 seconds")
      expect(yield* (yield* emulator.connect({ token: { jti: "t1" } })).closed).toBeUndefined()
    }).pipe(test({ channelListCacheTtl: "2 seconds", memoryCacheTtl: "300 seconds" }))
  )
})

describe("protocol versions", () => {
  it.effect("delivers extras to V2 connections only", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const v1 = yield* emulator.connect({ protocol: 1 })
      const v2 = yield* emulator.connect()
      for (const c of [v1, v2]) yield* c.subscribe("a")
      yield* sockudo.trigger("a", "e", "d", { extras: { headers: { h: 1 } } })
      expect(yield* v1.events()).toEqual([{ event: "e", channel: "a", data: "d" }])
      expect(yield* v2.events()).toEqual([{ event: "e", channel: "a", data: "d", extras: { headers: { h: 1 } } }])
    }).pipe(test())
  )

  it.effect("sends versioned-message and annotation events to V2 connections only, and no single annotations", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const v1 = yield* emulator.connect({ protocol: 1 })
      const v2 = yield* emulator.connect()
      for (const c of [v1, v2]) yield* c.subscribe("chat")
      const receipt = yield* sockudo.trigger("chat", "said", "hi", { info: [] })
      const serial = receipt.channels["chat"]?.message_serial ?? ""
      yield* sockudo.messages.update("chat", serial, { data: "hi!", clientId: "ada" })
      yield* sockudo.messages.append("chat", serial, "?")
      yield* sockudo.messages.update("chat", serial, { clearFields: ["data"] })
      yield* sockudo.annotations.publish("chat", serial, { type: "views:total.v1" })
      const seen = (c: Emulator.Connection) =>
        Effect.map(c.received, (frames) =>
          frames
            .filter((m) => m.channel === "chat" && !/subscription_succeeded/.test(m.event))
            .map((m) => {
              const { event, data, name, user_id } = m as unknown as Readonly<Record<string, unknown>>
              return { event, data, name, user_id, hasData: "data" in m }
            })
        )
      const said = { event: "said", data: "hi", name: undefined, user_id: undefined, hasData: true }
      expect(yield* seen(v1)).toEqual([said])
      // An append carries its fragment; a mutation names the message and its last known client.
      expect(yield* seen(v2)).toEqual([
        said,
        { event: "sockudo:message.update", data: "hi!", name: "said", user_id: "ada", hasData: true },
        { event: "sockudo:message.append", data: "?", name: "said", user_id: "ada", hasData: true },
        { event: "sockudo:message.update", data: undefined, name: "said", user_id: "ada", hasData: false },
        {
          event: "sockudo_internal:message",
          data: JSON.stringify({
            action: "message.summary",
            serial,
            annotations: { summary: { "views:total.v1": { total: 1 } } }
          }),
          name: undefined,
          user_id: undefined,
          hasData: true
        }
      ])
    }).pipe(test({ features: { history: true, versionedMessages: true, annotations: true } }))
  )
})
