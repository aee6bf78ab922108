import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Http, Sockudo, SockudoConfig } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as Faults from "../../../src/testing/emulator/Faults.ts"

const everySecond = Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 3 }))
const once = Http.withRetrySchedule(SockudoConfig.noRetries)
const test = Effect.provide(Emulator.layerTest({ sockudo: { retry: everySecond } }))

/** Runs `effect` in the background while `TestClock` runs the backoff sleeps. */
const withTime = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    yield* TestClock.adjust("60 seconds")
    return yield* Fiber.join(fiber)
  })

const setup = Effect.gen(function* () {
  const emulator = yield* Emulator.Emulator
  const sockudo = yield* Sockudo.Sockudo
  const client = yield* emulator.connect()
  yield* client.subscribe("orders")
  return { emulator, sockudo, client }
})

describe("faults", () => {
  it.effect("fails the next N requests of a route with a status; the SDK retries with the same key", () =>
    Effect.gen(function* () {
      const { emulator, sockudo, client } = yield* setup
      yield* emulator.faults.inject({ route: "POST /events", times: 2, fault: Faults.status(503) })
      const exit = yield* withTime(sockudo.trigger("orders", "e", 1))
      assert.strictEqual(exit._tag, "Success")
      const requests = (yield* emulator.requests).filter((r) => r.route === "/events")
      expect(requests.map((r) => r.status)).toEqual([503, 503, 200])
      assert.strictEqual((yield* client.events()).length, 1)
      yield* sockudo.channels.list()
      assert.strictEqual((yield* emulator.requests).at(-1)?.status, 200)
    }).pipe(test)
  )

  it.effect("answers 429 with Retry-After, and the SDK waits that long and the second it was rounded down by", () =>
    Effect.gen(function* () {
      const { emulator, sockudo } = yield* setup
      yield* emulator.faults.inject({ route: "POST /events", times: 1, fault: Faults.rateLimited(5) })
      const fiber = yield* Effect.forkChild(sockudo.trigger("orders", "e", 1))
      yield* TestClock.adjust("5999 millis")
      assert.strictEqual((yield* emulator.requests).length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      expect((yield* emulator.requests).map((r) => r.status)).toEqual([429, 200])
    }).pipe(test)
  )

  it.effect("drops the connection before processing: nothing happened", () =>
    Effect.gen(function* () {
      const { emulator, sockudo, client } = yield* setup
      yield* emulator.faults.inject({ fault: Faults.dropBefore, times: 1 })
      const error = yield* Effect.flip(sockudo.channels.list().pipe(once))
      assert.strictEqual(error._tag, "SockudoTransportError")
      yield* emulator.faults.inject({ route: "POST /events", fault: Faults.dropBefore, times: 1 })
      const exit = yield* withTime(sockudo.trigger("orders", "e", 1))
      assert.strictEqual(exit._tag, "Success")
      expect((yield* emulator.requests).map((r) => r.dropped)).toEqual(["before", "before", undefined])
      assert.strictEqual((yield* client.events()).length, 1)
    }).pipe(test)
  )

  it.effect("drops the connection after processing: it happened, and the retry gets the first answer", () =>
    Effect.gen(function* () {
      const { emulator, sockudo, client } = yield* setup
      yield* emulator.faults.inject({ route: "POST /events", fault: Faults.dropAfter, times: 1 })
      const exit = yield* withTime(sockudo.trigger("orders", "e", 1, { info: ["subscription_count"] }))
      assert.strictEqual(exit._tag, "Success")
      if (exit._tag === "Success") assert.strictEqual(exit.value.channels.orders?.subscription_count, 1)
      expect((yield* emulator.requests).map((r) => [r.status, r.dropped])).toEqual([
        [200, "after"],
        [200, undefined]
      ])
      assert.strictEqual((yield* client.events()).length, 1)
    }).pipe(test)
  )

  it.effect("adds latency on the Effect clock", () =>
    Effect.gen(function* () {
      const { emulator, sockudo } = yield* setup
      yield* emulator.faults.inject({ route: "GET /channels", fault: Faults.latency("2 seconds") })
      const fiber = yield* Effect.forkChild(sockudo.channels.list())
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual((yield* emulator.requests).length, 0)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      yield* sockudo.trigger("orders", "e", 1)
      assert.strictEqual((yield* emulator.requests).length, 2)
    }).pipe(test)
  )

  it.effect("applies a rule with its probability, and clear removes every rule", () =>
    Effect.gen(function* () {
      const { emulator, sockudo } = yield* setup
      yield* emulator.faults.inject({ route: "GET /channels", probability: 0.5, fault: Faults.status(500) })
      for (let i = 0; i < 200; i++) yield* Effect.exit(sockudo.channels.list().pipe(once))
      const failed = (yield* emulator.requests).filter((r) => r.status === 500).length
      assert.isAbove(failed, 60)
      assert.isBelow(failed, 140)
      yield* emulator.faults.clear
      yield* sockudo.channels.list()
      assert.strictEqual((yield* emulator.requests).at(-1)?.status, 200)
      yield* emulator.faults.inject({
        route: (target) => target.method === "GET" && target.appId === "other",
        fault: Faults.status(500)
      })
      yield* sockudo.channels.list().pipe(once)
      assert.strictEqual((yield* emulator.requests).at(-1)?.status, 200)
    }).pipe(test)
  )
})
