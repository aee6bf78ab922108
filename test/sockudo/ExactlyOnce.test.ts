/**
 * Exactly once through faults in front of the real server. A TCP proxy (`support/proxy.ts`)
 * between the SDK and the node fails about 20% of connections: it drops the request, drops the
 * answer of a processed request, or holds the answer past the SDK's 500 ms timeout. With the
 * SDK's automatic idempotency keys and retries, every one of 5,000 publishes is stored and
 * delivered exactly once. Without keys, a caller retrying the same faults stores duplicates, so
 * the first test can fail. History is read from the server directly, not through the proxy.
 * (The emulator's version of this test is `test/testing/emulator/ExactlyOnce.test.ts`.)
 *
 * Last, a limit of the server itself: once its memory cache is full, it forgets keys.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Sockudo, SockudoConfig } from "../../src/index.ts"
import { connectRaw, type PeerClient, sleep } from "./support/clients.ts"
import { apps, servers, unique } from "./support/env.ts"
import { type FaultCounts, startFaultProxy } from "./support/proxy.ts"
import { makeSdk, type Sdk } from "./support/sdk.ts"

const publishes = 5_000
const concurrency = 16
/** 20% of connections meet a fault, a third of them each kind. */
const rates = { dropBefore: 0.2 / 3, dropAfter: 0.2 / 3, delay: 0.2 / 3 }
const timeout = "500 millis"
const delayMs = 800
/** Enough retries that 20% faults never exhaust them (0.2^30), quick ones: the faults are instant. */
const retry: SockudoConfig.RetrySchedule = Schedule.min([
  Schedule.exponential("10 millis"),
  Schedule.spaced("200 millis")
]).pipe(Schedule.upTo({ times: 30 }))

type Publish = (sockudo: Sockudo.Service, channel: string, n: number) => Effect.Effect<unknown, unknown>

interface Copies {
  readonly total: number
  /** Sequence numbers never seen. */
  readonly lost: number
  /** Sequence numbers seen more than once. */
  readonly duplicated: number
}

const copies = (ns: ReadonlyArray<number>): Copies => {
  const seen = new Map<number, number>()
  for (const n of ns) seen.set(n, (seen.get(n) ?? 0) + 1)
  let lost = 0
  for (let n = 0; n < publishes; n++) if (!seen.has(n)) lost++
  return { total: ns.length, lost, duplicated: [...seen.values()].filter((c) => c > 1).length }
}

describe("exactly once through faults in front of Sockudo", () => {
  let direct: Sdk
  let subscriber: PeerClient
  beforeAll(async () => {
    direct = makeSdk(`http://${servers.host}:${servers.port}`, apps.test)
    subscriber = await connectRaw({ host: servers.host, port: servers.port, key: apps.test.key })
  })
  afterAll(async () => {
    await subscriber.disconnect()
    await direct.dispose()
  })

  /** Publishes 0..4999 through the proxy; what history and a subscriber hold, and the faults met. */
  const run = async (seed: string, settings: SockudoConfig.Settings, publish: Publish) => {
    const channel = unique("exactly-once")
    await subscriber.subscribe(channel)
    const proxy = await startFaultProxy({ target: { host: servers.host, port: servers.port }, rates, delayMs, seed })
    const sdk = makeSdk(proxy.url, apps.test, undefined, { timeout, ...settings })
    const started = Date.now()
    let faults: FaultCounts
    try {
      await sdk.run((sockudo) =>
        Effect.forEach(
          Array.from({ length: publishes }, (_, n) => n),
          (n) => publish(sockudo, channel, n),
          { concurrency, discard: true }
        )
      )
      faults = proxy.counts()
    } finally {
      await sdk.dispose()
      await proxy.close()
    }
    const publishedMs = Date.now() - started
    // The server's page size is at most 100: the stream follows 50 and more cursors.
    const stored = await direct.run((sockudo) =>
      Stream.runCollect(sockudo.history.stream(channel, { direction: "oldest_first", limit: 100 }))
    )
    const sequence = (data: unknown) => (JSON.parse(data as string) as { n: number }).n
    await subscriber.waitFor("every stored event", () => subscriber.events(channel).length >= stored.length, 10_000)
    await sleep(200) // a duplicate delivered without a stored copy would show by now
    const result = {
      faults,
      stored: copies(stored.map((item) => sequence(item.message.data))),
      delivered: copies(subscriber.events(channel).map((e) => (e.data as { n: number }).n)),
      publishedMs,
      totalMs: Date.now() - started
    }
    console.log(`${seed}: ${JSON.stringify(result)}`)
    return result
  }

  /** Each kind of fault happened to hundreds of connections (about 6,250 connections, 1/15 each). */
  const expectFaults = (faults: FaultCounts) => {
    expect(faults.dropBefore).toBeGreaterThan(250)
    expect(faults.dropAfter).toBeGreaterThan(250)
    expect(faults.delay).toBeGreaterThan(250)
  }

  it("with automatic idempotency keys: every event stored and delivered exactly once", async () => {
    const result = await run("keys", { retry }, (sockudo, channel, n) => sockudo.trigger(channel, "order", { n }))
    expectFaults(result.faults)
    // Each delayed answer came after the attempt's timeout, and the SDK retried; but a keyed
    // attempt is left to finish (an abandoned request would leave its key claimed on the server),
    // so every delayed answer still found its connection open.
    expect(result.faults.delayedPastClient).toBe(0)
    expect(result.stored).toEqual({ total: publishes, lost: 0, duplicated: 0 })
    expect(result.delivered).toEqual({ total: publishes, lost: 0, duplicated: 0 })
  }, 90_000)

  it("without keys, a caller retrying the same faults stores duplicates (so the test above can fail)", async () => {
    const result = await run(
      "no-keys",
      { autoIdempotency: false, retry: SockudoConfig.noRetries },
      (sockudo, channel, n) =>
        sockudo.trigger(channel, "order", { n }).pipe(Effect.retry({ times: 30, while: (e) => e.isRetryable }))
    )
    expectFaults(result.faults)
    // Without a key the SDK aborts an attempt at its timeout: the delayed answers were lost to it.
    expect(result.faults.delayedPastClient).toBeGreaterThan(250)
    expect(result.stored.lost).toBe(0)
    // Every answer lost after the server processed the publish is one more stored copy.
    const answersLost = result.faults.dropAfter + result.faults.delayedPastClient
    expect(result.stored.total - publishes).toBeGreaterThanOrEqual(answersLost)
    expect(result.stored.duplicated).toBeGreaterThan(400)
    expect(result.delivered).toEqual(result.stored)
  }, 90_000)
})

describe("Sockudo 5.0.1's memory cache, once full, evicts idempotency keys", () => {
  // The node of config/smallcache.toml holds 200 cache entries; a keyed publish stores two (the
  // HTTP key and the message-level key). The cache (moka) admits a new entry over the least
  // recently used one only when the new key has been used more often, so a key is evicted by
  // busier keys: here 300 fill keys each replayed 4 times. A retry under an evicted key is
  // published again: keep the memory cache far larger than the keys of a TTL (or use Redis).
  it("a key replayed after busier keys filled the cache is published again", async () => {
    const sdk = makeSdk(`http://${servers.host}:${servers.smallCachePort}`, apps.test)
    try {
      const keys = Array.from({ length: 10 }, (_, k) => {
        const channel = unique("evicted")
        return { channel, idempotencyKey: `evicted-${k}-${channel}` }
      })
      const publishEach = () =>
        sdk.run((sockudo) =>
          Effect.forEach(
            keys,
            ({ channel, idempotencyKey }, k) => sockudo.trigger(channel, "e", { k }, { idempotencyKey }),
            { discard: true }
          )
        )
      const storedCopies = () =>
        Promise.all(
          keys.map(({ channel }) =>
            sdk.run((sockudo) =>
              Stream.runCollect(sockudo.history.stream(channel)).pipe(Effect.map((items) => items.length))
            )
          )
        )
      await publishEach()
      await publishEach()
      // Replayed while the cache still holds them: published once each.
      expect(await storedCopies()).toEqual(keys.map(() => 1))
      const fill = unique("fill")
      for (let replay = 0; replay < 4; replay++) {
        await sdk.run((sockudo) =>
          Effect.forEach(
            Array.from({ length: 300 }, (_, n) => n),
            (n) => sockudo.trigger(fill, "e", { n }, { idempotencyKey: `${fill}-${n}` }),
            { concurrency, discard: true }
          )
        )
      }
      await sleep(1_000)
      await publishEach()
      const copies = await storedCopies()
      const republished = copies.filter((n) => n === 2).length
      expect(copies.every((n) => n === 1 || n === 2)).toBe(true)
      console.log(`keys replayed after 300 busier keys on a 200-entry cache: ${republished} of 10 published twice`)
      expect(republished).toBeGreaterThan(0)
    } finally {
      await sdk.dispose()
    }
  }, 60_000)
})
