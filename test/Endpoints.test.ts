import { createHmac } from "node:crypto"
import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, ManagedRuntime, Redacted } from "effect"
import { HttpRouter } from "effect/http"
import Pusher from "pusher"
import nacl from "tweetnacl"
import { Endpoints, Sockudo } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"

// Every answer is checked against the official `pusher` package (channel and user auth) or
// node:crypto and tweetnacl (webhook signatures and sealed data), never against the SDK itself.

const masterKeyBase64 = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
const pusher = new Pusher({
  appId: "app-id",
  key: "app-key",
  secret: "app-secret",
  host: "sockudo.test",
  encryptionMasterKeyBase64: masterKeyBase64
})
const Test = SockudoTest.layer({ config: { encryptionMasterKeyBase64: Redacted.make(masterKeyBase64) } })

/** Every line logged while the effect ran, with its cause. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lines: Array<{ readonly message: unknown; readonly level: string; readonly cause: string }> = []
    const logger = Logger.make((options) => {
      lines.push({ message: options.message, level: options.logLevel, cause: String(options.cause) })
    })
    const result = yield* effect.pipe(Effect.provide(Logger.layer([logger])))
    return { result, lines }
  })

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const formRequest = (body: string, headers: Record<string, string> = {}): Endpoints.EndpointRequest => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body
})
const jsonOf = (response: Endpoints.EndpointResponse) => JSON.parse(response.body) as unknown

/** An authorizer that records what it was asked and allows everything (presence: as `u1`). */
const recording = () => {
  const calls: Array<Endpoints.ChannelAuthorizationRequest> = []
  const endpoint = Endpoints.channelAuthorization({
    authorize: (request) => {
      calls.push(request)
      return request.channelName.startsWith("presence-")
        ? Endpoints.allow({ user_id: "u1", user_info: { name: "Ada" } })
        : Endpoints.allow()
    }
  })
  return { calls, endpoint }
}

describe("Endpoints.channelAuthorization", () => {
  it.effect("answers a form-encoded pusher-js request with the auth the pusher package signs", () =>
    Effect.gen(function* () {
      const { endpoint, calls } = recording()
      // pusher-js 8 builds exactly this body (socket_id, then channel_name, then its params)
      const response = yield* endpoint.handle(
        formRequest("socket_id=123.456&channel_name=private-orders&team=blue", { authorization: "Bearer t" })
      )
      expect(response).toEqual({
        status: 200,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
        body: JSON.stringify(pusher.authorizeChannel("123.456", "private-orders"))
      })
      assert.strictEqual(calls.length, 1)
      expect(calls[0]).toMatchObject({ socketId: "123.456", channelName: "private-orders", params: { team: "blue" } })
      assert.strictEqual(calls[0]!.headers.get("Authorization"), "Bearer t")
    }).pipe(Effect.provide(Test))
  )

  it.effect("accepts a JSON body too, with any JSON params", () =>
    Effect.gen(function* () {
      const { endpoint, calls } = recording()
      const response = yield* endpoint.handle({
        method: "POST",
        headers: new Headers({ "Content-Type": "application/json; charset=utf-8" }),
        body: new TextEncoder().encode(JSON.stringify({ socket_id: "1.2", channel_name: "private-a", extra: [1] }))
      })
      expect(jsonOf(response)).toEqual(pusher.authorizeChannel("1.2", "private-a"))
      expect(calls[0]?.params).toEqual({ extra: [1] })
    }).pipe(Effect.provide(Test))
  )

  it.effect("presence: the member the authorizer returns, signed into channel_data as pusher signs it", () =>
    Effect.gen(function* () {
      const { endpoint } = recording()
      const response = yield* endpoint.handle(formRequest(form({ socket_id: "1.2", channel_name: "presence-room" })))
      assert.strictEqual(response.status, 200)
      expect(jsonOf(response)).toEqual(
        pusher.authorizeChannel("1.2", "presence-room", { user_id: "u1", user_info: { name: "Ada" } })
      )
    }).pipe(Effect.provide(Test))
  )

  it.effect("private-encrypted: the channel's shared_secret, as pusher derives it", () =>
    Effect.gen(function* () {
      const { endpoint } = recording()
      const response = yield* endpoint.handle(
        formRequest(form({ socket_id: "1.2", channel_name: "private-encrypted-x" }))
      )
      const body = jsonOf(response) as { shared_secret?: string }
      expect(body).toEqual(pusher.authorizeChannel("1.2", "private-encrypted-x"))
      assert.isString(body.shared_secret)
    }).pipe(Effect.provide(Test))
  )

  it.effect("a denial is a 403 with the reason as a JSON error", () =>
    Effect.gen(function* () {
      const endpoint = Endpoints.channelAuthorization({ authorize: () => Endpoints.deny("not your channel") })
      const response = yield* endpoint.handle(formRequest(form({ socket_id: "1.2", channel_name: "private-a" })))
      expect(response).toEqual({
        status: 403,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
        body: '{"error":"not your channel"}'
      })
      const plain = Endpoints.channelAuthorization({ authorize: () => Endpoints.deny() })
      expect(jsonOf(yield* plain.handle(formRequest(form({ socket_id: "1.2", channel_name: "private-a" }))))).toEqual({
        error: "Forbidden"
      })
    }).pipe(Effect.provide(Test))
  )

  it.effect("the authorizer may answer with a Promise, or an Effect that needs a service of yours", () =>
    Effect.gen(function* () {
      class Sessions extends Context.Service<
        Sessions,
        { readonly userOf: (token: string | null) => string | undefined }
      >()("test/Sessions") {}
      const withEffect = Endpoints.channelAuthorization({
        authorize: ({ headers }) =>
          Effect.map(Effect.service(Sessions), (sessions) => {
            const user = sessions.userOf(headers.get("authorization"))
            return user === undefined ? Endpoints.deny("who are you?") : Endpoints.allow({ user_id: user })
          })
      })
      const withPromise = Endpoints.channelAuthorization({
        authorize: async () => {
          await new Promise((resolve) => setTimeout(resolve, 1))
          return Endpoints.allow()
        }
      })
      const sessions = Layer.succeed(Sessions, { userOf: (token) => (token === "Bearer ada" ? "ada" : undefined) })
      const body = form({ socket_id: "1.2", channel_name: "presence-room" })
      const ok = yield* withEffect
        .handle(formRequest(body, { authorization: "Bearer ada" }))
        .pipe(Effect.provide(sessions))
      expect(jsonOf(ok)).toEqual(pusher.authorizeChannel("1.2", "presence-room", { user_id: "ada" }))
      const refused = yield* withEffect.handle(formRequest(body)).pipe(Effect.provide(sessions))
      expect({ status: refused.status, body: jsonOf(refused) }).toEqual({
        status: 403,
        body: { error: "who are you?" }
      })
      const viaPromise = yield* withPromise.handle(formRequest(form({ socket_id: "1.2", channel_name: "private-a" })))
      expect(jsonOf(viaPromise)).toEqual(pusher.authorizeChannel("1.2", "private-a"))
    }).pipe(Effect.provide(Test))
  )

  const failing: ReadonlyArray<readonly [string, () => Endpoints.Reply<Endpoints.ChannelDecision>]> = [
    [
      "throws",
      () => {
        throw new Error("db password is hunter2")
      }
    ],
    ["rejects", () => Promise.reject(new Error("db password is hunter2"))],
    ["fails", () => Effect.fail(new Error("db password is hunter2"))],
    ["dies", () => Effect.die(new Error("db password is hunter2"))]
  ]
  for (const [how, authorize] of failing) {
    it.effect(`an authorizer that ${how} is answered 500 without detail, and logged with its cause`, () =>
      Effect.gen(function* () {
        const endpoint = Endpoints.channelAuthorization({ authorize })
        const { result, lines } = yield* logged(
          endpoint.handle(formRequest(form({ socket_id: "1.2", channel_name: "private-a" })))
        )
        expect({ status: result.status, body: result.body }).toEqual({
          status: 500,
          body: '{"error":"internal error"}'
        })
        assert.strictEqual(lines.length, 1)
        expect(lines[0]).toMatchObject({
          level: "Error",
          message: ["Endpoints.channelAuthorization: authorize failed"]
        })
        assert.include(lines[0]!.cause, "hunter2")
      }).pipe(Effect.provide(Test))
    )
  }

  it.effect("an authorizer that returns something else, or allows presence without a member, is a logged 500", () =>
    Effect.gen(function* () {
      const results: ReadonlyArray<readonly [unknown, string, string]> = [
        [undefined, "private-a", "the callback returned undefined, not Endpoints.allow(...) or Endpoints.deny(...)"],
        [{ _tag: "Maybe" }, "private-a", "the callback returned object (_tag Maybe), not Endpoints.allow(...)"],
        [true, "private-a", "the callback returned boolean"],
        [Endpoints.allow(), "presence-a", "the answer could not be signed"],
        [Endpoints.allow({ user_id: 7 as unknown as string }), "presence-a", "the answer could not be signed"]
      ]
      for (const [decision, channel, message] of results) {
        const endpoint = Endpoints.channelAuthorization({ authorize: () => decision as Endpoints.ChannelDecision })
        const { result, lines } = yield* logged(
          endpoint.handle(formRequest(form({ socket_id: "1.2", channel_name: channel })))
        )
        assert.strictEqual(result.status, 500, String(decision))
        assert.include(String((lines[0]!.message as Array<string>)[0]), message)
      }
    }).pipe(Effect.provide(Test))
  )

  const malformed: ReadonlyArray<readonly [string, Endpoints.EndpointRequest, number, string]> = [
    ["a GET", { method: "GET", headers: {}, body: "" }, 405, "only POST is allowed"],
    [
      "no content type",
      { method: "POST", headers: {}, body: "socket_id=1.2&channel_name=private-a" },
      415,
      "needs a Content-Type"
    ],
    ["text/plain", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }, 415, "not text/plain"],
    [
      "invalid JSON",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{" },
      400,
      "the body is not valid JSON"
    ],
    [
      "a JSON array",
      { method: "POST", headers: { "content-type": "application/json" }, body: "[]" },
      400,
      "must be an object"
    ],
    ["no socket_id", formRequest("channel_name=private-a"), 400, "socket_id is missing"],
    ["an empty socket_id", formRequest("socket_id=&channel_name=private-a"), 400, "socket_id is missing"],
    [
      "a numeric socket_id",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"socket_id":1.2,"channel_name":"private-a"}'
      },
      400,
      "socket_id must be a string"
    ],
    [
      "a malformed socket_id",
      formRequest("socket_id=12&channel_name=private-a"),
      400,
      "socket_id must look like '1234.5678'"
    ],
    [
      "two socket_ids",
      formRequest("socket_id=1.2&socket_id=3.4&channel_name=private-a"),
      400,
      "socket_id is given more than once"
    ],
    ["no channel_name", formRequest("socket_id=1.2"), 400, "channel_name is missing"],
    ["a public channel", formRequest("socket_id=1.2&channel_name=orders"), 400, "only private- and presence- channels"],
    [
      "a channel name the server refuses",
      formRequest("socket_id=1.2&channel_name=private-a%20b"),
      400,
      "channel_name may contain only"
    ],
    [
      "bytes that are not UTF-8",
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new Uint8Array([0xff, 0xfe])
      },
      400,
      "not UTF-8"
    ],
    [
      "a body over 16 KiB",
      formRequest(`socket_id=1.2&channel_name=private-a&pad=${"x".repeat(16 * 1024)}`),
      413,
      "larger than 16384 bytes"
    ],
    [
      "a body over the limit, not read",
      { method: "POST", headers: {}, body: { _tag: "Unavailable", reason: "TooLarge" } },
      413,
      "larger than"
    ],
    [
      "a body someone else read",
      { method: "POST", headers: {}, body: { _tag: "Unavailable", reason: "Consumed" } },
      500,
      "internal error"
    ],
    [
      "a parsed body that is not an object",
      { method: "POST", headers: {}, body: { _tag: "Parsed", value: "x" } },
      400,
      "must be a JSON object or form fields"
    ]
  ]
  for (const [what, request, status, message] of malformed) {
    it.effect(`${what}: ${status}, and the authorizer is not asked`, () =>
      Effect.gen(function* () {
        const { endpoint, calls } = recording()
        const response = yield* endpoint.handle(request)
        assert.strictEqual(response.status, status)
        assert.include((jsonOf(response) as { error: string }).error, message)
        if (status === 405) assert.strictEqual(response.headers.allow, "POST")
        if (what !== "a channel name the server refuses") assert.strictEqual(calls.length, 0)
      }).pipe(Effect.provide(Test))
    )
  }

  it.effect("a body a framework already parsed (express.urlencoded, express.json) is read from its fields", () =>
    Effect.gen(function* () {
      const { endpoint } = recording()
      const response = yield* endpoint.handle({
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: { _tag: "Parsed", value: { socket_id: "1.2", channel_name: "private-a" } }
      })
      expect(jsonOf(response)).toEqual(pusher.authorizeChannel("1.2", "private-a"))
    }).pipe(Effect.provide(Test))
  )

  it("refuses options without an authorize function, or with a bad maxBodyBytes, when it is built", () => {
    expect(() => Endpoints.channelAuthorization({} as never)).toThrow(
      expect.objectContaining({ _tag: "SockudoValidationError", field: "authorize" })
    )
    expect(() => Endpoints.channelAuthorization({ authorize: () => Endpoints.allow(), maxBodyBytes: 0 })).toThrow(
      expect.objectContaining({ _tag: "SockudoValidationError", field: "maxBodyBytes" })
    )
  })
})

describe("Endpoints.userAuthentication", () => {
  it.effect("answers pusher:signin's request with the user auth the pusher package signs", () =>
    Effect.gen(function* () {
      const seen: Array<Endpoints.UserAuthenticationRequest> = []
      const endpoint = Endpoints.userAuthentication({
        authenticate: (request) => {
          seen.push(request)
          return Endpoints.signIn({ id: "ada", user_info: { name: "Ada" }, watchlist: ["grace"] })
        }
      })
      const response = yield* endpoint.handle(formRequest("socket_id=123.456&device=phone"))
      assert.strictEqual(response.status, 200)
      expect(jsonOf(response)).toEqual(
        pusher.authenticateUser("123.456", { id: "ada", user_info: { name: "Ada" }, watchlist: ["grace"] })
      )
      expect(seen[0]).toMatchObject({ socketId: "123.456", params: { device: "phone" } })
    }).pipe(Effect.provide(Test))
  )

  it.effect("denied: 403; a user without an id: a logged 500; no socket_id: 400", () =>
    Effect.gen(function* () {
      const denied = Endpoints.userAuthentication({ authenticate: () => Endpoints.deny("sign in first") })
      const response = yield* denied.handle(formRequest("socket_id=1.2"))
      expect({ status: response.status, body: jsonOf(response) }).toEqual({
        status: 403,
        body: { error: "sign in first" }
      })
      const noId = Endpoints.userAuthentication({ authenticate: () => Endpoints.signIn({} as never) })
      const { result, lines } = yield* logged(noId.handle(formRequest("socket_id=1.2")))
      assert.strictEqual(result.status, 500)
      assert.include(lines[0]!.cause, "userData.id must be a non-empty string")
      const missing = yield* denied.handle(formRequest("user=ada"))
      expect({ status: missing.status, body: jsonOf(missing) }).toEqual({
        status: 400,
        body: { error: "socket_id is missing" }
      })
      const allowedChannel = Endpoints.userAuthentication({ authenticate: () => Endpoints.allow() as never })
      assert.strictEqual((yield* logged(allowedChannel.handle(formRequest("socket_id=1.2")))).result.status, 500)
    }).pipe(Effect.provide(Test))
  )
})

// ---------------------------------------------------------------------------------------------

const sign = (body: string | Uint8Array, secret = "app-secret") =>
  createHmac("sha256", secret).update(body).digest("hex")
const webhookRequest = (body: string, headers: Record<string, string> = {}): Endpoints.EndpointRequest => ({
  method: "POST",
  headers: {
    "content-type": "application/json",
    "x-pusher-key": "app-key",
    "x-pusher-signature": sign(body),
    ...headers
  },
  body
})
const hookBody = JSON.stringify({
  time_ms: 1_700_000_000_000,
  events: [
    { name: "member_added", channel: "presence-room", user_id: "ada" },
    { name: "channel_occupied", channel: "orders" }
  ]
})

describe("Endpoints.webhooks", () => {
  it.effect("verifies the raw body, hands the typed events to the handler, answers 200", () =>
    Effect.gen(function* () {
      const received: Array<unknown> = []
      const endpoint = Endpoints.webhooks({
        handle: (webhook, { headers }) => {
          received.push(webhook, headers.get("x-pusher-key"))
        }
      })
      const response = yield* endpoint.handle(webhookRequest(hookBody))
      expect(response).toEqual({
        status: 200,
        headers: { "content-type": "application/json", "cache-control": "no-store" },
        body: '{"ok":true}'
      })
      expect(received).toEqual([
        {
          time_ms: 1_700_000_000_000,
          events: [
            { _tag: "MemberAdded", name: "member_added", channel: "presence-room", user_id: "ada" },
            { _tag: "ChannelOccupied", name: "channel_occupied", channel: "orders" }
          ]
        },
        "app-key"
      ])
      // the bytes as received work the same
      const bytes = new TextEncoder().encode(hookBody)
      const asBytes = yield* endpoint.handle({ ...webhookRequest(hookBody), body: bytes })
      assert.strictEqual(asBytes.status, 200)
    }).pipe(Effect.provide(Test))
  )

  it.effect("401 for a wrong signature, a missing or unknown key; 400 for a signed body that is no webhook", () =>
    Effect.gen(function* () {
      let calls = 0
      const endpoint = Endpoints.webhooks({
        handle: () => {
          calls++
        }
      })
      const tampered = yield* endpoint.handle({ ...webhookRequest(hookBody), body: hookBody.replace("ada", "eve") })
      expect({ status: tampered.status, body: jsonOf(tampered) }).toEqual({
        status: 401,
        body: { error: "the webhook signature does not match its body" }
      })
      const otherSecret = yield* endpoint.handle(
        webhookRequest(hookBody, { "x-pusher-signature": sign(hookBody, "other") })
      )
      assert.strictEqual(otherSecret.status, 401)
      const unknownKey = yield* endpoint.handle(webhookRequest(hookBody, { "x-pusher-key": "someone-else" }))
      assert.strictEqual(unknownKey.status, 401)
      const { "x-pusher-key": _, ...withoutKey } = webhookRequest(hookBody).headers as Record<string, string>
      assert.strictEqual((yield* endpoint.handle({ method: "POST", headers: withoutKey, body: hookBody })).status, 401)
      const notAWebhook = yield* endpoint.handle(webhookRequest('{"hello":"world"}'))
      expect({ status: notAWebhook.status, body: jsonOf(notAWebhook) }).toEqual({
        status: 400,
        body: { error: "the webhook body has no numeric 'time_ms'" }
      })
      assert.strictEqual(calls, 0)
    }).pipe(Effect.provide(Test))
  )

  for (const [how, handle] of [
    ["fails", () => Effect.fail("queue is down")],
    ["rejects", () => Promise.reject(new Error("queue is down"))],
    [
      "throws",
      () => {
        throw new Error("queue is down")
      }
    ]
  ] as const) {
    it.effect(`a handler that ${how} is answered 500, so the server sends the webhook again`, () =>
      Effect.gen(function* () {
        const endpoint = Endpoints.webhooks({ handle })
        const { result, lines } = yield* logged(endpoint.handle(webhookRequest(hookBody)))
        expect({ status: result.status, body: result.body }).toEqual({
          status: 500,
          body: '{"error":"internal error"}'
        })
        assert.include(lines[0]!.cause, "queue is down")
      }).pipe(Effect.provide(Test))
    )
  }

  const encryptedHook = () => {
    const channel = "private-encrypted-chat"
    const key = (pusher as unknown as { channelSharedSecret: (channel: string) => Buffer }).channelSharedSecret(channel)
    const nonce = nacl.randomBytes(24)
    const sealed = nacl.secretbox(new TextEncoder().encode('{"text":"hi"}'), nonce, new Uint8Array(key))
    const data = JSON.stringify({
      nonce: Buffer.from(nonce).toString("base64"),
      ciphertext: Buffer.from(sealed).toString("base64")
    })
    const body = JSON.stringify({
      time_ms: 1,
      events: [{ name: "client_event", channel, event: "client-message", data, socket_id: "1.2" }]
    })
    const received: Array<unknown> = []
    const endpoint = Endpoints.webhooks({ handle: (webhook) => Effect.sync(() => received.push(...webhook.events)) })
    return { channel, body, received, endpoint }
  }

  it.effect("opens client events on encrypted channels (sealed with tweetnacl) before the handler sees them", () =>
    Effect.gen(function* () {
      const { channel, body, received, endpoint } = encryptedHook()
      assert.strictEqual((yield* endpoint.handle(webhookRequest(body))).status, 200)
      expect(received).toEqual([
        {
          _tag: "ClientEvent",
          name: "client_event",
          channel,
          event: "client-message",
          data: '{"text":"hi"}',
          socket_id: "1.2"
        }
      ])
    }).pipe(Effect.provide(Test))
  )

  it.effect(
    "an encrypted event without the master key reaches the handler as an UndecryptableEvent; the handler decides",
    () =>
      Effect.gen(function* () {
        const { channel, body, received, endpoint } = encryptedHook()
        assert.strictEqual((yield* endpoint.handle(webhookRequest(body))).status, 200)
        expect(received).toMatchObject([
          {
            _tag: "UndecryptableEvent",
            channel,
            event: "client-message",
            socket_id: "1.2",
            error: { _tag: "SockudoEncryptionError", reason: "MissingMasterKey" }
          }
        ])
        // A handler that wants the event again once the key is configured fails: 500, the server retries.
        const strict = Endpoints.webhooks({
          handle: (webhook) =>
            webhook.events.some((event) => event._tag === "UndecryptableEvent")
              ? Effect.fail("no master key yet")
              : Effect.void
        })
        const { result } = yield* logged(strict.handle(webhookRequest(body)))
        assert.strictEqual(result.status, 500)
      }).pipe(Effect.provide(SockudoTest.layer()))
  )

  it.effect("405 for other methods, 413 over the limit, and a logged 500 for a body a framework parsed", () =>
    Effect.gen(function* () {
      let calls = 0
      const endpoint = Endpoints.webhooks({ maxBodyBytes: 64, handle: () => void calls++ })
      assert.strictEqual((yield* endpoint.handle({ method: "PUT", headers: {}, body: "" })).status, 405)
      const big = yield* endpoint.handle(webhookRequest(hookBody))
      expect({ status: big.status, body: jsonOf(big) }).toEqual({
        status: 413,
        body: { error: "the body is larger than 64 bytes" }
      })
      const { result, lines } = yield* logged(
        Endpoints.webhooks({ handle: () => void calls++ }).handle({
          ...webhookRequest(hookBody),
          body: { _tag: "Parsed", value: JSON.parse(hookBody) }
        })
      )
      assert.strictEqual(result.status, 500)
      assert.include(String((lines[0]!.message as Array<string>)[0]), "its signature covers the raw body")
      assert.strictEqual(calls, 0)
    }).pipe(Effect.provide(Test))
  )
})

describe("Sockudo auth endpoints sign with the service's credentials", () => {
  it.effect("another app's credentials give another auth", () =>
    Effect.gen(function* () {
      const { endpoint } = recording()
      const response = yield* endpoint.handle(formRequest(form({ socket_id: "1.2", channel_name: "private-a" })))
      const other = new Pusher({ appId: "2", key: "k2", secret: "s2", host: "sockudo.test" })
      expect(jsonOf(response)).toEqual(other.authorizeChannel("1.2", "private-a"))
      const sockudo = yield* Sockudo.Sockudo
      expect(jsonOf(response)).toEqual(yield* sockudo.authorizeChannel("1.2", "private-a"))
    }).pipe(Effect.provide(SockudoTest.layer({ config: { appId: "2", key: "k2", secret: Redacted.make("s2") } })))
  )
})

// ---------------------------------------------------------------------------------------------
// Adapters

const authBody = "socket_id=123.456&channel_name=private-orders"
const authInit = (body: BodyInit, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body
})

/** A body stream of `chunks` chunks of 1 KiB, counting how many were pulled. */
const countingStream = (chunks: number) => {
  let pulled = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled++ >= chunks) controller.close()
      else controller.enqueue(new Uint8Array(1024).fill(97))
    }
  })
  return { stream, pulled: () => pulled }
}

/** A logger that keeps every line, for runtimes outside `it.effect`. */
const loggedLines: Array<{ readonly message: unknown }> = []
const Keep = Logger.layer([Logger.make((options) => void loggedLines.push({ message: options.message }))])

describe("Endpoints.toFetch", () => {
  const runtime = ManagedRuntime.make(Layer.merge(Test, Keep))
  afterAll(() => runtime.dispose())
  const authorize = Endpoints.toFetch(recording().endpoint, runtime)

  it("answers a Fetch Request with a Fetch Response", async () => {
    const response = await authorize(new Request("http://app.test/pusher/auth", authInit(authBody)))
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("content-type"), "application/json")
    assert.strictEqual(response.headers.get("cache-control"), "no-store")
    expect(await response.json()).toEqual(pusher.authorizeChannel("123.456", "private-orders"))
  })

  it("stops reading a body over the limit and answers 413", async () => {
    const { stream, pulled } = countingStream(1000)
    const response = await authorize(
      new Request("http://app.test/pusher/auth", { ...authInit(stream), duplex: "half" } as RequestInit)
    )
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 413,
      body: { error: "the body is larger than 16384 bytes" }
    })
    assert.isBelow(pulled(), 40)
  })

  it("405 for a GET; 500 (logged) for a body a middleware already read", async () => {
    const get = await authorize(new Request("http://app.test/pusher/auth"))
    assert.strictEqual(get.status, 405)
    assert.strictEqual(get.headers.get("allow"), "POST")
    const read = new Request("http://app.test/pusher/auth", authInit(authBody))
    await read.text()
    const response = await authorize(read)
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 500,
      body: { error: "internal error" }
    })
    expect(loggedLines.map((l) => l.message)).toContainEqual([
      "Endpoints.channelAuthorization: the request body was read before the endpoint could read it (a body parser or middleware on this route?)"
    ])
  })
})

describe("Endpoints.layerRoute (effect's HttpRouter)", () => {
  const app = HttpRouter.toWebHandler(
    Layer.mergeAll(
      Endpoints.layerRoute("/pusher/auth", recording().endpoint),
      Endpoints.layerRoute("/pusher/webhooks", Endpoints.webhooks({ handle: () => undefined }))
    ).pipe(Layer.provideMerge(Test)),
    { disableLogger: true }
  )
  afterAll(() => app.dispose())

  it("mounts the endpoints as routes of the app", async () => {
    const response = await app.handler(new Request("http://app.test/pusher/auth", authInit(authBody)))
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("content-type"), "application/json")
    expect(await response.json()).toEqual(pusher.authorizeChannel("123.456", "private-orders"))
    const hook = await app.handler(
      new Request("http://app.test/pusher/webhooks", {
        method: "POST",
        headers: { "x-pusher-key": "app-key", "x-pusher-signature": sign(hookBody) },
        body: hookBody
      })
    )
    expect({ status: hook.status, body: await hook.json() }).toEqual({ status: 200, body: { ok: true } })
    const get = await app.handler(new Request("http://app.test/pusher/auth"))
    assert.strictEqual(get.status, 405)
  })

  it("reads at most the limit of a streamed body", async () => {
    const { stream, pulled } = countingStream(1000)
    const response = await app.handler(
      new Request("http://app.test/pusher/auth", { ...authInit(stream), duplex: "half" } as RequestInit)
    )
    assert.strictEqual(response.status, 413)
    assert.isBelow(pulled(), 40)
  })
})
