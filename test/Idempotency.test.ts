/**
 * Idempotency that survives the retries users write. What each form means:
 * - re-running one publish Effect value is a retry of one publish: the same key (so
 *   `Effect.repeat` of it publishes once);
 * - each `trigger` call is a new publish, with a new key;
 * - `Sockudo.idempotent(program, key)` makes a whole program retry-safe: every publish and
 *   mutation in it gets the key `<key>:<position>`, so a re-run of the program re-sends the same
 *   keys and the server answers the ones it has seen from its cache.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime, Schedule } from "effect"
import * as Idempotency from "../src/Idempotency.ts"
import { PromiseClient, Push, Sockudo, SockudoConfig } from "../src/index.ts"
import * as Emulator from "../src/testing/emulator/Emulator.ts"
import * as Faults from "../src/testing/emulator/Faults.ts"
import * as SockudoTest from "../src/testing/index.ts"
import { layer, requests, sequence, sockudo } from "./support/harness.ts"

/** The key a recorded request carries: header and body, op_id, publishId. */
const keyOf = (request: SockudoTest.RecordedRequest): string | undefined => {
  const body = request.json as Record<string, unknown> | undefined
  const fromBody = body?.idempotency_key ?? body?.op_id ?? body?.publishId
  // A batch's key travels in the header only (the server has no body field for it).
  if (request.headers["x-idempotency-key"] !== undefined && fromBody !== undefined) {
    assert.strictEqual(fromBody, request.headers["x-idempotency-key"], "the body and the header agree")
  }
  return (fromBody as string | undefined) ?? request.headers["x-idempotency-key"]
}
const keys = Effect.map(requests, (all) => all.map(keyOf))

const noRetries = { retry: SockudoConfig.noRetries }

/** Answers every request as the server would, whatever the route. */
const okForAll: SockudoTest.Handler = (request) => {
  if (request.path.endsWith("/push/publish")) {
    return SockudoTest.json(202, { publishId: (request.json as { publishId: string }).publishId, status: "accepted" })
  }
  if (request.path.endsWith("/update")) {
    return SockudoTest.json(200, {
      channel: "chat",
      message_serial: "m-1",
      action: "update",
      accepted: true,
      status: "applied"
    })
  }
  return SockudoTest.json(200, { ok: true })
}

const program = Effect.gen(function* () {
  const s = yield* Sockudo.Sockudo
  yield* s.trigger("orders", "order.created", { id: 1 })
  yield* s.triggerBatch([{ channel: "audit", name: "order.created", data: { id: 1 } }])
  yield* s.sendToUser("u1", "notice", "your order")
  yield* s.messages.update("chat", "m-1", { data: "edited" })
  yield* s.push.publish({ recipients: [Push.target.client("u1")], payload: { title: "Order placed" } })
})

describe("Sockudo.idempotent: a whole program's publishes and mutations get keys from its key and their position", () => {
  it.effect("each publish and mutation is keyed <key>:<position>; a re-run of the program re-sends the same keys", () =>
    Effect.gen(function* () {
      const scoped = Sockudo.idempotent(program, "order-42")
      yield* scoped
      yield* scoped
      const sent = yield* keys
      const expected = ["order-42:0", "order-42:1", "order-42:2", "order-42:3", "order-42:4"]
      assert.deepStrictEqual(sent, [...expected, ...expected])
    }).pipe(Effect.provide(layer(okForAll)))
  )

  it.effect("Effect.retry around the scoped program: the retry re-sends the first run's keys", () =>
    Effect.gen(function* () {
      yield* Effect.retry(Sockudo.idempotent(program, "order-7"), { times: 1 })
      const sent = yield* keys
      // The first run failed at its third request; the retry starts over with the same keys.
      assert.deepStrictEqual(sent, [
        "order-7:0",
        "order-7:1",
        "order-7:2",
        "order-7:0",
        "order-7:1",
        "order-7:2",
        "order-7:3",
        "order-7:4"
      ])
    }).pipe(
      Effect.provide(
        layer(
          (() => {
            let n = 0
            return (request: SockudoTest.RecordedRequest) =>
              ++n === 3 ? SockudoTest.transportFailure("connection reset") : okForAll(request)
          })(),
          noRetries
        )
      )
    )
  )

  it.effect("without a key, one is generated per idempotent(...) value and kept by every run of it", () =>
    Effect.gen(function* () {
      const publishOne = Effect.flatMap(Sockudo.Sockudo, (s) => s.trigger("orders", "e", 1))
      const scoped = Sockudo.idempotent(publishOne)
      yield* scoped
      yield* scoped
      yield* Sockudo.idempotent(publishOne)
      const [a, b, c] = yield* keys
      assert.match(a!, /^[0-9a-f-]{36}:0$/)
      assert.strictEqual(b, a)
      assert.notStrictEqual(c, a)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("positions do not shift: a publish built outside the program, a retried publish inside it", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const prebuilt = s.trigger("orders", "first", 1)
      const scoped = Sockudo.idempotent(
        Effect.gen(function* () {
          yield* prebuilt
          yield* Effect.retry(s.trigger("orders", "second", 2), { times: 2 })
          yield* s.trigger("orders", "third", 3)
        }),
        "k"
      )
      yield* scoped
      yield* scoped
      assert.deepStrictEqual(yield* keys, ["k:0", "k:1", "k:1", "k:2", "k:0", "k:1", "k:2"])
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(200, { ok: true }),
            SockudoTest.transportFailure(),
            SockudoTest.json(200, { ok: true })
          ),
          noRetries
        )
      )
    )
  )

  it.effect("a key given to a call wins and still takes its position", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* Sockudo.idempotent(
        Effect.gen(function* () {
          yield* s.trigger("orders", "a", 1)
          yield* s.trigger("orders", "b", 2, { idempotencyKey: "mine" })
          yield* s.trigger("orders", "c", 3)
        }),
        "k"
      )
      assert.deepStrictEqual(yield* keys, ["k:0", "mine", "k:2"])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("keys every publish even with autoIdempotency off, and then retries it like a keyed one", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* Sockudo.idempotent(s.trigger("orders", "a", 1), "k")
      yield* s.trigger("orders", "b", 2).pipe(Effect.exit)
      assert.deepStrictEqual(yield* keys, ["k:0", "k:0", undefined])
    }).pipe(
      Effect.provide(
        layer(sequence(SockudoTest.json(503, { error: "busy" }), SockudoTest.json(200, { ok: true })), {
          autoIdempotency: false,
          retry: Schedule.recurs(1)
        })
      )
    )
  )

  it.effect("a nested scope without a key derives its key from its position in the outer one", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const outer = Sockudo.idempotent(
        Effect.gen(function* () {
          yield* s.trigger("orders", "a", 1)
          yield* Sockudo.idempotent(Effect.zip(s.trigger("orders", "b", 2), s.trigger("orders", "c", 3)))
          yield* s.trigger("orders", "d", 4)
        }),
        "k"
      )
      yield* outer
      yield* outer
      const sent = yield* keys
      assert.deepStrictEqual(sent.slice(4), sent.slice(0, 4))
      assert.strictEqual(sent[0], "k:0")
      assert.strictEqual(sent[3], "k:2")
      assert.match(sent[1]!, /^[0-9a-f]{32}:0$/)
      assert.strictEqual(sent[2], `${sent[1]!.split(":")[0]}:1`)
    }).pipe(Effect.provide(layer()))
  )

  for (const key of ["", "has space", "k".repeat(41), "ü"]) {
    it.effect(`a key ${JSON.stringify(key)} is a SockudoValidationError naming key; nothing is sent`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Sockudo.idempotent(program, key))
        expect(error).toMatchObject({ _tag: "SockudoValidationError", field: "key" })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }
})

describe("what each form means, against the emulator's idempotency store (a publish dropped after the server handled it)", () => {
  /** Publishes a, b, c; the answer to the request numbered `lost` (from 1) never arrives. */
  const run = <E>(
    lost: number,
    publish: (program: Effect.Effect<void, unknown, Sockudo.Sockudo>) => Effect.Effect<unknown, E, Sockudo.Sockudo>
  ) =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const client = yield* emulator.connect()
      yield* client.subscribe("orders")
      let n = 0
      yield* emulator.faults.inject({ route: (t) => t.route === "/events" && ++n === lost, fault: Faults.dropAfter })
      const threePublishes = Effect.gen(function* () {
        const s = yield* Sockudo.Sockudo
        for (const name of ["a", "b", "c"]) yield* s.trigger("orders", name, name)
      })
      yield* Effect.exit(publish(threePublishes))
      return (yield* client.events("orders")).map((m) => m.event)
    }).pipe(Effect.provide(Emulator.layerTest({ sockudo: noRetries })))

  it.effect("Effect.retry around a program without a scope publishes again: each trigger call is a new publish", () =>
    Effect.gen(function* () {
      const delivered = yield* run(2, (p) => Effect.retry(p, { times: 1 }))
      assert.deepStrictEqual(delivered, ["a", "b", "a", "b", "c"])
    })
  )

  it.effect("Effect.retry around Sockudo.idempotent(program): every event exactly once", () =>
    Effect.gen(function* () {
      const delivered = yield* run(2, (p) => Effect.retry(Sockudo.idempotent(p, "checkout-1"), { times: 1 }))
      assert.deepStrictEqual(delivered, ["a", "b", "c"])
    })
  )

  it.effect("re-running one trigger Effect value is a retry of one publish: Effect.repeat of it publishes once", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const client = yield* emulator.connect()
      yield* client.subscribe("orders")
      const s = yield* Sockudo.Sockudo
      const one = s.trigger("orders", "once", 1)
      yield* Effect.repeat(one, { times: 2 })
      yield* s.trigger("orders", "twice", 2)
      yield* s.trigger("orders", "twice", 2)
      assert.deepStrictEqual(
        (yield* client.events("orders")).map((m) => m.event),
        ["once", "twice", "twice"]
      )
    }).pipe(Effect.provide(Emulator.layerTest()))
  )
})

/**
 * A PromiseClient over the in-process emulator (no SDK retries), with `rule` injected and a
 * client subscribed to `orders`; `body` gets the client and what the subscriber received.
 */
const withEmulator = async (
  rule: Faults.FaultRule,
  body: (
    sockudo: PromiseClient.PromiseClient,
    seen: { readonly delivered: () => Promise<ReadonlyArray<string>>; readonly sent: () => Promise<number> }
  ) => Promise<void>
) => {
  const runtime = ManagedRuntime.make(Emulator.layerTest({ sockudo: noRetries }))
  try {
    const emulator = await runtime.runPromise(Emulator.Emulator)
    const client = await runtime.runPromise(emulator.connect())
    await runtime.runPromise(client.subscribe("orders"))
    await runtime.runPromise(emulator.faults.inject(rule))
    await using sockudo = await PromiseClient.make(
      Layer.succeed(Sockudo.Sockudo, await runtime.runPromise(Sockudo.Sockudo))
    )
    await body(sockudo, {
      delivered: async () => (await runtime.runPromise(client.events("orders"))).map((m) => m.event),
      sent: async () => (await runtime.runPromise(emulator.requests)).filter((r) => r.route === "/events").length
    })
  } finally {
    await runtime.dispose()
  }
}

describe("PromiseClient.idempotent: the same scope for a Promise user's retry loop", () => {
  it("a retry loop around sockudo.idempotent(key, body) re-sends the same keys, and every event arrives once", () => {
    let n = 0
    return withEmulator(
      { route: (t) => t.route === "/events" && ++n === 2, fault: Faults.dropAfter },
      async (sockudo, seen) => {
        const checkout = (orderId: string) =>
          sockudo.idempotent(`checkout-${orderId}`, async (s) => {
            await s.trigger("orders", "a", orderId)
            await s.trigger("orders", "b", orderId)
            await s.trigger("orders", "c", orderId)
          })
        let attempts = 0
        for (;;) {
          attempts++
          try {
            await checkout("o-1")
            break
          } catch (error) {
            expect(error).toMatchObject({ _tag: "SockudoTransportError" })
            if (attempts > 3) throw error
          }
        }
        assert.strictEqual(attempts, 2)
        assert.deepStrictEqual(await seen.delivered(), ["a", "b", "c"])
        assert.strictEqual(await seen.sent(), 5, "the retry re-sent a and b, which the server answered from its cache")
      }
    )
  })

  it("without the scope, an idempotencyKey chosen once and given on every attempt survives the retry loop too", () =>
    withEmulator({ route: "POST /events", times: 1, fault: Faults.dropAfter }, async (sockudo, seen) => {
      const idempotencyKey = "order-o-2-paid"
      for (let attempt = 1; ; attempt++) {
        try {
          await sockudo.trigger("orders", "paid", "o-2", { idempotencyKey })
          break
        } catch (error) {
          if (attempt === 3) throw error
        }
      }
      assert.deepStrictEqual(await seen.delivered(), ["paid"])
      assert.strictEqual(await seen.sent(), 2)
    }))

  it("a key that is not valid rejects with a SockudoValidationError before anything is sent", async () => {
    await using sockudo = await PromiseClient.make(SockudoTest.layer())
    const body = async () => {
      throw new Error("must not run")
    }
    await expect(sockudo.idempotent("has space", body)).rejects.toMatchObject({
      _tag: "SockudoValidationError",
      field: "key"
    })
  })
})

describe("newKey: the key generated for a call without one", () => {
  it("is a random version 4 UUID, in the form crypto.randomUUID gives, that the server accepts", () => {
    const keys = Array.from({ length: 5000 }, () => Idempotency.newKey())
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    for (const key of keys) {
      assert.match(key, uuid)
      assert.isUndefined(Idempotency.keyReason(key))
    }
    assert.strictEqual(new Set(keys).size, keys.length)
    // Every hex digit shows up in every random position: the bytes are used, not a fixed pattern.
    for (const position of [0, 9, 15, 20, 35]) {
      assert.strictEqual(new Set(keys.map((key) => key[position])).size, 16, `position ${position}`)
    }
  })
})
