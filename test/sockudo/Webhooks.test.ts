/**
 * Webhooks from the real server and the emulator, for every event type test-app subscribes to
 * (`config/node.toml`, batching off: one event per POST). Each scenario makes the events happen
 * with real connections and the HTTP API, waits for them (delivery order is not guaranteed:
 * nothing here depends on it), verifies every delivery with `sockudo.webhooks.verify` over the
 * raw body and headers, compares the decoded typed events with exactly what was expected, and
 * shows that a body changed by one byte, a signature made with another secret, an SDK with
 * another secret and an unknown key are refused with their typed errors.
 */
import { randomBytes } from "node:crypto"
import * as Redacted from "effect/Redacted"
import { afterAll, expect } from "vitest"
import { Crypto, Webhook } from "../../src/index.ts"
import { type PeerClient, sleep } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import type { Session } from "./support/peers.ts"
import type { Sdk } from "./support/sdk.ts"
import { type Delivery, eventsOf, onceVacated } from "./support/webhooks.ts"

const peers = usePeers()

/** The master key of `private-encrypted-` channels, the same for both peers of a run. */
const masterKey = randomBytes(32)
const masterKeyBase64 = Redacted.make(masterKey.toString("base64"))
/** A fixed nonce: the same ciphertext on both peers, so that their webhooks compare equal. */
const nonce = new Uint8Array(24).fill(7)

type Event = { readonly name: keyof typeof Webhook.eventSchemas; readonly [field: string]: unknown }

const occupied = (channel: string): Event => ({ name: "channel_occupied", channel })
const vacated = (channel: string): Event => ({ name: "channel_vacated", channel })
const count = (channel: string, n: number): Event => ({ name: "subscription_count", channel, subscription_count: n })
const added = (channel: string, user_id: string): Event => ({ name: "member_added", channel, user_id })
const removed = (channel: string, user_id: string): Event => ({ name: "member_removed", channel, user_id })
const created = (channel: string, message_serial: string): Event => ({
  name: "message_version_created",
  channel,
  message_serial,
  version_serial: message_serial,
  action: "message.create"
})

/** The typed event the SDK decodes from `event`. */
const typed = (event: Event) => ({ ...event, _tag: Webhook.eventSchemas[event.name].tag })

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v
  )
const unordered = (events: ReadonlyArray<unknown>) => events.map(canonical).sort()

/** Deliveries and events per event type, seen on Sockudo, for the table printed after the file. */
const observed = new Map<string, { deliveries: number; events: number }>()
const tallied = new Set<Delivery>()
const tally = (delivery: Delivery) => {
  if (tallied.has(delivery)) return
  tallied.add(delivery)
  const names = eventsOf(delivery).map((e) => e.name)
  for (const name of new Set(names)) {
    const row = observed.get(name) ?? { deliveries: 0, events: 0 }
    row.deliveries += 1
    row.events += names.filter((n) => n === name).length
    observed.set(name, row)
  }
}

afterAll(() => {
  const rows = [...observed.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
  console.log(
    [
      "\nWebhooks observed on Sockudo:\n",
      "| event type | deliveries | events |",
      "| --- | ---: | ---: |",
      ...rows.map(([name, r]) => `| ${name} | ${r.deliveries} | ${r.events} |`),
      `| **all** | ${rows.reduce((n, [, r]) => n + r.deliveries, 0)} | ${rows.reduce((n, [, r]) => n + r.events, 0)} |\n`
    ].join("\n")
  )
})

/** The deliveries whose events concern the scenario's names. */
const deliveriesOf = (s: Session): Array<Delivery> => {
  const mine = new Set(s.webhooks().map(canonical))
  return s.peer.receiver.deliveries.filter((d) => eventsOf(d).some((e) => mine.has(canonical(e))))
}

/** The error a verification fails with: its tag (and reason, for encryption errors). */
const refusal = async (sdk: Sdk, request: Webhook.WebhookRequest) => {
  const error = (await sdk.fail((sockudo) => sockudo.webhooks.verify(request))) as { _tag: string; reason?: string }
  return error.reason === undefined ? error._tag : `${error._tag}(${error.reason})`
}

/** Each refused with its typed error: one changed byte, another secret (signing or verifying), an unknown key. */
const expectTamperingRefused = async (sdk: Sdk, otherSecret: Sdk, delivery: Delivery) => {
  const { headers, body } = delivery
  const changed = new Uint8Array(body)
  const at = Buffer.from(body).indexOf("channel")
  changed[at] = changed[at]! ^ 0x20 // "channel" → "Channel": still JSON, no longer what was signed
  expect(await refusal(sdk, { headers, body: changed })).toBe("SockudoWebhookSignatureError")
  const resigned = { ...headers, "x-pusher-signature": Webhook.sign(Redacted.make("not-the-secret"), body) }
  expect(await refusal(sdk, { headers: resigned, body })).toBe("SockudoWebhookSignatureError")
  expect(await refusal(otherSecret, { headers, body })).toBe("SockudoWebhookSignatureError")
  expect(await refusal(sdk, { headers: { ...headers, "x-pusher-key": "other-key" }, body })).toBe(
    "SockudoWebhookKeyError"
  )
}

/**
 * Waits until the scenario's webhooks number `expected.length`, lets late ones arrive, then
 * requires each delivery to be one signed event of test-app that `sdk` verifies, the decoded
 * events to be exactly `expected` (in any order), and tampering to be refused.
 */
const expectWebhooks = async (
  s: Session,
  expected: ReadonlyArray<Event>,
  options: { readonly sdk?: Sdk; readonly settleMs?: number } = {}
) => {
  const sdk = options.sdk ?? s.sdk
  await s.waitForWebhooks(`${expected.length} webhook events`, (events) => events.length >= expected.length, 15_000)
  await sleep(options.settleMs ?? 500)
  const decoded: Array<unknown> = []
  const deliveries = deliveriesOf(s)
  for (const delivery of deliveries) {
    if (s.peer.kind === "sockudo") tally(delivery)
    expect(delivery.headers["content-type"]).toBe("application/json")
    expect(delivery.headers["x-pusher-key"]).toBe(apps.test.key)
    const raw = JSON.parse(Buffer.from(delivery.body).toString("utf8")) as { time_ms: number; events: Array<unknown> }
    const webhook = await sdk.run((sockudo) =>
      sockudo.webhooks.verify({ headers: delivery.headers, body: delivery.body })
    )
    expect(webhook.time_ms).toBe(raw.time_ms)
    expect(webhook.events).toHaveLength(1)
    decoded.push(...webhook.events)
  }
  expect(unordered(onceVacated(decoded))).toEqual(unordered(expected.map(typed)))
  const otherSecret = s.sdkFor({ ...apps.test, secret: "not-the-secret" })
  for (const delivery of deliveries) await expectTamperingRefused(sdk, otherSecret, delivery)
}

/** The scenario's webhook events of one name. */
const named = (s: Session, name: string) => s.webhooks().filter((e) => e.name === name)

/** Subscribes `client` to a private or presence channel with the auth the app's server would give. */
const join = async (s: Session, client: PeerClient, channel: string, user?: string, sdk: Sdk = s.sdk) => {
  const auth = await sdk.run((sockudo) =>
    sockudo.authorizeChannel(client.socketId, channel, user === undefined ? undefined : { user_id: user })
  )
  expect(await client.subscribe(channel, auth)).toEqual({ ok: true })
  return auth
}

differential(
  peers,
  "channel_occupied, subscription_count and channel_vacated: unsubscribing and disconnecting",
  async (s) => {
    const orders = s.name("orders")
    const priv = `private-${s.name("ledger")}`
    const a = await s.connect()
    const b = await s.connect()
    await a.subscribe(orders)
    await b.subscribe(orders)
    await join(s, a, priv)
    await join(s, b, priv)
    await s.waitForWebhooks("both subscriptions", (events) => events.length >= 6)
    // Unsubscribing: a count each time, and the vacancy 3 s after the last one left.
    await a.unsubscribe(orders)
    await b.unsubscribe(orders)
    // Disconnecting: a leaves the private channel with b still there, then b, the last one.
    await sleep(300)
    await a.disconnect()
    await sleep(500)
    await b.disconnect()
    await expectWebhooks(s, [
      occupied(orders),
      count(orders, 1),
      count(orders, 2),
      count(orders, 1),
      count(orders, 0),
      vacated(orders),
      occupied(priv),
      count(priv, 1),
      count(priv, 2),
      vacated(priv)
    ])
  },
  { webhooks: true }
)

differential(
  peers,
  "channel_vacated is not sent when the channel is occupied again within 3 s",
  async (s) => {
    const channel = s.name("blip")
    const client = await s.connect()
    await client.subscribe(channel)
    await client.unsubscribe(channel)
    await sleep(500)
    await client.subscribe(channel)
    await sleep(3_500)
    expect(named(s, "channel_vacated")).toEqual([])
    await client.unsubscribe(channel)
    await expectWebhooks(s, [
      occupied(channel),
      count(channel, 1),
      count(channel, 0),
      occupied(channel),
      count(channel, 1),
      count(channel, 0),
      vacated(channel)
    ])
  },
  { webhooks: true }
)

differential(
  peers,
  "member_added and member_removed: removal 3 s late, not sent while the user has a connection or came back",
  async (s) => {
    const room = `presence-${s.name("room")}`
    const ada = s.name("ada")
    const bob = s.name("bob")
    const a = await s.connect()
    const b1 = await s.connect()
    const b2 = await s.connect()
    await join(s, a, room, ada)
    await join(s, b1, room, bob)
    await join(s, b2, room, bob)
    // bob keeps a connection; ada leaves and comes back within 3 s on another connection.
    await b1.unsubscribe(room)
    await a.unsubscribe(room)
    await sleep(500)
    const a2 = await s.connect()
    await join(s, a2, room, ada)
    await sleep(3_500)
    expect(named(s, "member_removed")).toEqual([])
    await b2.unsubscribe(room)
    await sleep(300)
    await a2.unsubscribe(room)
    await expectWebhooks(s, [
      occupied(room),
      added(room, ada),
      added(room, bob),
      added(room, ada),
      removed(room, bob),
      removed(room, ada),
      vacated(room)
    ])
  },
  { webhooks: true, timeout: 40_000 }
)

differential(
  peers,
  "member_updated: a Protocol V2 presence update",
  async (s) => {
    const room = `presence-${s.name("desk")}`
    const ada = s.name("ada")
    const bob = s.name("bob")
    const a = await s.connect({ protocol: 2 })
    const b = await s.connect({ protocol: 2 })
    const v1 = await s.connect()
    await join(s, a, room, ada)
    await join(s, b, room, bob)
    await join(s, v1, room, s.name("cy"))
    await a.presenceUpdate(room, { status: "away" })
    const update = (f: { event: string }) => f.event === "sockudo_internal:presence_update"
    await b.waitFor("the presence update", (frames) => frames.some(update))
    for (const client of [a, b]) {
      expect(client.frames().filter(update)).toEqual([
        expect.objectContaining({ channel: room, data: { user_id: ada, user_info: { status: "away" } } })
      ])
    }
    // Protocol V1 connections are not told.
    expect(v1.frames().filter((f) => f.event.endsWith(":presence_update"))).toEqual([])
    await v1.unsubscribe(room)
    await sleep(300)
    await b.unsubscribe(room)
    await sleep(300)
    await a.unsubscribe(room)
    await expectWebhooks(s, [
      occupied(room),
      added(room, ada),
      added(room, bob),
      added(room, s.name("cy")),
      { name: "member_updated", channel: room, user_id: ada, user_info: { status: "away" } },
      removed(room, s.name("cy")),
      removed(room, bob),
      removed(room, ada),
      vacated(room)
    ])
  },
  { webhooks: true }
)

differential(
  peers,
  "client_event on private, presence and private-encrypted channels",
  async (s) => {
    const priv = `private-${s.name("chat")}`
    const room = `presence-${s.name("chat")}`
    const secret = `private-encrypted-${s.name("chat")}`
    const keyed = s.sdkFor(apps.test, { encryptionMasterKeyBase64: masterKeyBase64 })
    const ada = s.name("ada")
    const a = await s.connect()
    const b = await s.connect()
    await join(s, a, priv)
    await join(s, b, priv)
    await join(s, a, room, ada)
    await join(s, b, room, s.name("bob"))
    // The channel's key comes with the subscription's auth, as pusher-js receives it.
    const { shared_secret } = await join(s, a, secret, undefined, keyed)
    await join(s, b, secret, undefined, keyed)
    expect(shared_secret).toEqual(expect.any(String))
    const sealed = Crypto.seal(Buffer.from(shared_secret!, "base64"), JSON.stringify({ text: "psst" }), nonce)

    await a.trigger(priv, "client-typing", { typing: true })
    await a.trigger(room, "client-wave", "hello")
    await a.trigger(secret, "client-note", sealed)
    await b.waitFor("the three client events", () => b.events().length >= 3)
    expect(b.events().map((e) => [e.channel, e.event, e.data])).toEqual([
      [priv, "client-typing", { typing: true }],
      [room, "client-wave", "hello"],
      [secret, "client-note", JSON.parse(sealed)]
    ])
    await s.waitForWebhooks(
      "the client events",
      (events) => events.filter((e) => e.name === "client_event").length >= 3
    )
    for (const client of [a, b]) for (const channel of [priv, room, secret]) await client.unsubscribe(channel)
    // Client events are stored as versioned messages too: each creates a message version.
    const serials = new Map(
      s
        .webhooks()
        .filter((e) => e.name === "message_version_created")
        .map((e) => [e.channel, String(e.message_serial)])
    )
    const client = (channel: string, event: string, data: unknown): Event => ({
      name: "client_event",
      channel,
      event,
      data,
      socket_id: a.socketId
    })
    const expected = [
      occupied(priv),
      count(priv, 1),
      count(priv, 2),
      occupied(room),
      added(room, ada),
      added(room, s.name("bob")),
      occupied(secret),
      count(secret, 1),
      count(secret, 2),
      client(priv, "client-typing", { typing: true }),
      client(room, "client-wave", "hello"),
      // decrypted by the SDK with the master key
      client(secret, "client-note", JSON.stringify({ text: "psst" })),
      ...[priv, room, secret].map((channel) => created(channel, serials.get(channel) ?? "<missing>")),
      count(priv, 1),
      count(priv, 0),
      vacated(priv),
      removed(room, ada),
      removed(room, s.name("bob")),
      vacated(room),
      count(secret, 1),
      count(secret, 0),
      vacated(secret)
    ]
    await expectWebhooks(s, expected, { sdk: keyed })
    // Without the master key the encrypted client event cannot be read: it is delivered as an
    // UndecryptableEvent, and the webhook is not refused.
    const encrypted = deliveriesOf(s).find((d) =>
      eventsOf(d).some((e) => e.name === "client_event" && e.channel === secret)
    )
    const unread = await s.sdk.run((sockudo) =>
      sockudo.webhooks.verify({ headers: encrypted!.headers, body: encrypted!.body })
    )
    expect(unread.events).toMatchObject([
      { _tag: "UndecryptableEvent", channel: secret, event: "client-note", error: { reason: "MissingMasterKey" } }
    ])
  },
  { webhooks: true }
)

differential(
  peers,
  "cache_miss when subscribing to an empty cache channel, and not once it holds an event",
  async (s) => {
    const prices = `cache-${s.name("prices")}`
    const quotes = `private-cache-${s.name("quotes")}`
    const a = await s.connect()
    await a.subscribe(prices)
    await join(s, a, quotes)
    for (const channel of [prices, quotes]) {
      expect(a.frames().filter((f) => f.event === "pusher:cache_miss" && f.channel === channel)).toHaveLength(1)
    }
    const receipt = await s.sdk.run((sockudo) => sockudo.trigger(prices, "price", { eur: 1.08 }, { info: [] }))
    const serial = receipt.channels[prices]!.message_serial!
    const b = await s.connect()
    await b.subscribe(prices)
    await b.waitFor("the cached event", () => b.events(prices).length >= 1)
    expect(b.frames().filter((f) => f.event === "pusher:cache_miss")).toEqual([])
    for (const channel of [prices, quotes]) await a.unsubscribe(channel)
    await b.unsubscribe(prices)
    await expectWebhooks(s, [
      occupied(prices),
      count(prices, 1),
      { name: "cache_miss", channel: prices, data: "{}" },
      occupied(quotes),
      count(quotes, 1),
      { name: "cache_miss", channel: quotes, data: "{}" },
      created(prices, serial),
      count(prices, 2),
      count(prices, 1),
      count(prices, 0),
      vacated(prices),
      count(quotes, 0),
      vacated(quotes)
    ])
  },
  { webhooks: true }
)

differential(
  peers,
  "message_version_created for a publish and each mutation",
  async (s) => {
    const channel = s.name("story")
    const receipt = await s.sdk.run((sockudo) => sockudo.trigger(channel, "story", "Once", { info: [] }))
    const serial = receipt.channels[channel]?.message_serial
    expect(serial).toEqual(expect.any(String))
    const update = await s.sdk.run((sockudo) => sockudo.messages.update(channel, serial!, { data: "Once upon" }))
    const append = await s.sdk.run((sockudo) => sockudo.messages.append(channel, serial!, " a time"))
    const removal = await s.sdk.run((sockudo) => sockudo.messages.delete(channel, serial!))
    const version = (action: string, version_serial: string | undefined): Event => ({
      name: "message_version_created",
      channel,
      message_serial: serial,
      version_serial,
      action
    })
    await expectWebhooks(s, [
      version("message.create", serial),
      version("message.update", update.version_serial),
      version("message.append", append.version_serial),
      version("message.delete", removal.version_serial)
    ])
    // The versions the webhooks name are the message's.
    const versions = await s.sdk.run((sockudo) => sockudo.messages.versions(channel, serial!))
    expect(versions.items.map((v) => v.version?.serial).sort()).toEqual(
      s
        .webhooks()
        .map((e) => e.version_serial)
        .sort()
    )
  },
  { webhooks: true }
)

differential(
  peers,
  "annotation_created and annotation_deleted",
  async (s) => {
    const channel = s.name("post")
    const receipt = await s.sdk.run((sockudo) => sockudo.trigger(channel, "post", { text: "hi" }, { info: [] }))
    const serial = receipt.channels[channel]!.message_serial!
    const like = await s.sdk.run((sockudo) =>
      sockudo.annotations.publish(channel, serial, { type: "reactions:distinct.v1", name: "like", clientId: "ada" })
    )
    const flag = await s.sdk.run((sockudo) =>
      sockudo.annotations.publish(channel, serial, { type: "moderation:flag.v1", clientId: "bob" })
    )
    const deleted = await s.sdk.run((sockudo) => sockudo.annotations.delete(channel, serial, like.annotationSerial))
    expect(deleted.deletedAnnotationSerial).toBe(like.annotationSerial)
    // The server publishes each raw annotation event on the channel like a message: it is stored
    // in history, and so gets a message version (and its webhook) of its own.
    await s.waitForWebhooks("four message versions", (events) => events.length >= 7)
    const annotationMessages = s
      .webhooks()
      .filter((e) => e.name === "message_version_created" && e.message_serial !== serial)
      .map((e) => created(channel, String(e.message_serial)))
    expect(annotationMessages).toHaveLength(3)
    const stored = []
    for (const message of annotationMessages) {
      stored.push((await s.sdk.run((sockudo) => sockudo.messages.get(channel, String(message.message_serial)))).item)
    }
    expect(unordered(stored.map((m) => [m.name, (m.data as { action: string; serial: string }).action]))).toEqual(
      unordered([
        ["sockudo_internal:annotation", "annotation.create"],
        ["sockudo_internal:annotation", "annotation.create"],
        ["sockudo_internal:annotation", "annotation.delete"]
      ])
    )
    await expectWebhooks(s, [
      ...annotationMessages,
      created(channel, serial),
      {
        name: "annotation_created",
        channel,
        message_serial: serial,
        annotation_serial: like.annotationSerial,
        annotation_type: "reactions:distinct.v1"
      },
      {
        name: "annotation_created",
        channel,
        message_serial: serial,
        annotation_serial: flag.annotationSerial,
        annotation_type: "moderation:flag.v1"
      },
      {
        name: "annotation_deleted",
        channel,
        message_serial: serial,
        annotation_serial: deleted.annotationSerial,
        deleted_annotation_serial: like.annotationSerial,
        annotation_type: "reactions:distinct.v1"
      }
    ])
  },
  { webhooks: true }
)
