/**
 * What every operation refuses before sending anything: input of the wrong type from callers the
 * type checker does not reach (plain JavaScript, JSON from elsewhere), path segments a URL would
 * rewrite, option fields the server would reject after the fact, and data JSON cannot carry.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Redacted, Stream } from "effect"
import { layer, requests, sockudo } from "./support/harness.ts"

/** A call as plain JavaScript makes it: no types checked. */
type Call = (s: any) => unknown

const run = (result: unknown): Effect.Effect<unknown, unknown> =>
  Stream.isStream(result)
    ? Stream.runCollect(result as Stream.Stream<unknown, unknown>)
    : (result as Effect.Effect<unknown, unknown>)

/** Runs `call`, which must fail with a SockudoValidationError naming `field` and send nothing. */
const refuses = (call: Call, field: string) =>
  Effect.gen(function* () {
    const s = yield* sockudo
    const exit = yield* Effect.exit(Effect.suspend(() => run(call(s))))
    if (Exit.isSuccess(exit)) return assert.fail(`succeeded, expected a SockudoValidationError on ${field}`)
    assert.isFalse(Cause.hasDies(exit.cause), `died: ${Cause.pretty(exit.cause)}`)
    expect(Cause.squash(exit.cause)).toMatchObject({ _tag: "SockudoValidationError", field })
    assert.strictEqual((yield* requests).length, 0, "nothing is sent")
  })

const table = (cases: ReadonlyArray<readonly [string, Call, string]>, config?: Parameters<typeof layer>[1]) => {
  for (const [what, call, field] of cases) {
    it.effect(`${what} -> ${field}`, () => refuses(call, field).pipe(Effect.provide(layer(undefined, config))))
  }
}

const masterKey = Redacted.make("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")

describe("wrong types from plain JavaScript are SockudoValidationErrors naming the field, never TypeErrors", () => {
  describe("publishing", () => {
    table([
      ["trigger(null, ...)", (s) => s.trigger(null, "e", 1), "channel"],
      ["trigger(42, ...)", (s) => s.trigger(42, "e", 1), "channel"],
      ["trigger([null], ...)", (s) => s.trigger([null], "e", 1), "channel"],
      ["trigger(['a', 7], ...)", (s) => s.trigger(["a", 7], "e", 1), "channels[1]"],
      ["a null event name", (s) => s.trigger("a", null, 1), "name"],
      ["null options", (s) => s.trigger("a", "e", 1, null), "options"],
      ["string options", (s) => s.trigger("a", "e", 1, "user_count"), "options"],
      ["info as a string", (s) => s.trigger("a", "e", 1, { info: "user_count" }), "info"],
      ["info: null", (s) => s.trigger("a", "e", 1, { info: null }), "info"],
      ["info as an object", (s) => s.trigger("a", "e", 1, { info: {} }), "info"],
      ["info: [null]", (s) => s.trigger("a", "e", 1, { info: [null] }), "info"],
      ["extras: null", (s) => s.trigger("a", "e", 1, { extras: null }), "extras"],
      ["extras as a string", (s) => s.trigger("a", "e", 1, { extras: "x" }), "extras"],
      ["extras as an array", (s) => s.trigger("a", "e", 1, { extras: [] }), "extras"],
      ["a numeric idempotency key", (s) => s.trigger("a", "e", 1, { idempotencyKey: 7 }), "idempotencyKey"],
      ["a numeric message id", (s) => s.trigger("a", "e", 1, { messageId: 7 }), "messageId"],
      ["triggerBatch(null)", (s) => s.triggerBatch(null), "events"],
      ["triggerBatch('x')", (s) => s.triggerBatch("x"), "events"],
      ["triggerBatch({})", (s) => s.triggerBatch({}), "events"],
      ["a null batch item", (s) => s.triggerBatch([null]), "events[0]"],
      [
        "a batch item with a null channel",
        (s) => s.triggerBatch([{ channel: null, name: "e", data: 1 }]),
        "events[0].channel"
      ],
      [
        "a batch item with info as a string",
        (s) => s.triggerBatch([{ channel: "a", name: "e", data: 1, info: "user_count" }]),
        "events[0].info"
      ],
      ["null batch options", (s) => s.triggerBatch([{ channel: "a", name: "e", data: 1 }], null), "options"],
      ["sendToUser(null, ...)", (s) => s.sendToUser(null, "e", 1), "userId"],
      ["sendToUser with null options", (s) => s.sendToUser("u1", "e", 1, null), "options"]
    ])
  })

  describe("authentication", () => {
    table([
      ["authorizeChannel(null, ...)", (s) => s.authorizeChannel(null, "private-a"), "socketId"],
      ["authorizeChannel(id, null)", (s) => s.authorizeChannel("1.1", null), "channel"],
      ["authorizeChannel(id, 7)", (s) => s.authorizeChannel("1.1", 7), "channel"],
      ["a null presence member", (s) => s.authorizeChannel("1.1", "presence-a", null), "presenceMember"],
      ["a string presence member", (s) => s.authorizeChannel("1.1", "presence-a", "u1"), "presenceMember"],
      ["a null member on a private channel", (s) => s.authorizeChannel("1.1", "private-a", null), "presenceMember"],
      ["authenticateUser(id, null)", (s) => s.authenticateUser("1.1", null), "userData"]
    ])
  })

  describe("channels and users", () => {
    table([
      ["channels.list(null)", (s) => s.channels.list(null), "options"],
      ["channels.list info as a string", (s) => s.channels.list({ info: "subscription_count" }), "info"],
      ["channels.list info: null", (s) => s.channels.list({ info: null }), "info"],
      ["a numeric prefix", (s) => s.channels.list({ filterByPrefix: 7 }), "filterByPrefix"],
      ["channels.get(null)", (s) => s.channels.get(null), "channel"],
      ["channels.get with null options", (s) => s.channels.get("a", null), "options"],
      ["channels.get info as a string", (s) => s.channels.get("a", { info: "cache" }), "info"],
      ["channels.users(7)", (s) => s.channels.users(7), "channel"],
      ["users.terminateConnections(null)", (s) => s.users.terminateConnections(null), "userId"]
    ])
  })

  describe("history, presence history, messages and annotations", () => {
    table([
      ["history.list with null options", (s) => s.history.list("a", null), "options"],
      ["history.stream with null options", (s) => s.history.stream("a", null), "options"],
      ["history.list(7)", (s) => s.history.list(7), "channel"],
      ["presenceHistory.list with null options", (s) => s.presenceHistory.list("presence-a", null), "options"],
      ["presenceHistory.snapshot with null options", (s) => s.presenceHistory.snapshot("presence-a", null), "options"],
      ["messages.get(null, serial)", (s) => s.messages.get(null, "s1"), "channel"],
      ["messages.get(channel, null)", (s) => s.messages.get("a", null), "serial"],
      ["messages.versions with null options", (s) => s.messages.versions("a", "s1", null), "options"],
      ["messages.update(7, ...)", (s) => s.messages.update(7, "s1", { data: 1 }), "channel"],
      ["messages.update(null, ...)", (s) => s.messages.update(null, "s1", { data: 1 }), "channel"],
      ["clearFields: null", (s) => s.messages.update("a", "s1", { data: 1, clearFields: null }), "clearFields"],
      ["clearFields as a string", (s) => s.messages.update("a", "s1", { clearFields: "name" }), "clearFields"],
      ["messages.delete(7, ...)", (s) => s.messages.delete(7, "s1"), "channel"],
      ["messages.delete with null options", (s) => s.messages.delete("a", "s1", null), "options"],
      ["messages.delete clearFields: null", (s) => s.messages.delete("a", "s1", { clearFields: null }), "clearFields"],
      ["messages.append(null, ...)", (s) => s.messages.append(null, "s1", "x"), "channel"],
      ["messages.append with null options", (s) => s.messages.append("a", "s1", "x", null), "options"],
      ["messages.append extras: null", (s) => s.messages.append("a", "s1", "x", { extras: null }), "extras"],
      ["annotations.list with null options", (s) => s.annotations.list("a", "s1", null), "options"],
      ["annotations.delete with null options", (s) => s.annotations.delete("a", "s1", "a1", null), "options"]
    ])
  })

  describe("push and signed URLs", () => {
    table([
      ["push.devices.get with null access", (s) => s.push.devices.get("d1", null), "access"],
      ["push.devices.list(null)", (s) => s.push.devices.list(null), "options"],
      ["push.subscriptions.list(null)", (s) => s.push.subscriptions.list(null), "options"],
      ["push.deadLetters.list(null)", (s) => s.push.deadLetters.list(null), "options"],
      [
        "push.publish with null options",
        (s) => s.push.publish({ recipients: [{ type: "client", client_id: "u1" }], payload: { title: "t" } }, null),
        "options"
      ],
      ["signedUrl('GET', null)", (s) => s.signedUrl("GET", null), "path"],
      ["signedUrl with null params", (s) => s.signedUrl("GET", "/channels", null), "params"],
      ["signedUrl with a null param value", (s) => s.signedUrl("GET", "/channels", { info: null }), "params.info"],
      ["signedUrl with an object param value", (s) => s.signedUrl("GET", "/channels", { info: {} }), "params.info"]
    ])
  })
})

describe("'.' and '..' are refused where they would become a path segment the URL rewrites", () => {
  table([
    ["channel '..'", (s) => s.channels.get(".."), "channel"],
    ["channel '.'", (s) => s.channels.get("."), "channel"],
    ["history of '..'", (s) => s.history.list(".."), "channel"],
    ["publishing to '..'", (s) => s.trigger("..", "e", 1), "channel"],
    ["serial '..'", (s) => s.messages.get("a", ".."), "serial"],
    ["serial '.'", (s) => s.messages.versions("a", "."), "serial"],
    ["annotation serial '..'", (s) => s.annotations.delete("a", "s1", ".."), "annotationSerial"],
    ["user id '..'", (s) => s.users.terminateConnections(".."), "userId"],
    ["user id '.'", (s) => s.users.forceReconnect("."), "userId"],
    ["device id '..'", (s) => s.push.devices.get(".."), "deviceId"],
    ["device id '.'", (s) => s.push.devices.delete("."), "deviceId"],
    ["template id '..'", (s) => s.push.templates.get(".."), "templateId"],
    ["publish id '..'", (s) => s.push.status(".."), "publishId"],
    ["scheduled publish id '.'", (s) => s.push.cancelScheduled("."), "publishId"],
    ["dead letter id '..'", (s) => s.push.deadLetters.replay(".."), "deadLetterId"]
  ])

  it.effect("names that merely contain dots still pass", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger(["a.b", "...", ".x"], "e", 1)
      yield* s.users.terminateConnections("u.1")
      const sent = yield* requests
      expect(sent.map((r) => r.path)).toEqual(["/apps/app-id/events", "/apps/app-id/users/u.1/terminate_connections"])
    }).pipe(Effect.provide(layer()))
  )
})

describe("option fields are checked before sending, as the server reads them", () => {
  table([
    ["delta as a string", (s) => s.trigger("a", "e", 1, { delta: "false" }), "delta"],
    ["delta: null", (s) => s.trigger("a", "e", 1, { delta: null }), "delta"],
    [
      "extras.ephemeral as a string",
      (s) => s.trigger("a", "e", 1, { extras: { ephemeral: "yes" } }),
      "extras.ephemeral"
    ],
    ["extras.echo as a number", (s) => s.trigger("a", "e", 1, { extras: { echo: 1 } }), "extras.echo"],
    ["tags: null", (s) => s.trigger("a", "e", 1, { tags: null }), "tags"],
    ["tags as an array", (s) => s.trigger("a", "e", 1, { tags: ["a"] }), "tags"],
    ["tags as a string", (s) => s.trigger("a", "e", 1, { tags: "a=b" }), "tags"],
    ["a numeric tag", (s) => s.trigger("a", "e", 1, { tags: { tier: 1 } }), "tags.tier"],
    [
      "extras.headers as an array",
      (s) => s.trigger("a", "e", 1, { extras: { headers: [["k", "v"]] } }),
      "extras.headers"
    ],
    ["extras.headers: null", (s) => s.trigger("a", "e", 1, { extras: { headers: null } }), "extras.headers"],
    ["extras.push as a string", (s) => s.trigger("a", "e", 1, { extras: { push: "hello" } }), "extras.push"],
    ["extras.push as an array", (s) => s.trigger("a", "e", 1, { extras: { push: [] } }), "extras.push"],
    [
      "a numeric extras.push.title",
      (s) => s.trigger("a", "e", 1, { extras: { push: { title: 7 } } }),
      "extras.push.title"
    ],
    [
      "a field extras.push does not have",
      (s) => s.trigger("a", "e", 1, { extras: { push: { titel: "Hi" } } }),
      "extras.push.titel"
    ],
    ["extras.ai as a string", (s) => s.trigger("a", "e", 1, { extras: { ai: "x" } }), "extras.ai"],
    [
      "extras.ai.transport as an array",
      (s) => s.trigger("a", "e", 1, { extras: { ai: { transport: [] } } }),
      "extras.ai.transport"
    ],
    [
      "a numeric extras.ai.transport value",
      (s) => s.trigger("a", "e", 1, { extras: { ai: { transport: { status: 1 } } } }),
      "extras.ai.transport.status"
    ],
    ["extras.ai.codec: null", (s) => s.trigger("a", "e", 1, { extras: { ai: { codec: null } } }), "extras.ai.codec"],
    [
      "a batch item's extras.echo",
      (s) => s.triggerBatch([{ channel: "a", name: "e", data: 1, extras: { echo: "no" } }]),
      "events[0].extras.echo"
    ],
    [
      "a message update's extras.ephemeral",
      (s) => s.messages.update("a", "s1", { extras: { ephemeral: 1 } }),
      "extras.ephemeral"
    ],
    [
      "a message append's extras.headers",
      (s) => s.messages.append("a", "s1", "x", { extras: { headers: [] } }),
      "extras.headers"
    ]
  ])

  it.effect("well-formed options are sent as given", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const extras = {
        headers: { k: "v", n: 1, b: true },
        ephemeral: false,
        echo: true,
        push: { title: "Hi", body: "there", templateData: { a: 1 } },
        ai: { transport: { status: "streaming" }, codec: { name: "text" } },
        compat: { kept: true }
      }
      yield* s.trigger("a", "e", 1, { extras, tags: { tier: "gold" }, delta: false })
      expect((yield* requests)[0]!.json).toMatchObject({ extras, tags: { tier: "gold" }, delta: false })
    }).pipe(Effect.provide(layer()))
  )
})

class Point {
  readonly x: number
  readonly y: number
  constructor(x: number, y: number) {
    this.x = x
    this.y = y
  }
}

class Money {
  readonly cents: number
  constructor(cents: number) {
    this.cents = cents
  }
  toJSON() {
    return { amount: this.cents / 100 }
  }
}

describe("data JSON cannot represent faithfully is refused, not sent as null or {}", () => {
  const unfaithful: ReadonlyArray<readonly [string, unknown]> = [
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a nested -Infinity", { price: Number.NEGATIVE_INFINITY }],
    ["NaN in an array", [1, Number.NaN]],
    ["a Map", new Map([["a", 1]])],
    ["a Set", new Set([1])],
    ["a nested Map", { index: new Map() }],
    ["a class instance without toJSON", new Point(1, 2)],
    ["a Uint8Array", new Uint8Array([1, 2])],
    ["an Error", new Error("boom")],
    ["undefined in an array", [1, undefined]],
    ["a function in an array", [() => 1]],
    ["a function as a field", { onClick: () => 1 }],
    ["a symbol as a field", { tag: Symbol("t") }],
    ["a toJSON that returns NaN", { toJSON: () => Number.NaN }],
    [
      "a toJSON that throws",
      {
        toJSON: () => {
          throw new Error("no")
        }
      }
    ],
    ["a nested BigInt", { n: [1n] }],
    [
      "a cycle",
      (() => {
        const node: Record<string, unknown> = { id: 1 }
        node.self = { parent: node }
        return node
      })()
    ]
  ]
  for (const [what, data] of unfaithful) {
    it.effect(`trigger refuses ${what}`, () =>
      refuses((s) => s.trigger("a", "e", data), "data").pipe(Effect.provide(layer()))
    )
  }

  table(
    [
      ["a Map on an encrypted channel", (s) => s.trigger("private-encrypted-a", "e", new Map()), "data"],
      ["NaN in a batch item", (s) => s.triggerBatch([{ channel: "a", name: "e", data: Number.NaN }]), "events[0].data"],
      ["a Set as message data", (s) => s.messages.update("a", "s1", { data: new Set() }), "data"],
      ["NaN as mutation metadata", (s) => s.messages.update("a", "s1", { metadata: { n: Number.NaN } }), "metadata"],
      [
        "a Map in presence user_info",
        (s) => s.authorizeChannel("1.1", "presence-a", { user_id: "u", user_info: { m: new Map() } }),
        "presenceMember"
      ],
      [
        "Infinity in user data",
        (s) => s.authenticateUser("1.1", { id: "u", score: Number.POSITIVE_INFINITY }),
        "userData"
      ],
      [
        "a class instance as annotation data",
        (s) => s.annotations.publish("a", "s1", { type: "reactions:total.v1", data: new Point(0, 0) }),
        "data"
      ]
    ],
    { encryptionMasterKeyBase64: masterKey }
  )

  it.effect("the same object twice (shared, not a cycle) is sent twice", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const item = { sku: "A-1" }
      yield* s.trigger("a", "e", { first: item, second: item, list: [item, item] })
      const [sent] = yield* requests
      assert.strictEqual(
        (sent!.json as { data: string }).data,
        '{"first":{"sku":"A-1"},"second":{"sku":"A-1"},"list":[{"sku":"A-1"},{"sku":"A-1"}]}'
      )
    }).pipe(Effect.provide(layer()))
  )

  it.effect("what JSON carries faithfully is sent: toJSON, dates, null, null-prototype objects, undefined fields", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 })
      const data = {
        at: new Date(0),
        price: new Money(250),
        none: null,
        bare,
        skipped: undefined,
        list: [1, "two", { three: [3] }],
        big: Number.MAX_SAFE_INTEGER,
        negativeZero: -0
      }
      yield* s.trigger("a", "e", data)
      const sent = (yield* requests)[0]!.json as { readonly data: string }
      assert.strictEqual(sent.data, JSON.stringify(data))
    }).pipe(Effect.provide(layer()))
  )
})
