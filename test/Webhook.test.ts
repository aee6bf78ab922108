/**
 * Conformance of webhook verification and parsing (`src/Webhook.ts`, `sockudo.webhooks.verify`):
 * - signatures are checked against the official `pusher` package (its `Token` signs, its
 *   `webhook(...).isValid()` judges) and against HMAC-SHA256 computed here with `node:crypto`;
 * - every event of the server's catalogue (server reference §9.3) parses into its typed form,
 *   unknown events and unknown fields survive;
 * - `client_event` data on `private-encrypted-` channels, sealed here with `tweetnacl`, comes out
 *   decrypted;
 * - each failure has its own error class, and no error shows a secret.
 * Fixed vectors of the server reference (§12) are in `Vectors.test.ts`.
 */
import { createHash, createHmac } from "node:crypto"
import { createRequire } from "node:module"
import { inspect } from "node:util"
import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Redacted, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import Pusher from "pusher"
import nacl from "tweetnacl"
import { vi } from "vitest"
import { Webhook } from "../src/index.ts"
import * as G from "./support/generators.ts"
import { layer, sockudo } from "./support/harness.ts"

/** Every constant-time comparison made by the SDK: the lengths of the two strings it compared. */
const timingSafe = vi.hoisted(() => ({ calls: [] as Array<readonly [number, number]> }))

vi.mock("../src/internal/Digest.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/internal/Digest.ts")>()
  return {
    ...original,
    equalHexConstantTime: (a: string, b: string) => {
      timingSafe.calls.push([a.length, b.length])
      return original.equalHexConstantTime(a, b)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Oracles

/** pusher's `Token`: what its webhook check signs and verifies with. */
const PusherToken = createRequire(import.meta.url)("pusher/lib/token.js") as new (
  key: string,
  secret: string
) => { sign: (body: string) => string; verify: (body: string, signature: string) => boolean }

const hmacHex = (secret: string, body: string | Uint8Array) => createHmac("sha256", secret).update(body).digest("hex")

/** pusher's verdict on a webhook (it wants lower-case header names and a JSON content type). */
const pusherAccepts = (
  credentials: { key: string; secret: string },
  headers: { key: string; signature: string },
  body: string,
  extra?: ReadonlyArray<{ key: string; secret: string }>
): boolean =>
  new Pusher({ appId: "1", key: credentials.key, secret: credentials.secret, host: "sockudo.test" })
    .webhook({
      headers: {
        "x-pusher-key": headers.key,
        "x-pusher-signature": headers.signature,
        "content-type": "application/json"
      },
      rawBody: body
    })
    .isValid(extra === undefined ? undefined : [...extra])

/** The `_tag` of each event name of server reference §9.3, written out independently. */
const catalogue: Readonly<Record<string, string>> = {
  channel_occupied: "ChannelOccupied",
  channel_vacated: "ChannelVacated",
  subscription_count: "SubscriptionCount",
  member_added: "MemberAdded",
  member_removed: "MemberRemoved",
  member_updated: "MemberUpdated",
  client_event: "ClientEvent",
  cache_miss: "CacheMiss",
  message_version_created: "MessageVersionCreated",
  annotation_created: "AnnotationCreated",
  annotation_deleted: "AnnotationDeleted",
  ai_run_started: "AiRunStarted",
  ai_run_ended: "AiRunEnded",
  ai_turn_started: "AiTurnStarted",
  ai_turn_ended: "AiTurnEnded",
  ai_cancel_requested: "AiCancelRequested",
  ai_stream_cancelled: "AiStreamCancelled",
  ai_stream_orphaned: "AiStreamOrphaned"
}

/** A plain value in the type of a verified webhook, for comparisons. */
const asWebhook = (value: { readonly time_ms: number; readonly events: ReadonlyArray<object> }) =>
  value as unknown as Webhook.Webhook

/** What a correct parser makes of a body: the same fields, plus the event's `_tag`. */
const expectedWebhook = (body: string): Webhook.Webhook => {
  const json = JSON.parse(body) as { time_ms: number; events: Array<Record<string, unknown>> }
  return asWebhook({
    time_ms: json.time_ms,
    events: json.events.map((event) => ({
      ...event,
      _tag: Object.hasOwn(catalogue, event.name as string) ? catalogue[event.name as string] : "UnknownEvent"
    }))
  })
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

const channelKey = (masterKey: Uint8Array, channel: string) =>
  new Uint8Array(
    createHash("sha256")
      .update(Buffer.concat([Buffer.from(channel, "utf8"), masterKey]))
      .digest()
  )

/** A client's encrypted `data`, sealed with tweetnacl. */
const naclSeal = (masterKey: Uint8Array, channel: string, plaintext: string, nonce: Uint8Array) =>
  JSON.stringify({
    nonce: b64(nonce),
    ciphertext: b64(nacl.secretbox(new TextEncoder().encode(plaintext), nonce, channelKey(masterKey, channel)))
  })

// ---------------------------------------------------------------------------------------------
// Requests in every shape a server framework hands them over

interface App {
  readonly key: string
  readonly secret: string
}

const credentialsOf = (app: App, masterKey?: Uint8Array): Webhook.Credentials => ({
  key: app.key,
  secret: Redacted.make(app.secret),
  ...(masterKey === undefined ? {} : { encryptionMasterKeyBase64: Redacted.make(b64(masterKey)) })
})

type Shape = (key: string, signature: string, body: string) => Webhook.WebhookRequest

const shapes: ReadonlyArray<readonly [string, Shape]> = [
  [
    "lower-case record, string body",
    (key, signature, body) => ({ headers: { "x-pusher-key": key, "x-pusher-signature": signature }, body })
  ],
  [
    "mixed-case record, Uint8Array body",
    (key, signature, body) => ({
      headers: { "Content-Type": "application/json", "X-Pusher-Key": key, "X-PUSHER-SIGNATURE": signature },
      body: new TextEncoder().encode(body)
    })
  ],
  [
    "Fetch Headers, Buffer body",
    (key, signature, body) => ({
      headers: new Headers({ "X-Pusher-Key": key, "x-pusher-signature": signature }),
      body: Buffer.from(body, "utf8")
    })
  ],
  [
    "Node IncomingHttpHeaders with array values",
    (key, signature, body) => ({
      headers: { "x-pusher-key": [key], "x-pusher-signature": [signature], "x-forwarded-for": undefined },
      body
    })
  ]
]

const flipResult = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) assert.fail(`expected a failure, got ${JSON.stringify(result.success).slice(0, 200)}`)
  return (result as Result.Failure<A, E>).failure
}

const WEBHOOKS = G.cases(5001, 300, (gen) => ({
  app: { key: G.appKey(gen), secret: G.appSecret(gen) },
  body: G.webhookBody(gen)
}))

// ---------------------------------------------------------------------------------------------

describe("signatures agree with pusher", () => {
  it("our X-Pusher-Signature is pusher's and node:crypto's HMAC, and pusher accepts it: 300 generated bodies", () => {
    for (const [i, { app, body }] of WEBHOOKS.entries()) {
      const signature = Webhook.sign(Redacted.make(app.secret), body)
      assert.strictEqual(signature, hmacHex(app.secret, body), `case ${i}`)
      assert.strictEqual(signature, new PusherToken(app.key, app.secret).sign(body), `case ${i}`)
      assert.strictEqual(Webhook.sign(Redacted.make(app.secret), new TextEncoder().encode(body)), signature)
      assert.isTrue(pusherAccepts(app, { key: app.key, signature }, body), `case ${i}`)
    }
  })

  it("we accept what pusher signs and parse it in every header/body shape: 300 generated bodies x 4 shapes", () => {
    for (const [i, { app, body }] of WEBHOOKS.entries()) {
      const signature = new PusherToken(app.key, app.secret).sign(body)
      const expected = expectedWebhook(body)
      for (const [name, shape] of shapes) {
        const result = Webhook.verifyResult(shape(app.key, signature, body), credentialsOf(app))
        assert.deepStrictEqual(result, Result.succeed(expected), `case ${i}, ${name}`)
      }
    }
  })

  it("we refuse what pusher refuses: a changed body, a wrong secret, a wrong key: 300 generated bodies", () => {
    for (const [i, { app, body }] of WEBHOOKS.entries()) {
      const credentials = credentialsOf(app)
      const signature = hmacHex(app.secret, body)
      const tampered = body.endsWith("}") ? `${body.slice(0, -1)} }` : `${body} `
      assert.isFalse(pusherAccepts(app, { key: app.key, signature }, tampered))
      const a = flipResult(
        Webhook.verifyResult(
          { headers: { "x-pusher-key": app.key, "x-pusher-signature": signature }, body: tampered },
          credentials
        )
      )
      assert.strictEqual(a._tag, "SockudoWebhookSignatureError", `case ${i}`)

      const forged = hmacHex(`${app.secret}x`, body)
      assert.isFalse(pusherAccepts(app, { key: app.key, signature: forged }, body))
      const b = flipResult(
        Webhook.verifyResult({ headers: { "x-pusher-key": app.key, "x-pusher-signature": forged }, body }, credentials)
      )
      assert.strictEqual(b._tag, "SockudoWebhookSignatureError", `case ${i}`)

      const otherKey = `${app.key}0`
      assert.isFalse(pusherAccepts(app, { key: otherKey, signature }, body))
      const c = flipResult(
        Webhook.verifyResult(
          { headers: { "x-pusher-key": otherKey, "x-pusher-signature": signature }, body },
          credentials
        )
      )
      assert.strictEqual(c._tag, "SockudoWebhookKeyError", `case ${i}`)
    }
  })

  it.effect("sockudo.webhooks.verify uses the configured key and secret: 60 generated apps and bodies", () =>
    Effect.gen(function* () {
      for (const [i, { app, body }] of WEBHOOKS.slice(0, 60).entries()) {
        const verify = Effect.gen(function* () {
          const s = yield* sockudo
          const signature = hmacHex(app.secret, body)
          const webhook = yield* s.webhooks.verify({
            headers: { "X-Pusher-Key": app.key, "X-Pusher-Signature": signature },
            body
          })
          assert.deepStrictEqual(webhook, expectedWebhook(body), `case ${i}`)
          const wrong = yield* Effect.flip(
            s.webhooks.verify({
              headers: { "x-pusher-key": app.key, "x-pusher-signature": hmacHex("app-secret", body) },
              body
            })
          )
          assert.strictEqual(wrong._tag, "SockudoWebhookSignatureError")
        })
        yield* Effect.provide(verify, layer(undefined, { key: app.key, secret: Redacted.make(app.secret) }))
      }
    })
  )

  it("additional credentials (secret rotation, several apps) are chosen by X-Pusher-Key, as pusher's extra tokens", () => {
    const primary = { key: "primary", secret: "s1" }
    const extra = [
      { key: "rotated", secret: "s2" },
      { key: "other-app", secret: "ä-s3" }
    ]
    const credentials: Webhook.Credentials = {
      ...credentialsOf(primary),
      additional: extra.map((c) => ({ key: c.key, secret: Redacted.make(c.secret) }))
    }
    for (const [i, { body }] of WEBHOOKS.slice(0, 50).entries()) {
      for (const c of [primary, ...extra]) {
        const signature = hmacHex(c.secret, body)
        assert.isTrue(pusherAccepts(primary, { key: c.key, signature }, body, extra))
        const result = Webhook.verifyResult(
          { headers: { "x-pusher-key": c.key, "x-pusher-signature": signature }, body },
          credentials
        )
        assert.deepStrictEqual(result, Result.succeed(expectedWebhook(body)), `case ${i}, ${c.key}`)
        // Another app's secret under this key is refused by both.
        const crossed = hmacHex(c === primary ? "s2" : "s1", body)
        assert.isFalse(pusherAccepts(primary, { key: c.key, signature: crossed }, body, extra))
        const error = flipResult(
          Webhook.verifyResult({ headers: { "x-pusher-key": c.key, "x-pusher-signature": crossed }, body }, credentials)
        )
        assert.strictEqual(error._tag, "SockudoWebhookSignatureError")
      }
    }
  })
})

describe("the signature check", () => {
  const app = { key: "app-key", secret: "app-secret" }
  const credentials = credentialsOf(app)
  const body = '{"time_ms":1,"events":[{"name":"channel_occupied","channel":"orders"}]}'
  const good = hmacHex(app.secret, body)
  const check = (headers: Webhook.WebhookRequest["headers"], b: string | Uint8Array = body) =>
    Webhook.verifyResult({ headers, body: b }, credentials)

  it("compares in constant time over two 64-character hex strings, for a right and for a wrong signature", () => {
    timingSafe.calls.length = 0
    assert.isTrue(Result.isSuccess(check({ "x-pusher-key": app.key, "x-pusher-signature": good })))
    assert.deepStrictEqual(timingSafe.calls, [[64, 64]])
    timingSafe.calls.length = 0
    const wrong = `${good.slice(0, 63)}${good.endsWith("0") ? "1" : "0"}`
    assert.strictEqual(
      flipResult(check({ "x-pusher-key": app.key, "x-pusher-signature": wrong }))._tag,
      "SockudoWebhookSignatureError"
    )
    assert.deepStrictEqual(timingSafe.calls, [[64, 64]])
  })

  it("a signature differing in any one hex digit is refused", () => {
    for (let i = 0; i < good.length; i++) {
      const digit = good[i] === "a" ? "b" : "a"
      const wrong = good.slice(0, i) + digit + good.slice(i + 1)
      const error = flipResult(check({ "x-pusher-key": app.key, "x-pusher-signature": wrong }))
      assert.strictEqual(error._tag, "SockudoWebhookSignatureError", `digit ${i}`)
    }
  })

  const badSignatures: ReadonlyArray<readonly [string, Webhook.WebhookRequest["headers"]]> = [
    ["no signature header", { "x-pusher-key": app.key }],
    ["an undefined signature header", { "x-pusher-key": app.key, "x-pusher-signature": undefined }],
    ["an empty signature", { "x-pusher-key": app.key, "x-pusher-signature": "" }],
    ["an empty array of signatures", { "x-pusher-key": app.key, "x-pusher-signature": [] }],
    ["a truncated signature", { "x-pusher-key": app.key, "x-pusher-signature": good.slice(0, 63) }],
    ["a signature with an extra digit", { "x-pusher-key": app.key, "x-pusher-signature": `${good}0` }],
    ["a signature that is not hex", { "x-pusher-key": app.key, "x-pusher-signature": "z".repeat(64) }],
    ["a multi-byte signature of 64 code units", { "x-pusher-key": app.key, "x-pusher-signature": "é".repeat(64) }],
    [
      "the base64 of the HMAC",
      { "x-pusher-key": app.key, "x-pusher-signature": Buffer.from(good, "hex").toString("base64") }
    ],
    ["a 'sha256=' prefixed signature", { "x-pusher-key": app.key, "x-pusher-signature": `sha256=${good}` }],
    ["the signature of the empty body", { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(app.secret, "") }]
  ]
  for (const [name, headers] of badSignatures) {
    it(`${name}: SockudoWebhookSignatureError`, () => {
      assert.strictEqual(flipResult(check(headers))._tag, "SockudoWebhookSignatureError")
    })
  }

  const badKeys: ReadonlyArray<readonly [string, Webhook.WebhookRequest["headers"]]> = [
    ["no key header", { "x-pusher-signature": good }],
    ["another app's key", { "x-pusher-key": "other-key", "x-pusher-signature": good }],
    ["the key in another letter case", { "x-pusher-key": "APP-KEY", "x-pusher-signature": good }],
    ["an empty key", { "x-pusher-key": "", "x-pusher-signature": good }],
    ["no key in a Headers object", new Headers({ "x-pusher-signature": good })]
  ]
  for (const [name, headers] of badKeys) {
    it(`${name}: SockudoWebhookKeyError`, () => {
      assert.strictEqual(flipResult(check(headers))._tag, "SockudoWebhookKeyError")
    })
  }

  it("covers the raw bytes: re-serialised JSON of the same value is refused", () => {
    const reformatted = JSON.stringify(JSON.parse(body), null, 2)
    const error = flipResult(check({ "x-pusher-key": app.key, "x-pusher-signature": good }, reformatted))
    assert.strictEqual(error._tag, "SockudoWebhookSignatureError")
  })

  it("hex digits are compared case-insensitively and surrounding whitespace is ignored (pusher is stricter)", () => {
    assert.isTrue(Result.isSuccess(check({ "x-pusher-key": app.key, "x-pusher-signature": good.toUpperCase() })))
    assert.isTrue(Result.isSuccess(check({ "x-pusher-key": app.key, "x-pusher-signature": ` ${good}\t` })))
    assert.isFalse(pusherAccepts(app, { key: app.key, signature: good.toUpperCase() }, body))
  })
})

describe("bodies", () => {
  const app = { key: "app-key", secret: "app-secret" }
  const credentials = credentialsOf(app)
  const signed = (body: string | Uint8Array) =>
    Webhook.verifyResult(
      { headers: { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(app.secret, body) }, body },
      credentials
    )

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["empty", ""],
    ["not JSON", "time_ms=1"],
    ["truncated JSON", '{"time_ms":1,"events":['],
    ["null", "null"],
    ["an array", "[]"],
    ["a string", '"{}"'],
    ["no time_ms", '{"events":[]}'],
    ["a string time_ms", '{"time_ms":"1","events":[]}'],
    ["no events", '{"time_ms":1}'],
    ["events as an object", '{"time_ms":1,"events":{}}'],
    ["an event that is not an object", '{"time_ms":1,"events":["channel_occupied"]}'],
    ["an event that is null", '{"time_ms":1,"events":[null]}'],
    ["an event without a name", '{"time_ms":1,"events":[{"channel":"a"}]}'],
    ["an event with a numeric name", '{"time_ms":1,"events":[{"name":1,"channel":"a"}]}'],
    ["a known event without its channel", '{"time_ms":1,"events":[{"name":"channel_occupied"}]}'],
    [
      "a known event with a mistyped field",
      '{"time_ms":1,"events":[{"name":"subscription_count","channel":"a","subscription_count":"3"}]}'
    ],
    ["member_added without user_id", '{"time_ms":1,"events":[{"name":"member_added","channel":"presence-a"}]}']
  ]
  for (const [name, body] of malformed) {
    it(`${name}: SockudoWebhookBodyError (after a valid signature)`, () => {
      assert.strictEqual(flipResult(signed(body))._tag, "SockudoWebhookBodyError")
    })
  }

  it("a signed body that is not UTF-8: SockudoWebhookBodyError", () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"time_ms":1,"events":[{"name":"x","v":"'),
      0xff,
      0x22,
      0x7d,
      0x5d,
      0x7d
    ])
    assert.strictEqual(flipResult(signed(bytes))._tag, "SockudoWebhookBodyError")
  })

  it("a string and its UTF-8 bytes give the same webhook: 300 generated bodies", () => {
    for (const [i, { body }] of WEBHOOKS.entries()) {
      assert.deepStrictEqual(signed(new TextEncoder().encode(body)), signed(body), `case ${i}`)
    }
  })

  it("an empty events array and a pretty-printed body are fine", () => {
    assert.deepStrictEqual(
      signed('{"time_ms":1700000000000,"events":[]}'),
      Result.succeed({ time_ms: 1700000000000, events: [] })
    )
    const pretty = '{\n  "time_ms": 5,\n  "events": [\n    { "name": "channel_vacated", "channel": "a" }\n  ]\n}'
    assert.deepStrictEqual(
      signed(pretty),
      Result.succeed({ time_ms: 5, events: [{ _tag: "ChannelVacated", name: "channel_vacated", channel: "a" }] })
    )
  })
})

describe("the event catalogue (server reference §9.3)", () => {
  const examples: ReadonlyArray<Record<string, unknown>> = [
    { name: "channel_occupied", channel: "orders" },
    { name: "channel_vacated", channel: "private-orders" },
    { name: "subscription_count", channel: "orders", subscription_count: 42 },
    { name: "member_added", channel: "presence-room", user_id: "u1" },
    { name: "member_removed", channel: "presence-room", user_id: "ü-2" },
    { name: "member_updated", channel: "presence-room", user_id: "u1", user_info: { name: "Ada", tags: ["x"] } },
    { name: "client_event", channel: "private-chat", event: "client-typing", data: '{"on":true}', socket_id: "1.2" },
    {
      name: "client_event",
      channel: "presence-room",
      event: "client-move",
      data: { x: 1, y: [2, 3] },
      socket_id: "123.456",
      user_id: "u1"
    },
    { name: "client_event", channel: "private-bin", event: "client-bin", data: [1, 2, 255], socket_id: "1.1" },
    { name: "cache_miss", channel: "cache-prices", data: "{}" },
    ...["message.create", "message.update", "message.delete", "message.append"].map((action) => ({
      name: "message_version_created",
      channel: "chat",
      message_serial: "01HZX0000000000000000000AA",
      version_serial: "01HZX0000000000000000000AB",
      action
    })),
    {
      name: "annotation_created",
      channel: "chat",
      message_serial: "m1",
      annotation_serial: "a1",
      annotation_type: "reactions:distinct.v1"
    },
    {
      name: "annotation_deleted",
      channel: "chat",
      message_serial: "m1",
      annotation_serial: "a2",
      deleted_annotation_serial: "a1",
      annotation_type: "reactions:distinct.v1"
    },
    { name: "ai_run_started", channel: "ai-chat", run_id: "r1", client_id: "c1" },
    { name: "ai_run_started", channel: "ai-chat", run_id: "r2", client_id: null },
    { name: "ai_run_ended", channel: "ai-chat", run_id: "r1", reason: "completed", error_code: null },
    { name: "ai_run_ended", channel: "ai-chat", run_id: "r2", reason: "failed", error_code: "model_error" },
    { name: "ai_turn_started", channel: "ai-chat", turn_id: "t1", client_id: "c1" },
    { name: "ai_turn_started", channel: "ai-chat", turn_id: "t2", client_id: null },
    { name: "ai_turn_ended", channel: "ai-chat", turn_id: "t1", reason: "cancelled", error_code: null },
    { name: "ai_cancel_requested", channel: "ai-chat", run_id: "r1", turn_id: "r1", client_id: "c1" },
    { name: "ai_cancel_requested", channel: "ai-chat", run_id: "r3", turn_id: "r3", client_id: null },
    { name: "ai_stream_cancelled", channel: "ai-chat", message_serial: "m9", reason: "client_cancel" },
    { name: "ai_stream_orphaned", channel: "ai-chat", message_serial: "m9", reason: "owner_gone" }
  ]

  const verifyBody = (body: string) =>
    Webhook.verifyResult(
      { headers: { "x-pusher-key": "k", "x-pusher-signature": hmacHex("s", body) }, body },
      credentialsOf({ key: "k", secret: "s" })
    )

  it("the SDK models exactly the catalogue's event names, and every one has an example here", () => {
    assert.deepStrictEqual(Object.keys(Webhook.eventSchemas).sort(), Object.keys(catalogue).sort())
    assert.deepStrictEqual([...new Set(examples.map((e) => e.name as string))].sort(), Object.keys(catalogue).sort())
    for (const [name, { tag }] of Object.entries(Webhook.eventSchemas)) assert.strictEqual(tag, catalogue[name], name)
  })

  for (const example of examples) {
    it(`${example.name as string} ${JSON.stringify(example).slice(0, 90)}: typed, every field kept, unknown fields too`, () => {
      const withExtras = { ...example, future_field: { nested: [1, "ü"] }, "x-ünïcode": null }
      const body = JSON.stringify({ time_ms: 1_700_000_000_123, events: [withExtras] })
      assert.deepStrictEqual(
        verifyBody(body),
        Result.succeed(
          asWebhook({
            time_ms: 1_700_000_000_123,
            events: [{ ...withExtras, _tag: catalogue[example.name as string] }]
          })
        )
      )
    })
  }

  it("all of them in one batched body, in order", () => {
    const body = JSON.stringify({ time_ms: 7, events: examples })
    const result = verifyBody(body)
    assert.deepStrictEqual(result, Result.succeed(expectedWebhook(body)))
    if (Result.isSuccess(result)) {
      assert.deepStrictEqual(
        result.success.events.map((e) => e._tag),
        examples.map((e) => catalogue[e.name as string])
      )
    }
  })

  it("unknown events (push lifecycle names, future events) come through whole as UnknownEvent", () => {
    const unknown = [
      { name: "push.publish_failed", publishId: "p1", reason: "apns" },
      { name: "future_event", channel: "a", data: { deep: [null, true] }, count: 3 },
      { name: "channel_occupied_v2", channel: "a" },
      { name: "__proto__", channel: "a" },
      { name: "constructor" },
      { name: "" }
    ]
    const body = JSON.stringify({ time_ms: 1, events: unknown })
    assert.deepStrictEqual(
      verifyBody(body),
      Result.succeed({ time_ms: 1, events: unknown.map((e) => ({ ...e, _tag: "UnknownEvent" })) })
    )
  })

  it("narrows on _tag to the server's fields", () => {
    const body = JSON.stringify({ time_ms: 1, events: examples })
    const result = verifyBody(body)
    assert.isTrue(Result.isSuccess(result))
    const seen: Array<string> = []
    for (const event of Result.isSuccess(result) ? result.success.events : []) {
      switch (event._tag) {
        case "MemberAdded":
          seen.push(`+${event.user_id}`)
          break
        case "SubscriptionCount":
          seen.push(`#${event.subscription_count + 0}`)
          break
        case "AnnotationDeleted":
          seen.push(`-${event.deleted_annotation_serial}`)
          break
      }
    }
    assert.deepStrictEqual(seen, ["#42", "+u1", "-a1"])
  })
})

describe("decryption of client events on private-encrypted- channels", () => {
  const app = { key: "app-key", secret: "app-secret" }
  const signedRequest = (body: string): Webhook.WebhookRequest => ({
    headers: { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(app.secret, body) },
    body
  })

  const CASES = G.cases(5002, 150, (gen, i) => {
    const masterKey = gen.bytes(32)
    const channel = G.channelName(gen, "private-encrypted-")
    const plaintext = i % 3 === 0 ? JSON.stringify(G.jsonValue(gen, 3)) : G.text(gen, 0, i % 7 === 0 ? 3000 : 40)
    const data = naclSeal(masterKey, channel, plaintext, gen.bytes(24))
    const time_ms = gen.int(1_600_000_000_000, 1_900_000_000_000)
    const events = [
      { name: "client_event", channel, event: "client-msg", data, socket_id: G.socketId(gen), extra: 1 },
      { name: "client_event", channel: "private-plain", event: "client-msg", data, socket_id: G.socketId(gen) },
      { name: "member_added", channel, user_id: "u1" },
      { name: "client_event", channel, event: "client-obj", data: { not: "encrypted" }, socket_id: "1.1" },
      { name: "cache_miss", channel: "private-encrypted-cache-prices", data: "{}" },
      { name: "future_event", channel, data: "left as sent" }
    ]
    return { masterKey, channel, plaintext, body: JSON.stringify({ time_ms, events }), time_ms, events }
  })

  const decrypted = (c: (typeof CASES)[number]) =>
    asWebhook({
      time_ms: c.time_ms,
      events: c.events.map((e, i) => ({
        ...e,
        ...(i === 0 ? { data: c.plaintext } : {}),
        _tag: Object.hasOwn(catalogue, e.name) ? catalogue[e.name] : "UnknownEvent"
      }))
    })

  it('only client_event data is opened; a cache_miss\'s "{}" and unknown events stay as sent: 150 cases', () => {
    for (const [i, c] of CASES.entries()) {
      const result = Webhook.verifyResult(signedRequest(c.body), credentialsOf(app, c.masterKey))
      assert.deepStrictEqual(result, Result.succeed(decrypted(c)), `case ${i}`)
    }
  })

  it.effect("sockudo.webhooks.verify decrypts with the configured master key: 40 cases", () =>
    Effect.gen(function* () {
      for (const [i, c] of CASES.slice(0, 40).entries()) {
        const run = Effect.gen(function* () {
          const s = yield* sockudo
          assert.deepStrictEqual(yield* s.webhooks.verify(signedRequest(c.body)), decrypted(c), `case ${i}`)
        })
        yield* Effect.provide(run, layer(undefined, { encryptionMasterKeyBase64: Redacted.make(b64(c.masterKey)) }))
      }
    })
  )

  it.effect("Webhook.verify works without any service, as an Effect and synchronously", () =>
    Effect.gen(function* () {
      const c = CASES[1]!
      const credentials = credentialsOf(app, c.masterKey)
      assert.deepStrictEqual(yield* Webhook.verify(signedRequest(c.body), credentials), decrypted(c))
      assert.deepStrictEqual(Effect.runSync(Webhook.verify(signedRequest(c.body), credentials)), decrypted(c))
    })
  )

  const one = CASES[2]!
  const bodyWith = (data: string) =>
    JSON.stringify({
      time_ms: 1,
      events: [{ name: "client_event", channel: one.channel, event: "client-x", data, socket_id: "1.1" }]
    })
  const verified = (body: string, masterKey: Uint8Array | undefined) => {
    const result = Webhook.verifyResult(signedRequest(body), {
      key: app.key,
      secret: Redacted.make(app.secret),
      ...(masterKey === undefined ? {} : { encryptionMasterKeyBase64: Redacted.make(b64(masterKey)) })
    })
    if (Result.isFailure(result)) return assert.fail(`expected a webhook, got ${result.failure._tag}`)
    return result.success
  }
  /** The one event of `body`, which must have come through as an UndecryptableEvent. */
  const undecryptable = (body: string, masterKey: Uint8Array | undefined) => {
    const [event] = verified(body, masterKey).events
    if (event?._tag !== "UndecryptableEvent") return assert.fail(`expected an UndecryptableEvent, got ${event?._tag}`)
    const sent = (JSON.parse(body) as { events: Array<Record<string, unknown>> }).events[0]!
    expect(event).toMatchObject({ ...sent, _tag: "UndecryptableEvent" })
    return event.error
  }

  it("another master key: an UndecryptableEvent carrying DecryptionFailed naming the channel, data as sent", () => {
    expect(
      undecryptable(
        one.body,
        one.masterKey.map((b) => b ^ 0x80)
      )
    ).toMatchObject({
      _tag: "SockudoEncryptionError",
      reason: "DecryptionFailed",
      channel: one.channel
    })
  })

  it("tampered ciphertext: DecryptionFailed", () => {
    const envelope = JSON.parse(one.events[0]!.data as string) as { nonce: string; ciphertext: string }
    const bytes = Buffer.from(envelope.ciphertext, "base64")
    bytes[0]! ^= 1
    const body = bodyWith(JSON.stringify({ nonce: envelope.nonce, ciphertext: bytes.toString("base64") }))
    expect(undecryptable(body, one.masterKey)).toMatchObject({
      _tag: "SockudoEncryptionError",
      reason: "DecryptionFailed"
    })
  })

  it("plain text where ciphertext was expected: Malformed", () => {
    expect(undecryptable(bodyWith("hello"), one.masterKey)).toMatchObject({
      _tag: "SockudoEncryptionError",
      reason: "Malformed",
      channel: one.channel
    })
  })

  it("no master key configured: MissingMasterKey; but a body without encrypted events needs none", () => {
    expect(undecryptable(one.body, undefined)).toMatchObject({
      _tag: "SockudoEncryptionError",
      reason: "MissingMasterKey"
    })
    const plain = WEBHOOKS[0]!.body
    assert.isTrue(Result.isSuccess(Webhook.verifyResult(signedRequest(plain), credentialsOf(app))))
  })

  it("one undecryptable event among many: the others are delivered, typed and decrypted, in order", () => {
    const c = CASES[3]!
    const envelope = JSON.parse(c.events[0]!.data as string) as { nonce: string; ciphertext: string }
    const tampered = Buffer.from(envelope.ciphertext, "base64")
    tampered[tampered.length - 1]! ^= 1
    const bad = {
      ...c.events[0]!,
      data: JSON.stringify({ nonce: envelope.nonce, ciphertext: tampered.toString("base64") })
    }
    const events = [c.events[0]!, bad, c.events[2]!, c.events[0]!]
    const body = JSON.stringify({ time_ms: c.time_ms, events })
    const webhook = verified(body, c.masterKey)
    expect(webhook.events.map((e) => e._tag)).toEqual([
      "ClientEvent",
      "UndecryptableEvent",
      "MemberAdded",
      "ClientEvent"
    ])
    expect(webhook.events[0]).toMatchObject({ data: c.plaintext })
    expect(webhook.events[3]).toMatchObject({ data: c.plaintext })
    expect(webhook.events[1]).toMatchObject({
      ...bad,
      error: { _tag: "SockudoEncryptionError", reason: "DecryptionFailed", channel: c.channel }
    })
  })

  it.effect("sockudo.webhooks.verify delivers undecryptable events as entries too", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const webhook = yield* s.webhooks.verify(signedRequest(one.body))
      expect(webhook.events.map((e) => e._tag)).toEqual([
        "UndecryptableEvent",
        "ClientEvent",
        "MemberAdded",
        "ClientEvent",
        "CacheMiss",
        "UnknownEvent"
      ])
    }).pipe(Effect.provide(layer()))
  )

  for (const [name, encoded] of [
    ["16 bytes", b64(new Uint8Array(16))],
    ["33 bytes", b64(new Uint8Array(33))],
    ["not base64", "not base64!"],
    ["empty", ""]
  ] as const) {
    it(`a master key of ${name} is a typed error, not a silent wrong key`, () => {
      const error = flipResult(
        Webhook.verifyResult(signedRequest(one.body), {
          key: app.key,
          secret: Redacted.make(app.secret),
          encryptionMasterKeyBase64: Redacted.make(encoded)
        })
      )
      expect(error).toMatchObject({ _tag: "SockudoEncryptionError", reason: "MissingMasterKey", channel: one.channel })
      assert.include(error.message, "32 bytes")
      if (encoded !== "") assert.notInclude(error.message, encoded)
    })
  }
})

describe("secrets never show", () => {
  const secret = "s3cr3t-ä-webhook"
  const masterKey = new Uint8Array(32).map((_, i) => 200 - i)
  const app = { key: "app-key", secret }
  const channel = "private-encrypted-vault"
  const body = JSON.stringify({
    time_ms: 1,
    events: [
      {
        name: "client_event",
        channel,
        event: "client-x",
        data: naclSeal(masterKey, channel, "pt", new Uint8Array(24)),
        socket_id: "1.1"
      }
    ]
  })
  const good = hmacHex(secret, body)
  const forbidden = [
    secret,
    good,
    b64(masterKey),
    Buffer.from(masterKey).toString("hex"),
    b64(channelKey(masterKey, channel)),
    Buffer.from(channelKey(masterKey, channel)).toString("hex")
  ]
  const show = (value: unknown) => [String(value), JSON.stringify(value) ?? "", inspect(value, { depth: 8 })]

  it("in any error, the credentials, or the Effect failure", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const credentials = credentialsOf(app, masterKey)
        const wrongMaster = credentialsOf(
          app,
          masterKey.map((b) => b ^ 1)
        )
        const requests: ReadonlyArray<readonly [Webhook.WebhookRequest, Webhook.Credentials, string]> = [
          [
            { headers: { "x-pusher-key": "nope", "x-pusher-signature": good }, body },
            credentials,
            "SockudoWebhookKeyError"
          ],
          [
            { headers: { "x-pusher-key": app.key, "x-pusher-signature": "0".repeat(64) }, body },
            credentials,
            "SockudoWebhookSignatureError"
          ],
          [
            { headers: { "x-pusher-key": app.key, "x-pusher-signature": good.slice(1) }, body },
            credentials,
            "SockudoWebhookSignatureError"
          ],
          [
            { headers: { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(secret, "nope") }, body: "nope" },
            credentials,
            "SockudoWebhookBodyError"
          ],
          [
            { headers: { "x-pusher-key": app.key, "x-pusher-signature": good }, body },
            { ...credentials, encryptionMasterKeyBase64: Redacted.make("c2hvcnQ=") },
            "SockudoEncryptionError"
          ]
        ]
        for (const [request, creds, tag] of requests) {
          const error = yield* Effect.flip(Webhook.verify(request, creds))
          assert.strictEqual(error._tag, tag)
          const exit = yield* Effect.exit(Webhook.verify(request, creds))
          for (const text of [...show(error), ...show(exit), error.stack ?? ""]) {
            for (const s of forbidden) assert.notInclude(text, s, `${tag}`)
          }
        }
        // Undecryptable events are entries of a verified webhook: neither they nor their errors show a key.
        for (const creds of [wrongMaster, { ...credentials, encryptionMasterKeyBase64: undefined }]) {
          const request = { headers: { "x-pusher-key": app.key, "x-pusher-signature": good }, body }
          const webhook = yield* Webhook.verify(request, creds)
          const [event] = webhook.events
          assert.strictEqual(event?._tag, "UndecryptableEvent")
          const error = (event as Webhook.UndecryptableEvent).error
          for (const text of [...show(webhook), ...show(error), error.stack ?? ""]) {
            for (const s of forbidden) assert.notInclude(text, s)
          }
        }
        for (const text of show(credentials)) for (const s of forbidden) assert.notInclude(text, s)
      })
    ))
})

describe("secret rotation under one app key", () => {
  const current = { key: "app-key", secret: "new-secret" }
  const previous = ["old-secret", "older-ä-secret"]
  const rotating: Webhook.Credentials = {
    ...credentialsOf(current),
    previousSecrets: previous.map((secret) => Redacted.make(secret))
  }
  // pusher rotates with extra tokens of the same key.
  const extraTokens = previous.map((secret) => ({ key: current.key, secret }))

  it("a signature of the current or any previous secret is accepted, as pusher accepts it: 50 bodies", () => {
    for (const [i, { body }] of WEBHOOKS.slice(0, 50).entries()) {
      for (const secret of [current.secret, ...previous]) {
        const signature = new PusherToken(current.key, secret).sign(body)
        assert.isTrue(pusherAccepts(current, { key: current.key, signature }, body, extraTokens))
        const result = Webhook.verifyResult(
          { headers: { "x-pusher-key": current.key, "x-pusher-signature": signature }, body },
          rotating
        )
        assert.deepStrictEqual(result, Result.succeed(expectedWebhook(body)), `case ${i}, ${secret}`)
      }
      const retired = hmacHex("retired-secret", body)
      assert.isFalse(pusherAccepts(current, { key: current.key, signature: retired }, body, extraTokens))
      const error = flipResult(
        Webhook.verifyResult(
          { headers: { "x-pusher-key": current.key, "x-pusher-signature": retired }, body },
          rotating
        )
      )
      assert.strictEqual(error._tag, "SockudoWebhookSignatureError")
      // Without the previous secrets, the old signature is refused.
      const old = hmacHex(previous[0]!, body)
      assert.isFalse(pusherAccepts(current, { key: current.key, signature: old }, body))
      const without = flipResult(
        Webhook.verifyResult(
          { headers: { "x-pusher-key": current.key, "x-pusher-signature": old }, body },
          credentialsOf(current)
        )
      )
      assert.strictEqual(without._tag, "SockudoWebhookSignatureError")
    }
  })

  it("every candidate secret is compared timing-safely, whichever one matches", () => {
    const body = WEBHOOKS[0]!.body
    for (const secret of [current.secret, ...previous, "retired"]) {
      timingSafe.calls.length = 0
      Webhook.verifyResult(
        { headers: { "x-pusher-key": current.key, "x-pusher-signature": hmacHex(secret, body) }, body },
        rotating
      )
      assert.deepStrictEqual(timingSafe.calls, [
        [64, 64],
        [64, 64],
        [64, 64]
      ])
    }
  })

  it.effect(
    "sockudo.webhooks.verify accepts SockudoConfig's previousSecrets; requests are signed with the current secret",
    () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        for (const { body } of WEBHOOKS.slice(0, 20)) {
          for (const secret of ["app-secret", "old-secret"]) {
            const headers = { "x-pusher-key": "app-key", "x-pusher-signature": hmacHex(secret, body) }
            assert.deepStrictEqual(yield* s.webhooks.verify({ headers, body }), expectedWebhook(body))
          }
          const retired = { "x-pusher-key": "app-key", "x-pusher-signature": hmacHex("retired", body) }
          assert.strictEqual(
            (yield* Effect.flip(s.webhooks.verify({ headers: retired, body })))._tag,
            "SockudoWebhookSignatureError"
          )
        }
        const url = new URL(yield* s.signedUrl("GET", "/channels"))
        const signed = `GET\n${url.pathname}\n${[...url.searchParams]
          .filter(([k]) => k !== "auth_signature")
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join("&")}`
        assert.strictEqual(url.searchParams.get("auth_signature"), hmacHex("app-secret", signed))
      }).pipe(Effect.provide(layer(undefined, { previousSecrets: [Redacted.make("old-secret")] })))
  )
})

describe("the maximum age of a webhook (replay window), from its time_ms", () => {
  const app = { key: "app-key", secret: "app-secret" }
  const now = 1_800_000_000_000
  const signed = (time_ms: number): Webhook.WebhookRequest => {
    const body = JSON.stringify({ time_ms, events: [{ name: "channel_occupied", channel: "orders" }] })
    return { headers: { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(app.secret, body) }, body }
  }

  it.effect("is off by default: a webhook from 1970 is accepted", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      assert.strictEqual((yield* Webhook.verify(signed(1), credentialsOf(app))).time_ms, 1)
    })
  )

  it.effect("with maxAge, an older webhook is a SockudoWebhookExpiredError; a younger or future one passes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const options = { maxAge: "5 minutes" } as const
      const minute = 60_000
      for (const age of [0, 4 * minute, 5 * minute, -minute]) {
        assert.strictEqual((yield* Webhook.verify(signed(now - age), credentialsOf(app), options)).time_ms, now - age)
      }
      const error = yield* Effect.flip(Webhook.verify(signed(now - 5 * minute - 1), credentialsOf(app), options))
      expect(error).toMatchObject({
        _tag: "SockudoWebhookExpiredError",
        timeMs: now - 5 * minute - 1,
        ageMillis: 5 * minute + 1,
        maxAgeMillis: 5 * minute
      })
      assert.isFalse(error.isRetryable)
    })
  )

  it.effect("is checked after the signature: an old unsigned body is a signature error", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const request = { ...signed(1), headers: { "x-pusher-key": app.key, "x-pusher-signature": "0".repeat(64) } }
      const error = yield* Effect.flip(Webhook.verify(request, credentialsOf(app), { maxAge: "1 minute" }))
      assert.strictEqual(error._tag, "SockudoWebhookSignatureError")
    })
  )

  it.effect("sockudo.webhooks.verify uses SockudoConfig's webhookMaxAge", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const s = yield* sockudo
      yield* s.webhooks.verify(signed(now - 1000))
      const error = yield* Effect.flip(s.webhooks.verify(signed(now - 31_000)))
      expect(error).toMatchObject({ _tag: "SockudoWebhookExpiredError", maxAgeMillis: 30_000 })
    }).pipe(Effect.provide(layer(undefined, { webhookMaxAge: "30 seconds" })))
  )
})

describe("requests that are not a raw webhook: typed errors, never a TypeError", () => {
  const app = { key: "app-key", secret: "app-secret" }
  const body = '{"time_ms":1,"events":[]}'
  const headers = { "x-pusher-key": app.key, "x-pusher-signature": hmacHex(app.secret, body) }

  const refused: ReadonlyArray<readonly [string, unknown, string, string]> = [
    ["a body a framework already parsed", { headers, body: JSON.parse(body) }, "SockudoWebhookBodyError", "raw body"],
    ["a body of null", { headers, body: null }, "SockudoWebhookBodyError", "raw body"],
    ["no body", { headers }, "SockudoWebhookBodyError", "raw body"],
    ["a numeric body", { headers, body: 7 }, "SockudoWebhookBodyError", "raw body"],
    ["headers of null", { headers: null, body }, "SockudoWebhookKeyError", "headers"],
    ["no headers", { body }, "SockudoWebhookKeyError", "headers"],
    ["headers as a string", { headers: "x-pusher-key: app-key", body }, "SockudoWebhookKeyError", "headers"],
    ["a null request", null, "SockudoWebhookBodyError", "headers, body"],
    ["no request", undefined, "SockudoWebhookBodyError", "headers, body"]
  ]
  for (const [what, request, tag, hint] of refused) {
    it.effect(`${what}: ${tag} that says what to pass`, () =>
      Effect.gen(function* () {
        const result = Webhook.verifyResult(request as Webhook.WebhookRequest, credentialsOf(app))
        const error = flipResult(result)
        expect(error).toMatchObject({ _tag: tag })
        assert.include(error.message, hint)
        const s = yield* sockudo
        const exit = yield* Effect.exit(s.webhooks.verify(request as Webhook.WebhookRequest))
        assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), "a typed failure, not a defect")
        expect(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)).toMatchObject({ _tag: tag })
      }).pipe(Effect.provide(layer()))
    )
  }
})

describe("typed events: the fast field check agrees with the Schema", () => {
  // parseEvent checks the fields of flat event schemas without running the Schema decoder; here the
  // answer is compared with the Schema's own, for fields of every type, missing or extra.
  const values: ReadonlyArray<unknown> = ["", "text", 0, 1.5, -1, null, true, false, [], ["a"], {}, { a: 1 }]
  const seed = 0x5eed_0e7e
  const gen = G.make(seed)
  const names = Object.keys(Webhook.eventSchemas) as Array<keyof Webhook.Schemas>

  it("for every known event, over generated fields", () => {
    for (let i = 0; i < 3000; i++) {
      const name = gen.pick(names)
      const schema = Webhook.eventSchemas[name].schema as unknown as Schema.Decoder<unknown>
      const fields: Record<string, unknown> = { name }
      const declared = schema.ast._tag === "Objects" ? schema.ast.propertySignatures.map((p) => String(p.name)) : []
      for (const key of [...declared, "extra"]) {
        if (gen.chance(0.85)) fields[key] = gen.chance(0.6) ? gen.pick(["a-string", "presence-x"]) : gen.pick(values)
      }
      const expected = Schema.decodeUnknownResult(schema)(fields)
      const parsed = Webhook.parseEvent(fields)
      assert.strictEqual(
        Result.isSuccess(parsed),
        Result.isSuccess(expected),
        `seed ${seed} case ${i}: ${JSON.stringify(fields)}`
      )
      if (Result.isSuccess(parsed) && Result.isSuccess(expected)) {
        assert.deepStrictEqual<unknown>(parsed.success, {
          ...fields,
          ...(expected.success as object),
          _tag: Webhook.eventSchemas[name].tag
        })
      }
    }
  })
})
