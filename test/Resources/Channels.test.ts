import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SockudoTest from "../../src/testing/index.ts"
import { layer, requests, sockudo } from "../support/harness.ts"

const query = (rawQuery: string) =>
  rawQuery
    .split("&")
    .filter((p) => !p.startsWith("auth_"))
    .join("&")

describe("channels.list", () => {
  it.effect("GET /channels with filter_by_prefix and info, decoding the counts", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const list = yield* s.channels.list({ filterByPrefix: "presence-", info: ["user_count", "subscription_count"] })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, "/apps/app-id/channels")
      assert.strictEqual(query(request!.rawQuery), "filter_by_prefix=presence-&info=user_count%2Csubscription_count")
      assert.deepStrictEqual(list, {
        channels: { "presence-a": { user_count: 2, subscription_count: 3 }, "presence-b": {} }
      })
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            channels: { "presence-a": { user_count: 2, subscription_count: 3 }, "presence-b": {} }
          })
        )
      )
    )
  )

  it.effect("no options sends no extra parameters", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      assert.deepStrictEqual(yield* s.channels.list(), { channels: {} })
      assert.strictEqual(query((yield* requests)[0]!.rawQuery), "")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channels: {} }))))
  )

  it.effect("user_count without a presence- prefix is refused before sending", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.channels.list({ info: ["user_count"] }))).toMatchObject({
        _tag: "SockudoValidationError",
        field: "info"
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )
})

describe("channels.get", () => {
  it.effect("percent-encodes the channel in the path: presence-room#1 and @ , ; =", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.channels.get("presence-room#1", { info: ["user_count"] })
      yield* s.channels.get("a@b,c;d=e:f")
      const [first, second] = yield* requests
      assert.strictEqual(first!.path, "/apps/app-id/channels/presence-room%231")
      assert.strictEqual(query(first!.rawQuery), "info=user_count")
      assert.strictEqual(second!.path, "/apps/app-id/channels/a%40b%2Cc%3Bd%3De%3Af")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { occupied: true, user_count: 1 }))))
  )

  it.effect("decodes occupied, counts, cache and ai", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const state = yield* s.channels.get("cache-ai", { info: ["subscription_count", "cache"] })
      assert.deepStrictEqual(state, {
        occupied: true,
        subscription_count: 4,
        subscription_count_complete: false,
        cache: { data: '{"event":"e","channel":"cache-ai","data":"x"}', ttl: 3599 },
        ai: { active_streams: 0, last_history_serial: 42, message_count: 7 }
      })
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            occupied: true,
            subscription_count: 4,
            subscription_count_complete: false,
            cache: { data: '{"event":"e","channel":"cache-ai","data":"x"}', ttl: 3599 },
            ai: { active_streams: 0, last_history_serial: 42, message_count: 7 }
          })
        )
      )
    )
  )

  it.effect("rejects an invalid channel, user_count on a non-presence channel and unknown info", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.channels.get("a b"))).toMatchObject({ field: "channel" })
      expect(yield* Effect.flip(s.channels.get("orders", { info: ["user_count"] }))).toMatchObject({ field: "info" })
      expect(yield* Effect.flip(s.channels.get("orders", { info: ["members" as never] }))).toMatchObject({
        field: "info"
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )
})

describe("channels.users", () => {
  it.effect("GET /channels/<c>/users on a presence channel", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const users = yield* s.channels.users("presence-room#1")
      assert.strictEqual((yield* requests)[0]!.path, "/apps/app-id/channels/presence-room%231/users")
      assert.deepStrictEqual(users, { users: [{ id: "u1" }, { id: "u2" }] })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { users: [{ id: "u1" }, { id: "u2" }] }))))
  )

  it.effect("refuses a non-presence channel", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.channels.users("private-room"))).toMatchObject({ field: "channel" })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )
})
