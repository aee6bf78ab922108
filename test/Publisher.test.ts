/**
 * The coalescing publisher, against the emulator: concurrent publishes share batch requests,
 * every caller gets its own receipt or error, and a subscribed client receives every event
 * exactly once, in each caller's order, also under faults and when the server refuses one
 * event of a batch.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Random, Schedule, Scope } from "effect"
import { PromiseClient, Publisher, Sockudo, type SockudoConfig } from "../src/index.ts"
import type { Connection } from "../src/testing/emulator/Client.ts"
import * as Emulator from "../src/testing/emulator/Emulator.ts"
import * as Faults from "../src/testing/emulator/Faults.ts"
import * as SockudoTest from "../src/testing/index.ts"
import { recordingTracer } from "./support/tracing.ts"

const quickRetries = Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 30 }))

const emulator = (sockudo?: SockudoConfig.Settings, options?: Emulator.Options) =>
  Emulator.layerTest({ features: { history: true }, ...options, sockudo: { retry: quickRetries, ...sockudo } })

const withPublisher = (
  options?: Publisher.Options,
  sockudo?: SockudoConfig.Settings,
  emulatorOptions?: Emulator.Options
) => Layer.provideMerge(Publisher.layer(options), emulator(sockudo, emulatorOptions))

/** The API requests the emulator answered (or dropped), by route. */
const requestsTo = (route: string) =>
  Effect.gen(function* () {
    const log = yield* (yield* Emulator.Emulator).requests
    return log.filter((r) => r.route === route)
  })

/** What the client received on `channel`, as `{caller, seq}` pairs. */
const received = (client: Connection, channel: string) =>
  Effect.map(client.events(channel), (events) =>
    events.map((e) => JSON.parse(e.data as string) as { readonly caller: number; readonly seq: number })
  )

/** Every pair exactly once, and each caller's in its order. */
const expectExactlyOnceInOrder = (
  pairs: ReadonlyArray<{ readonly caller: number; readonly seq: number }>,
  callers: number,
  perCaller: number,
  skip: (caller: number, seq: number) => boolean = () => false
) => {
  const seen = new Map<number, Array<number>>()
  for (const { caller, seq } of pairs) seen.set(caller, [...(seen.get(caller) ?? []), seq])
  for (let caller = 0; caller < callers; caller++) {
    const expected = Array.from({ length: perCaller }, (_, seq) => seq).filter((seq) => !skip(caller, seq))
    assert.deepStrictEqual(seen.get(caller) ?? [], expected, `caller ${caller}`)
  }
}

/** The emulator, the publisher, and a client subscribed to `orders`. */
const subscribed = Effect.gen(function* () {
  const emu = yield* Emulator.Emulator
  const publisher = yield* Publisher.Publisher
  const client = yield* emu.connect()
  yield* client.subscribe("orders")
  return { emu, publisher, client }
})

const callers = 50
const perCaller = 20

/** 50 callers publish 20 events each, one after the other, all callers at once. */
const publishAll = (publisher: Publisher.Service, channel: string) =>
  Effect.forEach(
    Array.from({ length: callers }, (_, caller) => caller),
    (caller) =>
      Effect.forEach(
        Array.from({ length: perCaller }, (_, seq) => seq),
        (seq) =>
          publisher.publish(
            channel,
            "order",
            { caller, seq },
            caller % 10 === 0 ? { info: ["subscription_count"] } : undefined
          ),
        { concurrency: 1 }
      ),
    { concurrency: "unbounded" }
  )

describe("Publisher", () => {
  it.live(
    "1,000 concurrent publishes share few requests; each caller gets its own receipt; delivered once, in order",
    () =>
      Effect.gen(function* () {
        const { publisher, client } = yield* subscribed
        const receipts = yield* publishAll(publisher, "orders")

        const batches = yield* requestsTo("/batch_events")
        const single = yield* requestsTo("/events")
        console.log(`1,000 publishes from 50 callers: ${batches.length} batch requests, ${single.length} single`)
        assert.strictEqual(single.length, 0)
        expect(batches.length).toBeLessThanOrEqual(100)
        for (let caller = 0; caller < callers; caller++) {
          for (const receipt of receipts[caller]!) {
            assert.isString(receipt.idempotencyKey)
            // Only the callers that asked for counts get them, for their own channel.
            if (caller % 10 === 0) assert.strictEqual(receipt.channels.orders?.subscription_count, 1)
            else assert.deepStrictEqual(receipt.channels, {})
          }
        }
        const keys = receipts.flat().map((r) => r.idempotencyKey)
        assert.strictEqual(new Set(keys).size, callers * perCaller)
        expectExactlyOnceInOrder(yield* received(client, "orders"), callers, perCaller)
      }).pipe(Effect.provide(withPublisher()))
  )

  it.live("re-running one publish Effect re-sends the same key; inside Sockudo.idempotent the key is the scope's", () =>
    Effect.gen(function* () {
      const { publisher, client } = yield* subscribed
      const publish = publisher.publish("orders", "order", { caller: 0, seq: 0 })
      const first = yield* publish
      const again = yield* publish
      assert.strictEqual(again.idempotencyKey, first.idempotencyKey)
      const scoped = Sockudo.idempotent(
        Effect.gen(function* () {
          yield* publisher.publish("orders", "order", { caller: 1, seq: 0 })
          return yield* publisher.publish("orders", "order", { caller: 1, seq: 1 })
        }),
        "checkout-1"
      )
      const a = yield* scoped
      const b = yield* scoped
      assert.deepStrictEqual([a.idempotencyKey, b.idempotencyKey], ["checkout-1:1", "checkout-1:1"])
      // Each event once: the re-runs were answered from the server's record of their keys.
      expectExactlyOnceInOrder(yield* received(client, "orders"), 2, 2, (caller, seq) => caller === 0 && seq === 1)
    }).pipe(Effect.provide(withPublisher()))
  )

  it.live("under 20% faults (dropped before, dropped after processing, 503, 429): every event exactly once", () =>
    Effect.gen(function* () {
      const emu = yield* Emulator.Emulator
      const publisher = yield* Publisher.Publisher
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emu.connect()
      yield* client.subscribe("orders")
      const route = "POST /batch_events"
      yield* emu.faults.inject({ route, probability: 0.05, fault: Faults.dropBefore })
      yield* emu.faults.inject({ route, probability: 0.05 / 0.95, fault: Faults.dropAfter })
      yield* emu.faults.inject({ route, probability: 0.05 / 0.9, fault: Faults.status(503) })
      yield* emu.faults.inject({ route, probability: 0.05 / 0.85, fault: Faults.rateLimited(0) })
      yield* publishAll(publisher, "orders")

      const log: ReadonlyArray<{ readonly dropped?: string | undefined; readonly status: number | undefined }> =
        yield* requestsTo("/batch_events")
      const faulted = {
        dropBefore: log.filter((r) => r.dropped === "before").length,
        dropAfter: log.filter((r) => r.dropped === "after").length,
        status503: log.filter((r) => r.status === 503).length,
        status429: log.filter((r) => r.status === 429).length
      }
      console.log(`faults over ${log.length} batch requests: ${JSON.stringify(faulted)}`)
      expect(faulted.dropBefore + faulted.dropAfter + faulted.status503 + faulted.status429).toBeGreaterThan(0)
      expectExactlyOnceInOrder(yield* received(client, "orders"), callers, perCaller)
      const stored = yield* sockudo.history
        .list("orders", { limit: 100, direction: "oldest_first" })
        .pipe(Effect.map((page) => page.items.length))
      assert.strictEqual(stored, 100)
    }).pipe(Effect.provide(withPublisher({ maxEvents: 25, maxInFlight: 4 })), Random.withSeed("publisher-faults"))
  )

  it.live(
    "a batch whose item the server refuses: the items before it published once, its caller gets the error, the items after it published once",
    () =>
      Effect.gen(function* () {
        const { publisher, client } = yield* subscribed
        // "nope:orders" names a namespace the app does not have: the server refuses it (400).
        const channelOf = (n: number) => (n === 4 ? "nope:orders" : "orders")
        const exits = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, n) => n),
          (n) => Effect.exit(publisher.publish(channelOf(n), "order", { caller: n, seq: 0 })),
          { concurrency: "unbounded" }
        )
        for (let n = 0; n < 10; n++) {
          if (n === 4) {
            const exit = exits[n]!
            assert.isTrue(Exit.isFailure(exit))
            expect(Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({
              _tag: "Fail",
              error: { _tag: "SockudoClientError", status: 400 }
            })
          } else {
            assert.isTrue(Exit.isSuccess(exits[n]!), `publish ${n}`)
          }
        }
        const delivered = (yield* received(client, "orders")).map((p) => p.caller)
        assert.deepStrictEqual(delivered, [0, 1, 2, 3, 5, 6, 7, 8, 9])
        // One batch that failed at item 4, then each event again under its own key.
        assert.strictEqual((yield* requestsTo("/batch_events")).length, 1)
        assert.strictEqual((yield* requestsTo("/events")).length, 10)
      }).pipe(Effect.provide(withPublisher({ maxWait: "200 millis" })))
  )

  it.live(
    "a batch answered 503 backpressure is not retried under its claimed key; each event is asked about alone",
    () => {
      const backpressure = SockudoTest.json(
        503,
        { error: "Idempotent batch publish is still in progress", code: "backpressure", status: 503 },
        { "retry-after": "1" }
      )
      // The server published the first event, failed on the second (its key still claimed), and
      // never reached the third.
      const answers = new Map<number, SockudoTest.Reply>([
        [0, SockudoTest.json(200, 1)],
        [1, backpressure],
        [2, SockudoTest.json(200, { ok: true })]
      ])
      const handler = (request: SockudoTest.RecordedRequest) =>
        request.path.endsWith("/batch_events")
          ? backpressure
          : answers.get((JSON.parse((request.json as { data: string }).data) as { n: number }).n)!
      return Effect.gen(function* () {
        const publisher = yield* Publisher.Publisher
        const exits = yield* Effect.forEach([0, 1, 2], (n) => Effect.exit(publisher.publish("orders", "e", { n })), {
          concurrency: "unbounded"
        })
        expect(exits.map(Exit.isSuccess)).toEqual([true, false, true])
        const sent = yield* Effect.map(SockudoTest.RequestRecorder, (r) => r.requests)
        expect(sent.map((r) => r.path.replace("/apps/app-id", ""))).toEqual([
          "/batch_events",
          "/events",
          "/events",
          "/events"
        ])
        // Each event asked about under the key it had in the batch.
        const batch = (sent[0]!.json as { batch: Array<{ idempotency_key: string }> }).batch
        expect(sent.slice(1).map((r) => r.headers["x-idempotency-key"])).toEqual(
          batch.map((item) => item.idempotency_key)
        )
      }).pipe(
        Effect.provide(
          Layer.provideMerge(
            Publisher.layer({ maxWait: "100 millis" }),
            SockudoTest.layer({ handler, config: { retry: quickRetries } })
          )
        )
      )
    }
  )

  it.live("without keys, an item refused in a batch fails every event of that batch", () =>
    Effect.gen(function* () {
      const publisher = yield* Publisher.Publisher
      const exits = yield* Effect.forEach(
        ["orders", "nope:orders", "orders"],
        (channel, n) => Effect.exit(publisher.publish(channel, "order", { caller: n, seq: 0 })),
        { concurrency: "unbounded" }
      )
      for (const exit of exits) {
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]).toMatchObject({ error: { _tag: "SockudoClientError" } })
      }
    }).pipe(Effect.provide(withPublisher({ maxWait: "200 millis" }, { autoIdempotency: false })))
  )

  it.live("receipts for several channels go alone; socket exclusions and info requests share a batch", () =>
    Effect.gen(function* () {
      const { emu, publisher, client } = yield* subscribed
      const other = yield* emu.connect()
      yield* other.subscribe("orders")
      const [a, b, c] = yield* Effect.all(
        [
          publisher.publish(["orders", "audit"], "order", { caller: 0, seq: 0 }, { info: ["subscription_count"] }),
          publisher.publish("orders", "order", { caller: 1, seq: 0 }, { socketId: client.socketId }),
          publisher.publish("orders", "order", { caller: 2, seq: 0 }, { info: ["subscription_count"] })
        ],
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(Object.keys(a.channels).sort(), ["audit", "orders"])
      assert.deepStrictEqual(b.channels, {})
      assert.strictEqual(c.channels.orders?.subscription_count, 2)
      const single = yield* requestsTo("/events")
      const batches = yield* requestsTo("/batch_events")
      assert.deepStrictEqual([single.length, batches.length], [1, 1])
      // The excluded connection did not receive caller 1's event; the other one did.
      assert.deepStrictEqual((yield* received(client, "orders")).map((p) => p.caller).sort(), [0, 2])
      assert.deepStrictEqual((yield* received(other, "orders")).map((p) => p.caller).sort(), [0, 1, 2])
    }).pipe(Effect.provide(withPublisher({ maxWait: "100 millis" })))
  )

  it.live("closing the scope publishes what is queued; a publish after that fails typed, nothing sent", () =>
    Effect.gen(function* () {
      const emu = yield* Emulator.Emulator
      const client = yield* emu.connect()
      yield* client.subscribe("orders")
      // The first request takes 300 ms; the events published meanwhile wait for it (up to an hour).
      yield* emu.faults.inject({ route: "POST /batch_events", times: 1, fault: Faults.latency("300 millis") })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Publisher.layer({ maxWait: "1 hour", maxInFlight: 1 }), scope)
      const publisher = Context.get(context, Publisher.Publisher)
      const first = yield* Effect.forkChild(publisher.publish("orders", "order", { caller: 0, seq: 0 }))
      yield* Effect.sleep("20 millis")
      const fibers = yield* Effect.forEach([1, 2, 3, 4], (n) =>
        Effect.forkChild(publisher.publish("orders", "order", { caller: n, seq: 0 }))
      )
      yield* Effect.sleep("20 millis")
      assert.strictEqual(yield* publisher.queued, 4)
      yield* Scope.close(scope, Exit.void)
      for (const fiber of [first, ...fibers]) assert.isString((yield* Fiber.join(fiber)).idempotencyKey)
      assert.deepStrictEqual(
        (yield* received(client, "orders")).map((p) => p.caller),
        [0, 1, 2, 3, 4]
      )
      const error = yield* Effect.flip(publisher.publish("orders", "order", 5))
      expect(error).toMatchObject({ _tag: "SockudoPublisherClosedError", isRetryable: false })
      assert.strictEqual((yield* requestsTo("/batch_events")).length, 2)
    }).pipe(Effect.provide(emulator()))
  )

  it.live("a full queue makes callers wait, and drops nothing", () =>
    Effect.gen(function* () {
      const { emu, publisher, client } = yield* subscribed
      yield* emu.faults.inject({ route: "POST /batch_events", fault: Faults.latency("20 millis") })
      let most = 0
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, n) => n),
        (n) =>
          Effect.andThen(publisher.queued, (queued) => {
            most = Math.max(most, queued)
            return publisher.publish("orders", "order", { caller: 0, seq: n })
          }),
        { concurrency: "unbounded" }
      )
      expect(most).toBeLessThanOrEqual(3)
      expectExactlyOnceInOrder(yield* received(client, "orders"), 1, 40)
    }).pipe(Effect.provide(withPublisher({ maxQueued: 3, maxInFlight: 1, maxEvents: 2 })))
  )

  it.live("maxBytes bounds a request's body", () =>
    Effect.gen(function* () {
      const publisher = yield* Publisher.Publisher
      yield* Effect.forEach(
        Array.from({ length: 10 }, (_, n) => n),
        (n) => publisher.publish("orders", "order", "x".repeat(100 + n)),
        { concurrency: "unbounded" }
      )
      const emu = yield* Emulator.Emulator
      const batches = (yield* emu.requests).filter((r) => r.route === "/batch_events")
      // Each event is about 200 bytes as sent: two fit in 500 bytes, three do not.
      assert.strictEqual(batches.length, 5)
    }).pipe(Effect.provide(withPublisher({ maxBytes: 500, maxWait: "100 millis" })))
  )

  it.live("each publish has its own span, linked both ways to the span of the batch request that carried it", () => {
    const { spans, tracer: recording } = recordingTracer()
    return Effect.gen(function* () {
      const publisher = yield* Publisher.Publisher
      yield* Effect.forEach([0, 1, 2], (n) => publisher.publish("orders", "order", n), { concurrency: "unbounded" })
      const publishes = spans.filter((span) => span.name === "Publisher.publish")
      const batches = spans.filter((span) => span.name === "Publisher.batch")
      assert.strictEqual(publishes.length, 3)
      assert.strictEqual(batches.length, 1)
      const batch = batches[0]!
      assert.strictEqual(batch.kind, "client")
      assert.strictEqual(batch.attributes.get("messaging.batch.message_count"), 3)
      assert.deepStrictEqual(
        batch.links.map((link) => link.span),
        publishes
      )
      for (const span of publishes) {
        assert.deepStrictEqual(
          span.links.map((link) => link.span),
          [batch]
        )
      }
    }).pipe(Effect.provide(withPublisher({ maxWait: "100 millis" })), Effect.withTracer(recording))
  })

  it.effect("invalid settings and invalid events fail typed, before anything is queued", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(Publisher.layer({ maxEvents: 0 })))
      expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "publisher.maxEvents" })
      const wait = yield* Effect.flip(Layer.build(Publisher.layer({ maxWait: "-1 millis" })))
      expect(wait).toMatchObject({ _tag: "SockudoConfigError", field: "publisher.maxWait" })
      const publisher = Context.get(yield* Layer.build(Publisher.layer()), Publisher.Publisher)
      expect(yield* Effect.flip(publisher.publish("bad channel", "e", 1))).toMatchObject({
        _tag: "SockudoValidationError",
        field: "channel"
      })
      expect(yield* Effect.flip(publisher.publish([], "e", 1))).toMatchObject({ field: "channels" })
      expect(yield* Effect.flip(publisher.publish("a", "e", 1, { idempotencyKey: "a b" }))).toMatchObject({
        field: "idempotencyKey"
      })
      assert.strictEqual(yield* publisher.queued, 0)
    }).pipe(Effect.scoped, Effect.provide(emulator()))
  )
})

describe("PromiseClient.publisher", () => {
  it.live("publishes through shared requests and flushes on close", () =>
    Effect.gen(function* () {
      const emu = yield* Emulator.Emulator
      const client = yield* emu.connect()
      yield* client.subscribe("orders")
      const sockudo = yield* Effect.promise(() =>
        PromiseClient.make(
          Sockudo.layer.pipe(
            Layer.provide(Emulator.layerSockudoConfig()),
            Layer.provide(Emulator.layerHttpClient),
            Layer.provide(Layer.succeed(Emulator.Emulator, emu))
          ),
          { publisher: { maxWait: "50 millis" } }
        )
      )
      const receipts = yield* Effect.promise(() =>
        Promise.all([0, 1, 2].map((n) => sockudo.publisher.publish("orders", "order", { caller: n, seq: 0 })))
      )
      for (const receipt of receipts) assert.isString(receipt.idempotencyKey)
      yield* Effect.promise(() => sockudo.close())
      assert.deepStrictEqual(
        (yield* received(client, "orders")).map((p) => p.caller),
        [0, 1, 2]
      )
      assert.strictEqual((yield* emu.requests).filter((r) => r.route === "/batch_events").length, 1)
    }).pipe(Effect.provide(emulator()))
  )
})
