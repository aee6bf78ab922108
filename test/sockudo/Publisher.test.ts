/**
 * Publishing at scale against the real server and the emulator: the coalescing publisher
 * (shared batch requests; an event the server refuses fails alone, found by re-sending each
 * event under its key), publishes split by an app's configured limits, and a trigger to
 * several `private-encrypted-` channels sealed once per channel.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import nacl from "tweetnacl"
import { expect } from "vitest"
import { Publisher, type Sockudo } from "../../src/index.ts"
import type { PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import type { Sdk } from "./support/sdk.ts"

const peers = usePeers()
const masterKey = Redacted.make(Buffer.alloc(32, 9).toString("base64"))

/** Runs `f` with a publisher over `sdk`'s service, closed (flushed) afterwards. */
const withPublisher = <A, E>(
  sdk: Sdk,
  options: Publisher.Options,
  f: (publisher: Publisher.Service, sockudo: Sockudo.Service) => Effect.Effect<A, E>
) =>
  sdk.run((sockudo) =>
    Effect.scoped(Effect.flatMap(Publisher.make(sockudo, options), (publisher) => f(publisher, sockudo)))
  )

const numbers = async (client: PeerClient, channel: string, n: number) => {
  await client.waitFor(`${n} events on ${channel}`, () => client.events(channel).length >= n)
  return client.events(channel).map((e) => (e.data as { n: number }).n)
}

/** The method and path of each exchange, in order. */
const routes = (sdkExchanges: ReadonlyArray<{ readonly method: string; readonly path: string }>) =>
  sdkExchanges.map((e) => `${e.method} ${e.path.replace(/^\/apps\/[^/]+/, "")}`)

differential(peers, "publisher: events published together share one batch request, each delivered once", async (s) => {
  const channel = s.name("orders")
  const client = await s.connect()
  await client.subscribe(channel)
  const receipts = await withPublisher(s.sdk, { maxWait: "300 millis" }, (publisher) =>
    Effect.forEach(
      [0, 1, 2, 3, 4, 5],
      (n) => publisher.publish(channel, "order", { n }, n === 3 ? { info: ["subscription_count"] } : undefined),
      { concurrency: "unbounded" }
    )
  )
  expect(routes(s.exchanges())).toEqual(["POST /batch_events"])
  expect(receipts.map((r) => r.channels)).toMatchObject([{}, {}, {}, { [channel]: { subscription_count: 1 } }, {}, {}])
  expect(new Set(receipts.map((r) => r.idempotencyKey)).size).toBe(6)
  expect(await numbers(client, channel, 6)).toEqual([0, 1, 2, 3, 4, 5])
})

differential(
  peers,
  "publisher: the server refuses one event of a batch; it fails alone, the others are published once",
  async (s) => {
    // limits-app: 4 KB payloads, 3 events per batch.
    const sdk = s.sdkFor(apps.limits)
    const channel = s.name("orders")
    const client = await s.connect({ app: apps.limits })
    await client.subscribe(channel)
    const exits = await withPublisher(sdk, { maxWait: "300 millis", maxEvents: 3, maxInFlight: 1 }, (publisher) =>
      Effect.forEach(
        [0, 1, 2, 3, 4],
        (n) => Effect.exit(publisher.publish(channel, "order", n === 2 ? { n, pad: "x".repeat(5000) } : { n })),
        { concurrency: "unbounded" }
      )
    )
    expect(exits.map((exit) => Exit.isSuccess(exit))).toEqual([true, true, false, true, true])
    const refused = exits[2]!
    expect(Exit.isFailure(refused) && refused.cause.reasons[0]).toMatchObject({
      error: { _tag: "SockudoClientError", status: 413 }
    })
    // The first batch stops at its third event; each of its events is sent again under its key:
    // the two published ones answer `1`, the refused one's key is still claimed (503).
    expect(routes(s.exchanges())).toEqual([
      "POST /batch_events",
      "POST /events",
      "POST /events",
      "POST /events",
      "POST /batch_events"
    ])
    expect(s.exchanges().map((e) => [e.status, e.body])).toMatchObject([
      [413, expect.any(String)],
      [200, "1"],
      [200, "1"],
      [503, expect.stringContaining("backpressure")],
      [200, "{}"]
    ])
    expect(await numbers(client, channel, 4)).toEqual([0, 1, 3, 4])
  }
)

differential(peers, "a trigger and a batch above the app's limits are split into requests that fit", async (s) => {
  const sdk = s.sdkFor(apps.limits, { limits: { maxChannelsPerTrigger: 3, maxBatchSize: 3 } })
  const channels = [1, 2, 3, 4, 5, 6, 7].map((i) => s.name(`room${i}`))
  const client = await s.connect({ app: apps.limits })
  for (const channel of channels) await client.subscribe(channel)
  const receipt = await sdk.run((sockudo) => sockudo.trigger(channels, "e", { n: 0 }, { info: ["subscription_count"] }))
  expect(Object.keys(receipt.channels).sort()).toEqual([...channels].sort())
  const batch = await sdk.run((sockudo) =>
    sockudo.triggerBatch([1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ channel: channels[0]!, name: "e", data: { n } })))
  )
  expect(batch.batch).toEqual([])
  expect(routes(s.exchanges())).toEqual([
    "POST /events",
    "POST /events",
    "POST /events",
    "POST /batch_events",
    "POST /batch_events",
    "POST /batch_events"
  ])
  expect(await numbers(client, channels[0]!, 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
  for (const channel of channels.slice(1)) expect(await numbers(client, channel, 1)).toEqual([0])
})

differential(
  peers,
  "a trigger to several private-encrypted- channels: one batch, each sealed with its own key",
  async (s) => {
    const sdk = s.sdkFor(apps.test, { encryptionMasterKeyBase64: masterKey })
    const targets = [`private-encrypted-${s.name("a")}`, `private-encrypted-${s.name("b")}`, s.name("plain")]
    const secrets: Array<string> = []
    const clients: Array<PeerClient> = []
    for (const channel of targets) {
      const client = await s.connect()
      clients.push(client)
      if (channel.startsWith("private-")) {
        const auth = await sdk.run((sockudo) => sockudo.authorizeChannel(client.socketId, channel))
        secrets.push(auth.shared_secret!)
        expect(await client.subscribe(channel, auth)).toEqual({ ok: true })
      } else {
        await client.subscribe(channel)
      }
    }
    const data = { id: "ord_1", note: "grüße" }
    await sdk.run((sockudo) => sockudo.trigger(targets, "created", data))
    expect(routes(s.exchanges())).toEqual(["POST /batch_events"])
    const payloads: Array<unknown> = []
    for (let i = 0; i < targets.length; i++) {
      await clients[i]!.waitFor("the event", () => clients[i]!.events(targets[i]).length >= 1)
      payloads.push(clients[i]!.events(targets[i])[0]!.data)
    }
    expect(open(payloads[0], secrets[0]!)).toEqual(data)
    expect(open(payloads[1], secrets[1]!)).toEqual(data)
    expect(open(payloads[0], secrets[1]!)).toBeNull()
    expect(payloads[2]).toEqual(data)
  }
)

/** Opens a sealed payload with a channel's `shared_secret`, as pusher-js does (tweetnacl). */
const open = (payload: unknown, secret: string): unknown => {
  const envelope = (typeof payload === "string" ? JSON.parse(payload) : payload) as {
    nonce: string
    ciphertext: string
  }
  const plain = nacl.secretbox.open(
    Buffer.from(envelope.ciphertext, "base64"),
    Buffer.from(envelope.nonce, "base64"),
    Buffer.from(secret, "base64")
  )
  return plain === null ? null : JSON.parse(Buffer.from(plain).toString("utf8"))
}
