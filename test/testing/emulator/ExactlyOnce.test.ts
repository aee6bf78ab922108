import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Random, Schedule } from "effect"
import { Sockudo } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as Faults from "../../../src/testing/emulator/Faults.ts"
import { signed } from "./support.ts"

const publishes = 2000

/**
 * 20% of publish requests fail: 10% dropped before the server processed them, 10% processed
 * with the answer lost. (The second rule is drawn only when the first did not apply.)
 */
const injectFaults = Effect.gen(function* () {
  const emulator = yield* Emulator.Emulator
  yield* emulator.faults.inject({ route: "POST /events", probability: 0.1, fault: Faults.dropBefore })
  yield* emulator.faults.inject({ route: "POST /events", probability: 0.1 / 0.9, fault: Faults.dropAfter })
})

/** Every event stored in the channel's history, read page by page. */
const history = (channel: string) =>
  Effect.gen(function* () {
    const ns: Array<number> = []
    let cursor: string | undefined
    do {
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const query: Array<readonly [string, string]> = [
        ["limit", "100"],
        ["direction", "oldest_first"]
      ]
      if (cursor !== undefined) query.push(["cursor", encodeURIComponent(cursor)])
      const page = yield* signed("GET", `/apps/app-id/channels/${channel}/history`, { timestamp: now, query })
      assert.strictEqual(page.status, 200, page.text)
      const body = page.json as { items: Array<{ message: { data: string } }>; next_cursor: string | null }
      for (const item of body.items) ns.push(JSON.parse(item.message.data).n)
      cursor = body.next_cursor ?? undefined
    } while (cursor !== undefined)
    return ns
  })

const counts = (ns: ReadonlyArray<number>) => {
  const seen = new Map<number, number>()
  for (const n of ns) seen.set(n, (seen.get(n) ?? 0) + 1)
  return {
    lost: Array.from({ length: publishes }, (_, n) => n).filter((n) => !seen.has(n)).length,
    duplicated: [...seen.values()].filter((c) => c > 1).length
  }
}

/** Publishes 0..1999 under faults; returns what the subscriber received and what history holds. */
const run = (publish: (sockudo: Sockudo.Service, n: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator.Emulator
    const sockudo = yield* Sockudo.Sockudo
    const client = yield* emulator.connect()
    yield* client.subscribe("orders")
    yield* injectFaults
    for (let n = 0; n < publishes; n++) yield* publish(sockudo, n)
    const requests = (yield* emulator.requests).filter((r) => r.route === "/events")
    const delivered = (yield* client.events("orders")).map((m) => JSON.parse(m.data as string).n as number)
    return {
      dropsBefore: requests.filter((r) => r.dropped === "before").length,
      dropsAfter: requests.filter((r) => r.dropped === "after").length,
      delivered: counts(delivered),
      stored: counts(yield* history("orders"))
    }
  }).pipe(Random.withSeed("exactly-once"))

const layer = (autoIdempotency: boolean) =>
  Emulator.layerTest({
    features: { history: true },
    limits: { maxHistoryPageSize: 100 },
    sockudo: { autoIdempotency, retry: Schedule.recurs(30) }
  })

describe("exactly once under faults", () => {
  it.live("with idempotency keys: every event stored and delivered exactly once", () =>
    Effect.gen(function* () {
      const result = yield* run((sockudo, n) => sockudo.trigger("orders", "order", { n }))
      // the faults really happened, about 200 of each kind
      assert.isAbove(result.dropsBefore, 120)
      assert.isAbove(result.dropsAfter, 120)
      assert.deepStrictEqual(result.delivered, { lost: 0, duplicated: 0 })
      assert.deepStrictEqual(result.stored, { lost: 0, duplicated: 0 })
    }).pipe(Effect.provide(layer(true)))
  )

  it.live("without keys, a caller retrying the same faults gets duplicates (so the test above can fail)", () =>
    Effect.gen(function* () {
      const result = yield* run((sockudo, n) =>
        sockudo.trigger("orders", "order", { n }).pipe(Effect.retry({ times: 30, while: (e) => e.isRetryable }))
      )
      assert.isAbove(result.dropsAfter, 120)
      assert.isAbove(result.delivered.duplicated, 120)
      assert.isAbove(result.stored.duplicated, 120)
      assert.strictEqual(result.delivered.lost, 0)
    }).pipe(Effect.provide(layer(false)))
  )
})
