import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SockudoTest from "../../src/testing/index.ts"
import { layer, requests, sockudo } from "../support/harness.ts"

describe("users", () => {
  it.effect(
    "terminateConnections and forceReconnect POST a signed `{}` (accepted by every server) to the encoded path",
    () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        yield* s.users.terminateConnections("user/with spaces")
        yield* s.users.forceReconnect("u#1")
        const [terminate, reconnect] = yield* requests
        assert.strictEqual(terminate!.method, "POST")
        assert.strictEqual(terminate!.path, "/apps/app-id/users/user%2Fwith%20spaces/terminate_connections")
        assert.strictEqual(terminate!.body, "{}")
        assert.strictEqual(terminate!.query.get("body_md5"), "99914b932bd37a50b983c5e7c90ae93b")
        assert.strictEqual(reconnect!.body, "{}")
        assert.strictEqual(reconnect!.path, "/apps/app-id/users/u%231/force_reconnect")
      }).pipe(Effect.provide(layer()))
  )

  it.effect("accepts Pusher's {} answer too", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.users.terminateConnections("u1")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, {}))))
  )

  it.effect("an empty user id is refused before sending", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.users.forceReconnect(""))).toMatchObject({
        _tag: "SockudoValidationError",
        field: "userId"
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )
})
