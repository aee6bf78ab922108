import { createHmac } from "node:crypto"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { layer, requests, sockudo } from "./support/harness.ts"
import { recordingTracer } from "./support/tracing.ts"

const hmac = (s: string) => createHmac("sha256", "app-secret").update(s).digest("hex")
const masterKey = Redacted.make("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")

describe("authorizeChannel", () => {
  it.effect("private: signs socket_id:channel only", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const auth = yield* s.authorizeChannel("123.456", "private-orders")
      assert.deepStrictEqual(auth, { auth: `app-key:${hmac("123.456:private-orders")}` })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("presence: signs and returns the exact channel_data string", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const auth = yield* s.authorizeChannel("123.456", "presence-room", { user_id: "u1", user_info: { name: "Ada" } })
      const channelData = '{"user_id":"u1","user_info":{"name":"Ada"}}'
      assert.deepStrictEqual(auth, {
        auth: `app-key:${hmac(`123.456:presence-room:${channelData}`)}`,
        channel_data: channelData
      })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("private-encrypted: adds the channel's shared secret (server reference PY-8)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const auth = yield* s.authorizeChannel("123.456", "private-encrypted-room")
      assert.deepStrictEqual(auth, {
        auth: `app-key:${hmac("123.456:private-encrypted-room")}`,
        shared_secret: "L38rkfo40L+fzS0K+KbYNXjQzEkJllc8+TgyPF0gM/4="
      })
    }).pipe(Effect.provide(layer(undefined, { encryptionMasterKeyBase64: masterKey })))
  )

  const invalid: ReadonlyArray<readonly [string, readonly [string, string, unknown?], string, string]> = [
    ["a malformed socket id", ["123", "private-a"], "SockudoValidationError", "socketId"],
    ["a public channel", ["1.1", "orders"], "SockudoValidationError", "channel"],
    ["an invalid channel name", ["1.1", "private-a b"], "SockudoValidationError", "channel"],
    ["a presence channel without member", ["1.1", "presence-a"], "SockudoValidationError", "presenceMember"],
    ["a numeric user_id", ["1.1", "presence-a", { user_id: 10 }], "SockudoValidationError", "presenceMember.user_id"],
    ["an empty user_id", ["1.1", "presence-a", { user_id: "" }], "SockudoValidationError", "presenceMember.user_id"],
    [
      "user_info that is not an object",
      ["1.1", "presence-a", { user_id: "u", user_info: "x" }],
      "SockudoValidationError",
      "presenceMember.user_info"
    ],
    [
      "member data on a private channel",
      ["1.1", "private-a", { user_id: "u" }],
      "SockudoValidationError",
      "presenceMember"
    ]
  ]
  for (const [name, args, tag, field] of invalid) {
    it.effect(`rejects ${name}`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.authorizeChannel(args[0], args[1], args[2] as never))
        expect(error).toMatchObject({ _tag: tag, field })
      }).pipe(Effect.provide(layer()))
    )
  }

  it.effect("an encrypted channel without a master key is a SockudoEncryptionError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.authorizeChannel("1.1", "private-encrypted-a"))).toMatchObject({
        _tag: "SockudoEncryptionError",
        reason: "MissingMasterKey"
      })
    }).pipe(Effect.provide(layer()))
  )
})

describe("authenticateUser", () => {
  it.effect("signs socket_id::user::user_data and returns user_data as sent", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.authenticateUser("123.456", { id: "u1", watchlist: ["u2"], name: "Ädä" })
      const userData = '{"id":"u1","watchlist":["u2"],"name":"Ädä"}'
      assert.deepStrictEqual(result, { auth: `app-key:${hmac(`123.456::user::${userData}`)}`, user_data: userData })
    }).pipe(Effect.provide(layer()))
  )

  for (const [name, data] of [
    ["no id", {}],
    ["a numeric id", { id: 1 }],
    ["an empty id", { id: "" }],
    ["an array", ["u1"]]
  ] as const) {
    it.effect(`rejects user data with ${name}`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.authenticateUser("1.1", data as never))
        assert.strictEqual(error._tag, "SockudoValidationError")
      }).pipe(Effect.provide(layer()))
    )
  }
})

describe("signedUrl", () => {
  it.effect("signs a GET now, with encoded values and no body_md5", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_000)
      const s = yield* sockudo
      const url = new URL(
        yield* s.signedUrl("GET", "/channels", { filter_by_prefix: "presence-", info: "user_count,subscription_count" })
      )
      assert.strictEqual(url.origin + url.pathname, "http://sockudo.test:6001/apps/app-id/channels")
      assert.isFalse(url.searchParams.has("body_md5"))
      const expected = hmac(
        "GET\n/apps/app-id/channels\nauth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&filter_by_prefix=presence-&info=user_count,subscription_count"
      )
      assert.strictEqual(url.searchParams.get("auth_signature"), expected)
      assert.include(url.search, "info=user_count%2Csubscription_count")
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("a POST signs the md5 of the exact body (empty by default)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const empty = new URL(yield* s.signedUrl("POST", "/users/u1/terminate_connections"))
      assert.strictEqual(empty.searchParams.get("body_md5"), "d41d8cd98f00b204e9800998ecf8427e")
      const withBody = new URL(yield* s.signedUrl("POST", "/events", undefined, {}))
      assert.strictEqual(withBody.searchParams.get("body_md5"), "99914b932bd37a50b983c5e7c90ae93b")
    }).pipe(Effect.provide(layer()))
  )

  for (const [name, args, field] of [
    ["a reserved parameter", ["GET", "/channels", { auth_key: "x" }], "params"],
    ["a reserved parameter in another case", ["GET", "/channels", { Body_MD5: "x" }], "params"],
    ["a path under /apps", ["GET", "/apps/app-id/channels"], "path"],
    ["a relative path", ["GET", "channels"], "path"],
    ["a path with a query", ["GET", "/channels?x=1"], "path"],
    ["a body on GET", ["GET", "/channels", undefined, { a: 1 }], "body"],
    ["an unknown method", ["PATCH", "/channels"], "method"]
  ] as const) {
    it.effect(`rejects ${name}`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.signedUrl(...(args as unknown as Parameters<typeof s.signedUrl>)))
        expect(error).toMatchObject({ _tag: "SockudoValidationError", field })
      }).pipe(Effect.provide(layer()))
    )
  }
})

describe("tracing of the synchronous operations", () => {
  const body = '{"time_ms":1,"events":[{"name":"channel_occupied","channel":"orders"}]}'
  const webhook = { headers: { "x-pusher-key": "app-key", "x-pusher-signature": hmac(body) }, body }
  /** The test layer built with `tracer` installed, which the calls then run under too. */
  const builtWith = (tracer: Tracer.Tracer) => layer().pipe(Layer.provideMerge(Layer.succeed(Tracer.Tracer, tracer)))

  it.effect("built with a tracer installed, each one is a span, ended with its outcome", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.authorizeChannel("123.456", "private-orders")
      yield* s.authenticateUser("123.456", { id: "u1" })
      yield* s.webhooks.verify(webhook)
      yield* Effect.flip(s.authorizeChannel("bad", "private-orders"))
      assert.deepStrictEqual(
        spans.map((span) => [span.name, span.status._tag, span.attributes.get("messaging.system")]),
        [
          ["Sockudo.authorizeChannel", "Ended", "sockudo"],
          ["Sockudo.authenticateUser", "Ended", "sockudo"],
          ["Sockudo.webhooks.verify", "Ended", "sockudo"],
          ["Sockudo.authorizeChannel", "Ended", "sockudo"]
        ]
      )
      assert.strictEqual(spans[0]!.attributes.get("messaging.destination.name"), "private-orders")
      const failed = spans[3]!.status
      assert.isTrue(failed._tag === "Ended" && Exit.isFailure(failed.exit))
    }).pipe(Effect.provide(builtWith(tracer)))
  })

  it.effect("built with a tracer, the Effect is a description: nothing is signed until it runs, each run signs", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function* () {
      const s = yield* sockudo
      const auth = s.authorizeChannel("123.456", "private-orders")
      assert.isFalse(Exit.isExit(auth))
      assert.strictEqual(spans.length, 0)
      yield* auth
      yield* auth
      assert.strictEqual(spans.length, 2)
    }).pipe(Effect.provide(builtWith(tracer)))
  })

  it.effect("built without one, signing answers its outcome as an Exit (no fiber to run) and makes no span", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const { spans, tracer } = recordingTracer()
      const auth = s.authorizeChannel("123.456", "private-orders")
      assert.isTrue(Exit.isExit(auth) && Exit.isSuccess(auth))
      assert.isTrue(Exit.isExit(s.authorizeChannel("bad", "private-orders")))
      yield* auth.pipe(Effect.withTracer(tracer))
      yield* s.authenticateUser("123.456", { id: "u1" }).pipe(Effect.withTracer(tracer))
      // Without a maximum age, verification reads no clock: it is decided when called, too.
      const verified = s.webhooks.verify(webhook)
      assert.isTrue(Exit.isExit(verified) && Exit.isSuccess(verified))
      yield* verified.pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans, [])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("with a maximum age, verification reads the clock when it runs, traced by the tracer it runs under", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const { spans, tracer } = recordingTracer()
      const verify = s.webhooks.verify(webhook)
      assert.isFalse(Exit.isExit(verify))
      yield* TestClock.setTime(1 + 30_000)
      yield* verify.pipe(Effect.withTracer(tracer))
      yield* TestClock.setTime(1 + 90_000)
      const expired = yield* Effect.flip(verify)
      assert.strictEqual(expired._tag, "SockudoWebhookExpiredError")
      assert.deepStrictEqual(
        spans.map((span) => span.name),
        ["Sockudo.webhooks.verify"]
      )
    }).pipe(Effect.provide(layer(undefined, { webhookMaxAge: "1 minute" })))
  )
})
