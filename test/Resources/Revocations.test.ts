import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { Sockudo } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import { signedQuery } from "../support/paging.ts"

/** The reference's response (§3.7). */
const revoked = { revoked_jti: true, revoked_client_id: false, closed_connections: 2 } as const

describe("revocations.revoke", () => {
  it.effect("POSTs every option under the server's snake_case names to /revocations, signed", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.revocations.revoke({
        jti: "tok-1",
        clientId: "u1",
        expiresAt: 1710003600,
        ttlSeconds: 3600,
        reason: "account locked"
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, "/apps/app-id/revocations")
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.strictEqual(
        request!.body,
        '{"jti":"tok-1","client_id":"u1","expires_at":1710003600,"ttl_seconds":3600,"reason":"account locked"}'
      )
      assert.deepStrictEqual(result, { ...revoked, future: "x" } as never)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...revoked, future: "x" }))))
  )

  it.effect("sends only the fields given: a jti alone, a clientId alone", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.revocations.revoke({ jti: "tok-1" })
      yield* s.revocations.revoke({ clientId: "u1", ttlSeconds: 0 })
      assert.deepStrictEqual(
        (yield* requests).map((r) => r.body),
        ['{"jti":"tok-1"}', '{"client_id":"u1","ttl_seconds":0}']
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, revoked))))
  )

  it.effect("decodes a client revocation that closed nothing", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.revocations.revoke({ clientId: "u1" })
      assert.deepStrictEqual(result, { revoked_jti: false, revoked_client_id: true, closed_connections: 0 })
    }).pipe(
      Effect.provide(
        layer(() => SockudoTest.json(200, { revoked_jti: false, revoked_client_id: true, closed_connections: 0 }))
      )
    )
  )

  const malformed: ReadonlyArray<readonly [string, SockudoTest.Reply]> = [
    ["no closed_connections", SockudoTest.json(200, { revoked_jti: true, revoked_client_id: false })],
    ["a string flag", SockudoTest.json(200, { ...revoked, revoked_jti: "true" })],
    ["the publish body", SockudoTest.json(200, { ok: true })],
    ["a body that is not JSON", SockudoTest.text(200, "revoked")]
  ]
  for (const [what, reply] of malformed) {
    it.effect(`a response with ${what} is a SockudoDecodeError`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.revocations.revoke({ jti: "t" }))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "revocations.revoke", status: 200 })
      }).pipe(Effect.provide(layer(() => reply)))
    )
  }

  it.effect("the server's 401 for a revocation without ids is a SockudoAuthenticationError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.revocations.revoke({ jti: "t" }))
      expect(error).toMatchObject({
        _tag: "SockudoAuthenticationError",
        status: 401,
        code: "auth_failed",
        message: "revocation requires jti or client_id",
        request: "POST /apps/app-id/revocations"
      })
      assert.isFalse(error.isRetryable)
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(401, { error: "revocation requires jti or client_id", code: "auth_failed", status: 401 })
        )
      )
    )
  )

  it.effect("is retried after a 503 with the same body (revoking twice is harmless)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.revocations.revoke({ clientId: "u1" }))
      assert.isTrue(Exit.isSuccess(exit))
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => r.body),
        ['{"client_id":"u1"}', '{"client_id":"u1"}']
      )
      for (const r of sent) signedQuery(r)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(503, { error: "Service unavailable", code: "service_unavailable", status: 503 }),
            SockudoTest.json(200, revoked)
          ),
          { retry: everySecond }
        )
      )
    )
  )
})

describe("revocations validation: nothing is sent", () => {
  const revoke = (options: Record<string, unknown>) => (s: Sockudo.Service) => s.revocations.revoke(options as never)
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["neither jti nor clientId", revoke({}), "jti"],
    ["only other fields", revoke({ ttlSeconds: 60, reason: "r" }), "jti"],
    ["explicit undefined ids", revoke({ jti: undefined, clientId: undefined }), "jti"],
    ["an empty jti", revoke({ jti: "" }), "jti"],
    ["an empty clientId", revoke({ clientId: "" }), "clientId"],
    ["a numeric jti", revoke({ jti: 1 }), "jti"],
    ["a negative expiresAt", revoke({ jti: "t", expiresAt: -1 }), "expiresAt"],
    ["a fractional expiresAt", revoke({ jti: "t", expiresAt: 1.5 }), "expiresAt"],
    ["a negative ttlSeconds", revoke({ jti: "t", ttlSeconds: -5 }), "ttlSeconds"],
    ["a string ttlSeconds", revoke({ jti: "t", ttlSeconds: "60" }), "ttlSeconds"],
    ["a numeric reason", revoke({ jti: "t", reason: 1 }), "reason"],
    ["no options", (s) => s.revocations.revoke(undefined as never), "options"]
  ]
  for (const [what, call, field] of cases) {
    it.effect(`rejects ${what} (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        expect(yield* Effect.flip(call(s))).toMatchObject({
          _tag: "SockudoValidationError",
          operation: "revocations.revoke",
          field
        })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }
})
