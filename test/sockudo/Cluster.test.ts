/**
 * Two Sockudo nodes sharing Redis (adapter, idempotency cache) and PostgreSQL (history,
 * versioned messages), `config/cluster.toml`: what one node accepts, the other delivers, counts,
 * deduplicates and reads back. Real server only: the emulator has no cluster. State that crosses
 * nodes (presence, history written in the background) is eventually consistent, so reads poll.
 */
import { randomUUID } from "node:crypto"
import * as Exit from "effect/Exit"
import { afterAll, describe, expect, it } from "vitest"
import { SockudoConfig } from "../../src/index.ts"
import { connectRaw, type Frame, type PeerClient, sleep } from "./support/clients.ts"
import { apps, servers, unique } from "./support/env.ts"
import { startFaultProxy } from "./support/proxy.ts"
import { makeSdk, type Recorder, type Sdk } from "./support/sdk.ts"

const clustered = process.env.SOCKUDO_TEST_CLUSTER_PORTS !== undefined

/** Retries `check` (an async assertion) until it passes; rethrows its last failure after `timeoutMs`. */
const eventually = async <A>(check: () => Promise<A>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(100)
    }
  }
}

describe.skipIf(!clustered)("a two-node cluster (Redis and PostgreSQL)", () => {
  const nodes = clustered ? servers.clusterPorts : ([0, 0] as const)
  const recorders: [Recorder, Recorder] = [{ exchanges: [] }, { exchanges: [] }]
  const [a, b] = nodes.map((port, i) => makeSdk(`http://${servers.host}:${port}`, apps.test, recorders[i])) as [
    Sdk,
    Sdk
  ]
  const clients: Array<PeerClient> = []
  const connect = async (port: number, protocol: 1 | 2 = 1) => {
    const client = await connectRaw({ host: servers.host, port, key: apps.test.key, protocol })
    clients.push(client)
    return client
  }
  const onA = (protocol?: 1 | 2) => connect(nodes[0], protocol)
  const onB = (protocol?: 1 | 2) => connect(nodes[1], protocol)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect()))
    await Promise.all([a.dispose(), b.dispose()])
  })

  /** The application events `client` received on `channel`, once a fence published after them arrived. */
  const settled = async (client: PeerClient, channel: string, through: Sdk): Promise<ReadonlyArray<Frame>> => {
    const fence = `fence-${randomUUID()}`
    await through.run((sdk) => sdk.trigger(channel, "fence", { fence }))
    await client.waitFor("the fence", (frames) => frames.some((f) => (f.data as { fence?: string })?.fence === fence))
    return client.events(channel).filter((e) => e.event !== "fence")
  }

  it("a publish through node A reaches clients of both nodes, once each", async () => {
    const channel = unique("orders")
    const [clientA, clientB] = [await onA(), await onB()]
    expect(await clientA.subscribe(channel)).toEqual({ ok: true })
    expect(await clientB.subscribe(channel)).toEqual({ ok: true })
    await a.run((sdk) => sdk.trigger(channel, "order.created", { id: "ord_1" }))
    await b.run((sdk) => sdk.trigger(channel, "order.paid", { id: "ord_1" }))
    for (const client of [clientA, clientB]) {
      const events = await settled(client, channel, a)
      expect(events.map((e) => [e.event, e.data])).toEqual([
        ["order.created", { id: "ord_1" }],
        ["order.paid", { id: "ord_1" }]
      ])
    }
  })

  it("presence members on two nodes: each sees both, and either node counts both", async () => {
    const room = `presence-${unique("room")}`
    const ada = await onA()
    const bob = await onB()
    const join = async (client: PeerClient, through: Sdk, user: string) => {
      const auth = await through.run((sdk) => sdk.authorizeChannel(client.socketId, room, { user_id: user }))
      expect(await client.subscribe(room, auth)).toEqual({ ok: true })
    }
    await join(ada, a, "ada")
    // Node B learns of ada through Redis: once it counts her, bob's subscription lists her.
    await eventually(async () =>
      expect((await b.run((sdk) => sdk.channels.users(room))).users).toEqual([{ id: "ada" }])
    )
    await join(bob, b, "bob")
    const succeeded = bob.frames().find((f) => f.event === "pusher_internal:subscription_succeeded")
    expect(succeeded?.data).toMatchObject({ presence: { count: 2 } })
    expect([...(succeeded!.data as { presence: { ids: Array<string> } }).presence.ids].sort()).toEqual(["ada", "bob"])
    await ada.waitFor("bob's member_added on node A", (frames) =>
      frames.some(
        (f) => f.event === "pusher_internal:member_added" && (f.data as { user_id: string }).user_id === "bob"
      )
    )
    for (const node of [a, b]) {
      await eventually(async () => {
        const users = (await node.run((sdk) => sdk.channels.users(room))).users.map((u) => u.id).sort()
        expect(users).toEqual(["ada", "bob"])
        const state = await node.run((sdk) => sdk.channels.get(room, { info: ["user_count", "subscription_count"] }))
        expect(state).toMatchObject({ occupied: true, user_count: 2, subscription_count: 2 })
      })
    }
    // Bob leaves: both nodes count one member again.
    await bob.disconnect()
    await ada.waitFor("bob's member_removed on node A", (frames) =>
      frames.some(
        (f) => f.event === "pusher_internal:member_removed" && (f.data as { user_id: string }).user_id === "bob"
      )
    )
    for (const node of [a, b]) {
      await eventually(async () => {
        expect((await node.run((sdk) => sdk.channels.users(room))).users).toEqual([{ id: "ada" }])
        expect(await node.run((sdk) => sdk.channels.get(room, { info: ["user_count"] }))).toMatchObject({
          user_count: 1
        })
      })
    }
  })

  it("an idempotency key used on node A and replayed to node B is published once; B answers what A answered", async () => {
    const channel = unique("replay")
    const client = await onB()
    await client.subscribe(channel)
    const idempotencyKey = `cluster-${randomUUID()}`
    const publish = (through: Sdk) =>
      through.run((sdk) => sdk.trigger(channel, "paid", { n: 1 }, { idempotencyKey, info: ["subscription_count"] }))
    const first = await publish(a)
    expect(first.channels[channel]).toMatchObject({ subscription_count: 1 })
    const firstAnswer = recorders[0].exchanges.at(-1)!
    // A second subscriber: a publish B handled itself would count two.
    const other = await onB()
    await other.subscribe(channel)
    const replay = await publish(b)
    const replayAnswer = recorders[1].exchanges.at(-1)!
    expect(replayAnswer).toMatchObject({ status: 200, path: firstAnswer.path, body: firstAnswer.body })
    expect(replay).toEqual(first)
    expect((await settled(client, channel, a)).map((e) => e.data)).toEqual([{ n: 1 }])
    expect((await settled(other, channel, a)).map((e) => e.data)).toEqual([])
  })

  it("history read from node B holds what was published through node A, in one stream", async () => {
    const channel = unique("ledger")
    for (let n = 0; n < 6; n++) await (n % 2 === 0 ? a : b).run((sdk) => sdk.trigger(channel, "entry", { n }))
    const read = (node: Sdk) =>
      eventually(async () => {
        const page = await node.run((sdk) => sdk.history.list(channel, { direction: "oldest_first" }))
        expect(page.items).toHaveLength(6)
        return page
      })
    const fromB = await read(b)
    expect(fromB.items.map((i) => [i.serial, JSON.parse(i.message.data as string).n])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
      [6, 5]
    ])
    expect(new Set(fromB.items.map((i) => i.stream_id)).size).toBe(1)
    const fromA = await read(a)
    expect(fromA.items).toEqual(fromB.items)
  })

  it("a versioned message published through node A is updated through node B", async () => {
    const channel = unique("notes")
    // Mutations reach Protocol V2 connections only (V1 ones get the original publish alone).
    const client = await onA(2)
    await client.subscribe(channel)
    const receipt = await a.run((sdk) => sdk.trigger(channel, "note", "draft", { info: [] }))
    const serial = receipt.channels[channel]!.message_serial!
    const updated = await eventually(() => b.run((sdk) => sdk.messages.update(channel, serial, { data: "final" })))
    expect(updated).toMatchObject({ action: "update", status: "applied", message_serial: serial })
    await client.waitFor("the update on node A", (frames) => frames.some((f) => f.event === "sockudo:message.update"))
    const latest = await a.run((sdk) => sdk.messages.get(channel, serial))
    expect(latest.item).toMatchObject({ action: "update", data: "final", name: "note", message_serial: serial })
    expect(latest.item.version).toMatchObject({ serial: updated.version_serial })
    const versions = await a.run((sdk) => sdk.messages.versions(channel, serial))
    expect(versions.items.map((v) => [v.action, v.version?.serial])).toEqual([
      ["update", updated.version_serial],
      ["create", serial]
    ])
    // The update as history shows it, read through the node that did not apply it.
    await eventually(async () => {
      const page = await a.run((sdk) => sdk.history.list(channel))
      expect(page.items[0]).toMatchObject({ operation_kind: "message.update", message: { data: "final" } })
    })
  })

  // Sockudo 5.0.1 claims a key (`__processing__`, for the key's TTL) before it publishes and
  // stores the answer after. A client that goes away in between makes the server drop the
  // handler, and the claim stays: every retry within the TTL (120 s) answers 503 "still in
  // progress", whether the event was published or not; after the TTL a retry publishes it
  // (again, if it was). So a keyed publish is not exactly once through a connection lost
  // mid-request. With the Redis cache (round trips between claim and answer) most cuts hit it.
  it("a publish cut off mid-request leaves its key in progress: every retry answers 503, the event often lost", async () => {
    const channel = unique("cut")
    const proxy = await startFaultProxy({
      target: { host: servers.host, port: nodes[0] },
      rates: { dropDuring: 1 },
      delayMs: 0,
      // How long the node takes between claim and answer varies (a cold cache, a loaded machine):
      // cuts at several moments land inside it on fast and slow runs alike.
      cutAfterMs: [0, 1, 2, 3],
      seed: "cut"
    })
    const cutting = makeSdk(proxy.url, apps.test)
    const keys = Array.from({ length: 60 }, () => `cut-${randomUUID()}`)
    try {
      for (const [n, idempotencyKey] of keys.entries()) {
        const error = await cutting.fail((sdk) => sdk.trigger(channel, "e", { n }, { idempotencyKey }))
        expect(error).toMatchObject({ _tag: "SockudoTransportError", timeout: false })
      }
    } finally {
      await cutting.dispose()
      await proxy.close()
    }
    expect(proxy.counts()).toMatchObject({ connections: keys.length, dropDuring: keys.length })
    await sleep(1_000) // no handler still runs: what is in progress now stays so
    // At once: the node waits 300 ms on a key in progress before it answers 503.
    const replays = await Promise.all(
      keys.map((idempotencyKey, n) => a.exit((sdk) => sdk.trigger(channel, "e", { n }, { idempotencyKey })))
    )
    await sleep(1_000) // PostgreSQL history is written in the background
    const stored = (await b.run((sdk) => sdk.history.list(channel))).items.map(
      (i) => (JSON.parse(i.message.data as string) as { n: number }).n
    )
    const stuck = keys.flatMap((_, n) => {
      const replay = replays[n]!
      if (Exit.isSuccess(replay)) return []
      expect(Exit.findErrorOption(replay)).toMatchObject({
        value: { _tag: "SockudoServerError", status: 503, code: "backpressure", retryAfterMillis: 1_000 }
      })
      return [n]
    })
    const lost = stuck.filter((n) => !stored.includes(n))
    console.log(
      `cut publishes: ${keys.length}, keys left in progress: ${stuck.length}, of them never published: ${lost.length}`
    )
    // How many cuts land between claim and publish depends on timing (CI saw 1 to 9 of 30 with
    // every cut at 2 ms, and once none of 60 on a fast machine).
    expect(lost.length).toBeGreaterThanOrEqual(1)
    // Where the key was free again, the replay published the event: once.
    for (const [n, replay] of replays.entries()) {
      if (Exit.isSuccess(replay)) expect(stored.filter((m) => m === n)).toEqual([n])
    }
    // The SDK's retries honour Retry-After and still meet the stuck key.
    const patient = makeSdk(`http://${servers.host}:${nodes[0]}`, apps.test, undefined, {
      retry: SockudoConfig.defaultRetrySchedule
    })
    try {
      const n = lost[0]!
      const error = await patient.fail((sdk) => sdk.trigger(channel, "e", { n }, { idempotencyKey: keys[n]! }))
      expect(error).toMatchObject({ _tag: "SockudoServerError", status: 503, code: "backpressure" })
    } finally {
      await patient.dispose()
    }
  }, 30_000)
})
