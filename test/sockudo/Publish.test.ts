/**
 * Publishing against the real server and the emulator: what real connections receive for
 * `trigger`, `triggerBatch` and `sendToUser`, with every publish option.
 */
import { randomUUID } from "node:crypto"
import { expect } from "vitest"
import type { Frame, PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"

const peers = usePeers()

/** Waits until `client` has received `n` application events on `channel`. */
const received = async (client: PeerClient, channel: string, n: number): Promise<ReadonlyArray<Frame>> => {
  await client.waitFor(`${n} events on ${channel}`, () => client.events(channel).length >= n)
  return client.events(channel)
}

differential(peers, "trigger to one channel", async (s) => {
  const channel = s.name("orders")
  const client = await s.connect()
  expect(await client.subscribe(channel)).toEqual({ ok: true })
  const result = await s.sdk.run((sdk) => sdk.trigger(channel, "order.created", { id: "ord_1", total: 12.5 }))
  expect(result.channels).toEqual({})
  const events = await received(client, channel, 1)
  expect(events).toMatchObject([{ event: "order.created", channel, data: { id: "ord_1", total: 12.5 } }])
})

differential(peers, "trigger data as given: strings verbatim, unicode, 9 KB", async (s) => {
  const channel = s.name("data")
  const client = await s.connect()
  await client.subscribe(channel)
  const big = "x".repeat(9 * 1024)
  await s.sdk.run((sdk) => sdk.trigger(channel, "text", "plain text, not JSON"))
  await s.sdk.run((sdk) => sdk.trigger(channel, "unicode", { text: "zażółć gęślą jaźń 🎉" }))
  await s.sdk.run((sdk) => sdk.trigger(channel, "big", { big }))
  await s.sdk.run((sdk) => sdk.trigger(channel, "array", [1, "two", null]))
  const events = await received(client, channel, 4)
  expect(events.map((e) => [e.event, e.data])).toEqual([
    ["text", "plain text, not JSON"],
    ["unicode", { text: "zażółć gęślą jaźń 🎉" }],
    ["big", { big }],
    ["array", [1, "two", null]]
  ])
})

differential(peers, "trigger to several channels with info", async (s) => {
  const orders = s.name("orders")
  const room = `presence-${s.name("room")}`
  const a = await s.connect()
  const b = await s.connect()
  await a.subscribe(orders)
  await b.subscribe(orders)
  for (const [client, user] of [
    [a, "ada"],
    [b, "bob"]
  ] as const) {
    const auth = await s.sdk.run((sdk) => sdk.authorizeChannel(client.socketId, room, { user_id: user }))
    expect(await client.subscribe(room, auth)).toEqual({ ok: true })
  }
  const result = await s.sdk.run((sdk) =>
    sdk.trigger([orders, room], "stock.changed", { sku: "A-1" }, { info: ["subscription_count", "user_count"] })
  )
  expect(result.channels[orders]).toMatchObject({ subscription_count: 2 })
  expect(result.channels[room]).toMatchObject({ subscription_count: 2, user_count: 2 })
  for (const client of [a, b]) {
    expect(await received(client, orders, 1)).toMatchObject([{ event: "stock.changed", data: { sku: "A-1" } }])
    expect(await received(client, room, 1)).toMatchObject([{ event: "stock.changed", data: { sku: "A-1" } }])
  }
})

differential(peers, "socketId excludes one connection", async (s) => {
  const channel = s.name("chat")
  const sender = await s.connect()
  const other = await s.connect()
  await sender.subscribe(channel)
  await other.subscribe(channel)
  await s.sdk.run((sdk) => sdk.trigger(channel, "message", { text: "hi" }, { socketId: sender.socketId }))
  await s.sdk.run((sdk) => sdk.triggerBatch([{ channel, name: "batched", data: { n: 1 }, socketId: sender.socketId }]))
  // A fence: once both have it, everything published before it was delivered to them.
  await s.sdk.run((sdk) => sdk.trigger(channel, "fence", {}))
  await received(sender, channel, 1)
  await received(other, channel, 3)
  expect(sender.events(channel).map((e) => e.event)).toEqual(["fence"])
  expect(other.events(channel).map((e) => e.event)).toEqual(["message", "batched", "fence"])
})

differential(peers, "extras, tags, delta and messageId", async (s) => {
  const channel = s.name("feed")
  const v1 = await s.connect()
  const v2 = await s.connect({ protocol: 2 })
  await v1.subscribe(channel)
  await v2.subscribe(channel)
  const messageId = randomUUID()
  const result = await s.sdk.run((sdk) =>
    sdk.trigger(
      channel,
      "post",
      { id: 7 },
      {
        messageId,
        tags: { tenant: "acme", region: "eu" },
        delta: false,
        extras: { headers: { priority: "high", attempt: 2, urgent: true } }
      }
    )
  )
  // A message id switches the answer to the per-channel form, acknowledged with the server's serial.
  expect(Object.keys(result.channels)).toEqual([channel])
  expect(result.channels[channel]?.acknowledgement_id).toEqual(expect.any(String))
  const [plain] = await received(v1, channel, 1)
  const [native] = await received(v2, channel, 1)
  expect(plain).toMatchObject({ event: "post", data: { id: 7 } })
  expect(plain?.extras).toBeUndefined()
  expect(native).toMatchObject({ event: "post", data: { id: 7 } })
  expect((native?.extras as { headers?: Record<string, unknown> } | undefined)?.headers).toMatchObject({
    priority: "high",
    attempt: 2,
    urgent: true
  })
})

differential(peers, "triggerBatch, in order, with info per item", async (s) => {
  const a = s.name("a")
  const b = s.name("b")
  const client = await s.connect()
  await client.subscribe(a)
  await client.subscribe(b)
  const result = await s.sdk.run((sdk) =>
    sdk.triggerBatch([
      { channel: a, name: "one", data: { n: 1 } },
      { channel: b, name: "two", data: { n: 2 }, info: ["subscription_count"] },
      { channel: a, name: "three", data: "3" }
    ])
  )
  expect(result.batch).toHaveLength(3)
  expect(result.batch[0]).toEqual({})
  expect(result.batch[1]).toMatchObject({ subscription_count: 1 })
  await received(client, a, 2)
  await received(client, b, 1)
  expect(client.events().map((e) => [e.channel, e.event, e.data])).toEqual([
    [a, "one", { n: 1 }],
    [b, "two", { n: 2 }],
    [a, "three", 3]
  ])
})

differential(peers, "sendToUser reaches every connection of the user, no one else", async (s) => {
  const user = s.name("user")
  const first = await s.connect()
  const second = await s.connect()
  const stranger = await s.connect()
  for (const [client, id] of [
    [first, user],
    [second, user],
    [stranger, `${user}-other`]
  ] as const) {
    const auth = await s.sdk.run((sdk) => sdk.authenticateUser(client.socketId, { id, name: "Ada" }))
    expect(await client.signin(auth)).toEqual({ ok: true })
  }
  await s.sdk.run((sdk) => sdk.sendToUser(user, "notice", { body: "hello" }))
  await s.sdk.run((sdk) => sdk.sendToUser(`${user}-other`, "fence", {}))
  for (const client of [first, second]) {
    await client.waitFor("the user event", () => client.events().length >= 1)
    expect(client.events()).toMatchObject([
      { event: "notice", channel: `#server-to-user-${user}`, data: { body: "hello" } }
    ])
  }
  await stranger.waitFor("the fence", () => stranger.events().length >= 1)
  expect(stranger.events().map((e) => e.event)).toEqual(["fence"])
})

differential(peers, "an idempotency key publishes once", async (s) => {
  const channel = s.name("once")
  const client = await s.connect()
  await client.subscribe(channel)
  const key = `key-${randomUUID()}`
  const first = await s.sdk.run((sdk) => sdk.trigger(channel, "paid", { n: 1 }, { idempotencyKey: key }))
  const again = await s.sdk.run((sdk) => sdk.trigger(channel, "paid", { n: 1 }, { idempotencyKey: key }))
  expect(first.idempotencyKey).toBe(key)
  expect(again.idempotencyKey).toBe(key)
  await s.sdk.run((sdk) => sdk.trigger(channel, "fence", {}))
  await received(client, channel, 2)
  expect(client.events(channel).map((e) => e.event)).toEqual(["paid", "fence"])
})
