/**
 * Typed event definitions against the real server and the emulator: an event published through
 * its definition (trigger, triggerBatch) is stored as the JSON of its encoded form, byte for
 * byte, handed to pusher-js as that JSON (decrypted by pusher-js on a `private-encrypted-`
 * channel), and decoded back from history with the same definition; a client event the server
 * reports in a webhook decodes with its definition after `webhooks.verify`.
 */

import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { expect } from "vitest"
import { Client, type Target, waitUntil } from "../../e2e/support.ts"
import { Order, OrderCreated, order, orderJson, Typing } from "../support/events.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import type { Session } from "./support/peers.ts"
import { eventsOf } from "./support/webhooks.ts"

const peers = usePeers()

const second = new Order({ id: "ord_2", placedAt: new Date(0), total: 0.25 })
/** The wire form of `second`, written out by hand. */
const secondJson = '{"id":"ord_2","placedAt":"1970-01-01T00:00:00.000Z","total":"0.25"}'

const masterKeyBase64 = Redacted.make(Buffer.alloc(32, 9).toString("base64"))

/** A pusher-js client of test-app on this peer, authorized by `sdk`. */
const pusherJs = (s: Session, name: string, sdk = s.sdk) => {
  const target: Target = {
    name: s.peer.label,
    host: s.peer.host,
    port: s.peer.port,
    appId: apps.test.id,
    key: apps.test.key,
    secret: apps.test.secret,
    webhookPort: 0
  }
  return Client.connect(name, target, {
    authorize: (socketId, channel) => sdk.run((sockudo) => sockudo.authorizeChannel(socketId, channel))
  })
}

differential(
  peers,
  "a typed event is stored as the JSON of its encoded form, and history decodes it back",
  async (s) => {
    const orders = s.name("orders")
    const raw = await s.connect()
    await raw.subscribe(orders)
    await s.sdk.run((sockudo) => sockudo.trigger(orders, OrderCreated.make(order)))
    await s.sdk.run((sockudo) =>
      sockudo.triggerBatch([
        { channel: orders, ...OrderCreated.make(second) },
        { channel: orders, name: "order.created", data: { id: "ord_3" } }
      ])
    )
    await raw.waitFor("three events", () => raw.events(orders).length >= 3)
    expect(raw.events(orders).map((f) => [f.event, f.data])).toEqual([
      ["order.created", JSON.parse(orderJson)],
      ["order.created", JSON.parse(secondJson)],
      ["order.created", { id: "ord_3" }]
    ])
    const page = await s.sdk.run((sockudo) => sockudo.history.list(orders, { direction: "oldest_first" }))
    expect(page.items.map((item) => item.message.data)).toEqual([orderJson, secondJson, '{"id":"ord_3"}'])
    expect(page.items.map(OrderCreated.matches)).toEqual([true, true, true])
    expect(OrderCreated.decode(page.items[0]!)).toEqual(Result.succeed(order))
    const decoded = await s.sdk.run((sockudo) =>
      Stream.runCollect(OrderCreated.decodeHistory(sockudo.history.stream(orders, { direction: "oldest_first" })))
    )
    expect(
      decoded.map((r) =>
        Result.isSuccess(r) ? r.success.data : { reason: r.failure.reason, channel: r.failure.channel }
      )
    ).toEqual([order, second, { reason: "InvalidData", channel: orders }])
    expect(decoded.every((r) => Result.isFailure(r) || r.success.data instanceof Order)).toBe(true)
  }
)

differential(peers, "pusher-js receives a typed event's JSON, decrypted on an encrypted channel", async (s) => {
  const orders = s.name("orders")
  const secret = `private-encrypted-${s.name("orders")}`
  const keyed = s.sdkFor(apps.test, { encryptionMasterKeyBase64: masterKeyBase64 })
  const ada = await pusherJs(s, "ada", keyed)
  try {
    await ada.subscribe(orders)
    await ada.subscribe(secret)
    await keyed.run((sockudo) => sockudo.trigger([orders, secret], OrderCreated.make(order)))
    await keyed.run((sockudo) => sockudo.triggerBatch([{ channel: secret, ...OrderCreated.make(second) }]))
    await waitUntil("three events", () => ada.received.length >= 3)
    const received = (channel: string) => ada.eventsOn(channel).map((r) => [r.event, r.data])
    expect(received(orders)).toEqual([["order.created", JSON.parse(orderJson)]])
    expect(received(secret)).toEqual([
      ["order.created", JSON.parse(orderJson)],
      ["order.created", JSON.parse(secondJson)]
    ])
    expect(ada.eventsOn(secret).map((r) => OrderCreated.decodeData(r.data, secret))).toEqual([
      Result.succeed(order),
      Result.succeed(second)
    ])
  } finally {
    ada.disconnect()
  }
})

differential(peers, "a client event reported in a webhook decodes with its definition", async (s) => {
  const chat = `private-${s.name("chat")}`
  const a = await s.connect()
  const b = await s.connect()
  for (const client of [a, b]) {
    const auth = await s.sdk.run((sockudo) => sockudo.authorizeChannel(client.socketId, chat))
    expect(await client.subscribe(chat, auth)).toEqual({ ok: true })
  }
  await a.trigger(chat, "client-typing", { userId: "u1", at: "2026-01-02T03:04:05.000Z" })
  await a.trigger(chat, "client-typing", { userId: "u1", at: "not a date" })
  await s.waitForWebhooks("the client events", (events) => events.filter((e) => e.name === "client_event").length >= 2)
  // The other subscriber's copies are compared between the peers too: wait for them as well.
  await b.waitFor("the client events", () => b.events(chat).filter((e) => e.event === "client-typing").length >= 2)
  const deliveries = s.peer.receiver.deliveries.filter((d) =>
    eventsOf(d).some((e) => e.name === "client_event" && e.channel === chat)
  )
  const events = []
  for (const delivery of deliveries) {
    const webhook = await s.sdk.run((sockudo) =>
      sockudo.webhooks.verify({ headers: delivery.headers, body: delivery.body })
    )
    events.push(...webhook.events.filter(Typing.matches))
  }
  // The server delivers its webhooks concurrently, in no set order (and writes a client event's data
  // with its keys in no set order either): sorted by their `at`, they are in the order sent here.
  const atOf = (event: unknown) => {
    const data = (event as { data?: unknown }).data
    return String((typeof data === "string" ? JSON.parse(data) : data)?.at)
  }
  events.sort((x, y) => atOf(x).localeCompare(atOf(y)))
  expect(events.map(Typing.decode).map((r) => (Result.isSuccess(r) ? r.success : r.failure.reason))).toEqual([
    { userId: "u1", at: new Date("2026-01-02T03:04:05.000Z") },
    "InvalidData"
  ])
  for (const client of [a, b]) await client.unsubscribe(chat)
})
