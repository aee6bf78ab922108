/**
 * Typed event definitions (`src/SockudoEvent.ts`):
 * - a definition carries its name and Schema, refuses a bad name when it is made, and types its
 *   data at compile time (the `@ts-expect-error` lines are checked by `npm run check`);
 * - publishing through `trigger`, `sendToUser`, `triggerBatch`, the `Publisher` and the Promise
 *   client sends the JSON of the Schema's encoded form, byte for byte as the emulator stores and
 *   delivers it; data that does not encode is refused before anything is sent;
 * - webhooks signed here with `node:crypto` (and judged valid by the `pusher` package) and
 *   history items read from the emulator decode with the same definition, each item to its typed
 *   data or its own typed failure; `client_event`s on encrypted channels, sealed here with
 *   `tweetnacl`, are decoded after `verify` opened them.
 */
import { createHash, createHmac } from "node:crypto"
import { inspect } from "node:util"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Result, Schema, Stream } from "effect"
import Pusher from "pusher"
import nacl from "tweetnacl"
import { PromiseClient, Publisher, Sockudo, SockudoError, SockudoEvent, Webhook } from "../src/index.ts"
import * as Emulator from "../src/testing/emulator/Emulator.ts"
import { Order, OrderCreated, order, orderJson, Typing } from "./support/events.ts"

const Note = SockudoEvent.make("note", Schema.String)

/** Data a caller got wrong (a plain object where the Schema wants an `Order`), bypassing the types. */
const notAnOrder = { id: "ord_2" } as unknown as Order

const masterKey = Buffer.alloc(32, 7)
const masterKeyBase64 = Redacted.make(masterKey.toString("base64"))

const emulator = Emulator.layerTest({
  features: { history: true },
  sockudo: { encryptionMasterKeyBase64: masterKeyBase64 }
})
const userEmulator = Emulator.layerTest({ features: { userAuthentication: true } })
const withPublisher = Layer.provideMerge(Publisher.layer({ maxWait: "1 millis" }), emulator)

/** The data strings a connection subscribed to `channel` received, in order. */
const delivered = (channel: string) =>
  Effect.gen(function* () {
    const emu = yield* Emulator.Emulator
    const client = yield* emu.connect()
    yield* client.subscribe(channel)
    return Effect.map(client.events(channel), (events) => events.map((e) => [e.event, e.data]))
  })

/** The publish requests the emulator received. */
const publishRequests = Effect.gen(function* () {
  const log = yield* (yield* Emulator.Emulator).requests
  return log.filter((r) => r.route === "/events" || r.route === "/batch_events")
})

/** `[event name, data]` of every history row of `channel`, oldest first. */
const stored = (channel: string) =>
  Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const page = yield* sockudo.history.list(channel, { direction: "oldest_first" })
    return page.items.map((item) => [item.event_name, item.message.data])
  })

/** The failure of a Result that must have failed. */
const failureOf = <E>(result: Result.Result<unknown, E>): E => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

/** Opens `{"nonce","ciphertext"}` with tweetnacl under the channel key computed here. */
const openSealed = (channel: string, sealed: string): string | null => {
  const key = createHash("sha256").update(channel, "utf8").update(masterKey).digest()
  const { nonce, ciphertext } = JSON.parse(sealed) as { nonce: string; ciphertext: string }
  const plain = nacl.secretbox.open(Buffer.from(ciphertext, "base64"), Buffer.from(nonce, "base64"), key)
  return plain === null ? null : Buffer.from(plain).toString("utf8")
}

describe("SockudoEvent.make", () => {
  it("carries its name and Schema, pipes, and shows its name only", () => {
    assert.strictEqual(OrderCreated.name, "order.created")
    assert.strictEqual(OrderCreated.schema, Order)
    assert.isTrue(SockudoEvent.isSockudoEvent(OrderCreated))
    assert.isFalse(SockudoEvent.isSockudoEvent({ name: "order.created", schema: Order }))
    assert.strictEqual(
      OrderCreated.pipe((d) => d.name.toUpperCase()),
      "ORDER.CREATED"
    )
    assert.deepStrictEqual(OrderCreated.toJSON(), { _id: "SockudoEvent", name: "order.created" })
    assert.strictEqual(String(OrderCreated), '{"_id":"SockudoEvent","name":"order.created"}')
    const event = OrderCreated.make(order)
    assert.isTrue(SockudoEvent.isOutgoing(event))
    assert.strictEqual(event.name, "order.created")
    assert.strictEqual(event.data.value, order)
    // Inspecting an event to publish does not print its data.
    expect(inspect(event, { depth: 5 })).not.toContain("ord_1")
    expect(inspect(event.data, { depth: 5 })).not.toContain("ord_1")
    // A spread keeps what a batch item needs: the name and the data.
    assert.deepStrictEqual(Object.keys({ channel: "orders", ...event }), ["channel", "name", "data"])
  })

  it("refuses a name that breaks the event-name rules, when the definition is made", () => {
    const refusal = (name: unknown) => {
      try {
        SockudoEvent.make(name as string, Schema.String)
      } catch (error) {
        return error
      }
      return undefined
    }
    for (const [name, message] of [
      ["", "name must be a non-empty string"],
      [42, "name must be a non-empty string"],
      ["é".repeat(101), "name must be at most 200 bytes (got 202)"]
    ] as const) {
      const error = refusal(name)
      assert.instanceOf(error, SockudoError.SockudoValidationError)
      assert.deepInclude(error, { operation: "SockudoEvent.make", field: "name", message })
    }
    assert.isUndefined(refusal("a".repeat(200)))
    assert.deepInclude(
      (() => {
        try {
          SockudoEvent.make("e", { Type: 1 } as never)
        } catch (error) {
          return error as object
        }
        return {}
      })(),
      { field: "schema", message: "schema must be a Schema" }
    )
  })

  it("types its data and its helpers at compile time", () => {
    type OrderType = SockudoEvent.Type<typeof OrderCreated>
    type OrderEncoded = SockudoEvent.Encoded<typeof OrderCreated>
    const typed: OrderType = order
    const encoded: OrderEncoded = { id: "ord_1", placedAt: new Date(0), total: "1" }
    const name: SockudoEvent.Name<typeof OrderCreated> = "order.created"
    // @ts-expect-error the name is the literal type of the definition's name
    const otherName: SockudoEvent.Name<typeof OrderCreated> = "order.updated"
    // @ts-expect-error an Order needs every field
    OrderCreated.make({ id: "ord_1" })
    // @ts-expect-error the data is an Order, not a string
    OrderCreated.make("ord_1")
    // @ts-expect-error `userId` is a string
    Typing.make({ userId: 1, at: new Date() })
    const publishes = (s: Sockudo.Service) => [
      s.trigger("orders", OrderCreated.make(order), { socketId: "1.2" }),
      s.trigger("orders", "order.created", { id: "ord_1" }, { socketId: "1.2" }),
      // @ts-expect-error a typed event takes its options second, not a third argument
      s.trigger("orders", OrderCreated.make(order), {}, {}),
      // @ts-expect-error a definition is not an event: `make` one
      s.trigger("orders", OrderCreated)
    ]
    assert.isFunction(publishes)
    assert.deepStrictEqual([typed.id, encoded.total, name, otherName], ["ord_1", "1", "order.created", "order.updated"])
  })
})

describe("publishing through a definition", () => {
  it.effect("trigger sends the JSON of the encoded form: stored and delivered byte for byte", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const received = yield* delivered("orders")
      const receipt = yield* sockudo.trigger("orders", OrderCreated.make(order), { info: ["subscription_count"] })
      assert.strictEqual(receipt.channels.orders?.subscription_count, 1)
      yield* sockudo.trigger(["orders", "audit"], Note.make("plain text"))
      assert.deepStrictEqual(yield* received, [
        ["order.created", orderJson],
        // A string's encoded form is itself: sent as its JSON, so the definition reads it back.
        ["note", '"plain text"']
      ])
      assert.deepStrictEqual(yield* stored("orders"), [
        ["order.created", orderJson],
        ["note", '"plain text"']
      ])
      assert.deepStrictEqual(yield* stored("audit"), [["note", '"plain text"']])
    }).pipe(Effect.provide(emulator))
  )

  it.effect("sendToUser takes a typed event", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const user = yield* (yield* Emulator.Emulator).connect({ user: { id: "u1" } })
      yield* sockudo.sendToUser("u1", OrderCreated.make(order), { idempotencyKey: "k-user" })
      assert.deepStrictEqual(yield* user.events(), [
        { event: "order.created", channel: "#server-to-user-u1", data: orderJson }
      ])
    }).pipe(Effect.provide(userEmulator))
  )

  it.effect("data that does not encode is refused before anything is sent, naming the field", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const error = yield* Effect.flip(sockudo.trigger("orders", OrderCreated.make(notAnOrder)))
      assert.instanceOf(error, SockudoError.SockudoValidationError)
      assert.deepInclude(error, {
        operation: "trigger",
        field: "data",
        message: "data does not match the schema of event 'order.created': Expected Order"
      })
      const struct = yield* Effect.flip(
        sockudo.trigger("orders", Typing.make({ userId: "card-4111-1111", at: "yesterday" } as never))
      )
      // The Schema's paths and expectations, not the data.
      assert.strictEqual(
        struct.message,
        `data does not match the schema of event 'client-typing': Expected a valid Date at ["at"]`
      )
      expect(struct.message).not.toContain("card-4111")
      const invalidDate = yield* Effect.flip(
        sockudo.trigger("orders", Typing.make({ userId: "u", at: new Date(Number.NaN) }))
      )
      assert.strictEqual(
        invalidDate.message,
        `data does not match the schema of event 'client-typing': Expected a valid Date at ["at"]`
      )
      // From plain JavaScript: the options of a typed event given third.
      const untyped = sockudo.trigger as unknown as (
        ...args: ReadonlyArray<unknown>
      ) => Effect.Effect<unknown, SockudoError.SockudoValidationError>
      const extra = yield* Effect.flip(untyped("orders", OrderCreated.make(order), undefined, { socketId: "1.2" }))
      assert.deepInclude(extra, {
        field: "options",
        message: "options of a typed event come right after it (trigger(channel, event, options))"
      })
      assert.deepStrictEqual(yield* publishRequests, [])
    }).pipe(Effect.provide(emulator))
  )

  it.effect("triggerBatch encodes every item; one item that does not encode sends nothing", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const received = yield* delivered("orders")
      const error = yield* Effect.flip(
        sockudo.triggerBatch([
          { channel: "orders", ...OrderCreated.make(order) },
          { channel: "orders", ...OrderCreated.make(notAnOrder) }
        ])
      )
      assert.deepInclude(error, { _tag: "SockudoValidationError", operation: "triggerBatch", field: "events[1].data" })
      assert.deepStrictEqual(yield* publishRequests, [])
      yield* sockudo.triggerBatch([
        { channel: "orders", ...OrderCreated.make(order) },
        { channel: "orders", name: "untyped", data: { id: "ord_1" } },
        { channel: "orders", ...Note.make("hi"), tags: { kind: "note" } }
      ])
      assert.deepStrictEqual(yield* received, [
        ["order.created", orderJson],
        ["untyped", '{"id":"ord_1"}'],
        ["note", '"hi"']
      ])
    }).pipe(Effect.provide(emulator))
  )

  it.effect("a private-encrypted- channel gets the same JSON text, sealed", () =>
    Effect.gen(function* () {
      const emu = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const channel = "private-encrypted-orders"
      const client = yield* emu.connect()
      const auth = yield* sockudo.authorizeChannel(client.socketId, channel)
      yield* client.subscribe(channel, { auth: auth.auth })
      yield* sockudo.trigger(channel, OrderCreated.make(order))
      yield* sockudo.triggerBatch([{ channel, ...OrderCreated.make(order) }])
      const sealed = (yield* client.events(channel)).map((e) => e.data as string)
      assert.strictEqual(sealed.length, 2)
      for (const data of sealed) assert.strictEqual(openSealed(channel, data), orderJson)
    }).pipe(Effect.provide(emulator))
  )

  it.effect("the Publisher encodes each caller's event; a bad one fails its caller only, before sending", () =>
    Effect.gen(function* () {
      const publisher = yield* Publisher.Publisher
      const received = yield* delivered("orders")
      const bad = yield* Effect.flip(publisher.publish("orders", OrderCreated.make(notAnOrder)))
      assert.deepInclude(bad, { _tag: "SockudoValidationError", operation: "publish", field: "data" })
      assert.deepStrictEqual(yield* publishRequests, [])
      yield* Effect.all(
        [
          publisher.publish("orders", OrderCreated.make(order)),
          publisher.publish("orders", Note.make("second"), { tags: { n: "2" } }),
          // Several channels with receipts: sent alone, through trigger.
          publisher.publish(["orders", "audit"], Note.make("third"), { info: [] })
        ],
        { concurrency: "unbounded" }
      )
      expect(yield* received).toEqual(
        expect.arrayContaining([
          ["order.created", orderJson],
          ["note", '"second"'],
          ["note", '"third"']
        ])
      )
      assert.deepStrictEqual(yield* stored("audit"), [["note", '"third"']])
    }).pipe(Effect.provide(withPublisher))
  )

  it.live("the Promise client takes typed events in trigger, triggerBatch and its publisher", () =>
    Effect.gen(function* () {
      const emu = yield* Emulator.Emulator
      const received = yield* delivered("orders")
      const client = yield* Effect.promise(() =>
        PromiseClient.make(
          Sockudo.layer.pipe(
            Layer.provide(Emulator.layerSockudoConfig()),
            Layer.provide(Emulator.layerHttpClient),
            Layer.provide(Layer.succeed(Emulator.Emulator, emu))
          )
        )
      )
      const refused = yield* Effect.promise(() =>
        client.trigger("orders", OrderCreated.make(notAnOrder)).then(
          () => undefined,
          (error: unknown) => error
        )
      )
      assert.instanceOf(refused, SockudoError.SockudoValidationError)
      yield* Effect.promise(async () => {
        await client.trigger("orders", OrderCreated.make(order))
        await client.triggerBatch([{ channel: "orders", ...Note.make("batched") }])
        await client.publisher.publish("orders", Note.make("coalesced"))
        await client.close()
      })
      assert.deepStrictEqual(yield* received, [
        ["order.created", orderJson],
        ["note", '"batched"'],
        ["note", '"coalesced"']
      ])
    }).pipe(Effect.provide(emulator))
  )
})

// ---------------------------------------------------------------------------------------------
// Decoding

const credentials = { key: "app-key", secret: Redacted.make("app-secret"), encryptionMasterKeyBase64: masterKeyBase64 }

/** A webhook request signed here, as the server signs it, and judged valid by the `pusher` package. */
const signed = (events: ReadonlyArray<unknown>): Webhook.WebhookRequest => {
  const body = JSON.stringify({ time_ms: 1767322800000, events })
  const signature = createHmac("sha256", "app-secret").update(body).digest("hex")
  const headers = { "x-pusher-key": "app-key", "x-pusher-signature": signature, "content-type": "application/json" }
  const pusher = new Pusher({ appId: "app-id", key: "app-key", secret: "app-secret", host: "sockudo.test" })
  assert.isTrue(pusher.webhook({ headers, rawBody: body }).isValid(), "pusher accepts the signed webhook")
  return { headers, body }
}

/** `{"nonce","ciphertext"}` of `plaintext` for `channel`, sealed with tweetnacl under the key computed here. */
const sealFor = (channel: string, plaintext: string): string => {
  const key = createHash("sha256").update(channel, "utf8").update(masterKey).digest()
  const nonce = new Uint8Array(24).fill(3)
  const ciphertext = nacl.secretbox(Buffer.from(plaintext, "utf8"), nonce, key)
  return JSON.stringify({
    nonce: Buffer.from(nonce).toString("base64"),
    ciphertext: Buffer.from(ciphertext).toString("base64")
  })
}

const clientEvent = (channel: string, event: string, data: string) => ({
  name: "client_event",
  channel,
  event,
  data,
  socket_id: "123.456",
  user_id: "u1"
})

describe("decoding webhooks", () => {
  it.effect("each client_event decodes to its typed data or its own typed failure", () =>
    Effect.gen(function* () {
      const webhook = yield* Webhook.verify(
        signed([
          { name: "member_added", channel: "presence-room", user_id: "u1" },
          clientEvent("presence-room", "client-typing", '{"userId":"u1","at":"2026-01-02T03:04:05.000Z"}'),
          clientEvent("presence-room", "client-typing", '{"userId":"u1","at":"soon"}'),
          clientEvent("presence-room", "client-typing", "not json"),
          clientEvent("private-chat", "client-wave", '"hi"'),
          clientEvent(
            "private-encrypted-chat",
            "client-typing",
            sealFor("private-encrypted-chat", '{"userId":"u2","at":"2026-01-02T00:00:00.000Z"}')
          ),
          clientEvent("private-encrypted-chat", "client-typing", sealFor("private-encrypted-other", "{}"))
        ]),
        credentials
      )
      assert.deepStrictEqual(webhook.events.map(Typing.matches), [false, true, true, true, false, true, true])
      const results = webhook.events.map(Typing.decode)
      assert.deepStrictEqual(results[1]!, Result.succeed({ userId: "u1", at: new Date("2026-01-02T03:04:05.000Z") }))
      assert.deepStrictEqual(results[5]!, Result.succeed({ userId: "u2", at: new Date("2026-01-02T00:00:00.000Z") }))
      const failures = results.map((r) =>
        Result.isFailure(r)
          ? { reason: r.failure.reason, channel: r.failure.channel, message: r.failure.message }
          : "ok"
      )
      assert.deepStrictEqual(failures, [
        {
          reason: "OtherEvent",
          channel: undefined,
          message: "expected 'client-typing', got not a client event or a history item"
        },
        "ok",
        {
          reason: "InvalidData",
          channel: "presence-room",
          message: `the data of 'client-typing' does not match its schema: Expected a valid Date at ["at"]`
        },
        { reason: "NotJson", channel: "presence-room", message: "the data of 'client-typing' is not JSON" },
        { reason: "OtherEvent", channel: "private-chat", message: "expected 'client-typing', got 'client-wave'" },
        "ok",
        {
          reason: "Undecryptable",
          channel: "private-encrypted-chat",
          message: "the data of 'client-typing' could not be decrypted"
        }
      ])
      const failure = results[2]!
      assert.isTrue(Result.isFailure(failure))
      if (Result.isFailure(failure)) {
        assert.instanceOf(failure.failure, SockudoError.SockudoEventDecodeError)
        assert.strictEqual(failure.failure._tag, "SockudoEventDecodeError")
        assert.strictEqual(failure.failure.event, "client-typing")
        assert.isFalse(failure.failure.isRetryable)
        assert.isTrue(SockudoError.isSockudoError(failure.failure))
        expect(inspect(failure.failure)).not.toContain("soon")
      }
    })
  )

  it.effect("in an Effect, a failed decode fails with its SockudoEventDecodeError", () =>
    Effect.gen(function* () {
      const webhook = yield* Webhook.verify(signed([clientEvent("private-chat", "client-typing", "{}")]), credentials)
      const error = yield* Effect.flip(
        Effect.gen(function* () {
          return yield* Effect.fromResult(Typing.decode(webhook.events[0]!))
        })
      )
      assert.deepInclude(error, { _tag: "SockudoEventDecodeError", reason: "InvalidData", channel: "private-chat" })
    })
  )
})

describe("decoding history", () => {
  it.effect("history items read from the emulator decode with the definition that published them", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      yield* sockudo.trigger("orders", OrderCreated.make(order))
      yield* sockudo.trigger("orders", "order.created", { id: "ord_3", placedAt: "2026-01-02", total: 5 })
      yield* sockudo.trigger("orders", Note.make("between"))
      yield* sockudo.trigger("orders", "order.created", "not json")
      yield* sockudo.trigger("orders", OrderCreated.make(new Order({ id: "ord_4", placedAt: new Date(0), total: 0.5 })))
      const page = yield* sockudo.history.list("orders", { direction: "oldest_first" })
      assert.deepStrictEqual(page.items.map(OrderCreated.matches), [true, true, false, true, true])
      assert.deepStrictEqual(OrderCreated.decode(page.items[0]!), Result.succeed(order))
      assert.deepStrictEqual(Note.decode(page.items[2]!), Result.succeed("between"))
      const decoded = yield* sockudo.history
        .stream("orders", { direction: "oldest_first", limit: 2 })
        .pipe(OrderCreated.decodeHistory, Stream.runCollect)
      assert.deepStrictEqual(
        decoded.map((r) =>
          Result.isSuccess(r) ? { serial: r.success.item.serial, id: r.success.data.id } : r.failure.reason
        ),
        [
          { serial: page.items[0]!.serial, id: "ord_1" },
          "InvalidData",
          "NotJson",
          { serial: page.items[4]!.serial, id: "ord_4" }
        ]
      )
      const last = decoded[3]!
      assert.isTrue(Result.isSuccess(last) && last.success.data instanceof Order)
      const invalid = decoded[1]!
      assert.isTrue(Result.isFailure(invalid) && invalid.failure.channel === "orders")
    }).pipe(Effect.provide(emulator))
  )

  it("a versioned row is matched by its event's name, not the server's action name", () => {
    const row = {
      stream_id: "s",
      serial: 12,
      published_at_ms: 1710000000000,
      message_id: null,
      event_name: "sockudo:message.update",
      operation_kind: "message.update",
      payload_size_bytes: 10,
      message: {
        event: "sockudo:message.update",
        channel: "notes",
        data: '"edited"',
        name: "note",
        action: "update",
        message_serial: "00000001710000000000:1:7"
      }
    } as const
    assert.isTrue(Note.matches(row))
    assert.deepStrictEqual(Note.decode(row), Result.succeed("edited"))
    assert.deepInclude(failureOf(OrderCreated.decode(row)), {
      reason: "OtherEvent",
      channel: "notes",
      message: "expected 'order.created', got 'note'"
    })
  })

  it("decodeData reads a JSON value as well as its text", () => {
    assert.deepStrictEqual(
      Typing.decodeData({ userId: "u1", at: "2026-01-02T03:04:05.000Z" }),
      Result.succeed({ userId: "u1", at: new Date("2026-01-02T03:04:05.000Z") })
    )
    assert.deepInclude(failureOf(Typing.decodeData("[]", "chat")), { reason: "InvalidData", channel: "chat" })
  })
})
