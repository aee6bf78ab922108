import * as Http from "node:http"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Sockudo, Webhook } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import type { WebhookDelivery, WebhookTarget } from "../../../src/testing/emulator/Webhooks.ts"
import { post, signed } from "./support.ts"

const credentials: Webhook.Credentials = { key: "app-key", secret: Redacted.make("app-secret") }

const withWebhooks = (targets: ReadonlyArray<WebhookTarget>, options: Emulator.Options = {}) =>
  Effect.provide(Emulator.layerTest({ ...options, apps: [{ ...Emulator.defaultApp, webhooks: targets }] }))

const names = (deliveries: ReadonlyArray<WebhookDelivery>) =>
  deliveries.flatMap((d) => (JSON.parse(d.body) as { events: Array<{ name: string }> }).events.map((e) => e.name))

describe("webhooks", () => {
  it.effect("are verified and decoded by the SDK's verifier, and a tampered body is rejected", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      yield* TestClock.setTime(1_700_000_000_000)
      const a = yield* emulator.connect()
      const b = yield* emulator.connect()
      yield* a.subscribe("presence-room", { member: { user_id: "u1" } })
      yield* b.subscribe("presence-room", { member: { user_id: "u2" } })
      yield* a.trigger("presence-room", "client-hi", { hi: 1 })
      yield* a.subscribe("private-orders")
      const receipt = yield* sockudo.trigger("chat", "message", "hello", { info: [] })
      const serial = receipt.channels.chat?.message_serial
      assert.isString(serial)
      const annotation = yield* post(
        `/apps/app-id/channels/chat/messages/${encodeURIComponent(serial!)}/annotations`,
        {
          type: "reactions:distinct.v1",
          name: "like",
          clientId: "u1"
        },
        { timestamp: 1_700_000_000 }
      )
      assert.strictEqual(annotation.status, 200, annotation.text)
      const annotationSerial = (annotation.json as { annotationSerial: string }).annotationSerial
      const deleted = yield* signed(
        "DELETE",
        `/apps/app-id/channels/chat/messages/${encodeURIComponent(serial!)}/annotations/${encodeURIComponent(annotationSerial)}`,
        { timestamp: 1_700_000_000 }
      )
      assert.strictEqual(deleted.status, 200, deleted.text)
      yield* b.disconnect
      yield* TestClock.adjust("3 seconds")
      yield* emulator.settled

      const deliveries = yield* emulator.webhooks.deliveries
      const tags: Array<string> = []
      for (const delivery of deliveries) {
        expect(delivery.headers).toMatchObject({ "content-type": "application/json", "x-pusher-key": "app-key" })
        assert.match(delivery.body, /^\{"time_ms":17000000\d{5},"events":\[/)
        const webhook = yield* sockudo.webhooks.verify({ headers: delivery.headers, body: delivery.body })
        tags.push(...webhook.events.map((e) => e._tag))
        const tampered = yield* Effect.flip(
          Webhook.verify(
            { headers: delivery.headers, body: delivery.body.replace('"events"', '"events" ') },
            credentials
          )
        )
        assert.strictEqual(tampered._tag, "SockudoWebhookSignatureError")
      }
      // A client event and each raw annotation event are stored like publishes: each gets a message version.
      expect(tags).toEqual([
        "ChannelOccupied",
        "MemberAdded",
        "MemberAdded",
        "MessageVersionCreated",
        "ClientEvent",
        "ChannelOccupied",
        "SubscriptionCount",
        "MessageVersionCreated",
        "MessageVersionCreated",
        "AnnotationCreated",
        "MessageVersionCreated",
        "AnnotationDeleted",
        "MemberRemoved"
      ])
      const clientEvent = deliveries.map((d) => JSON.parse(d.body).events[0]).find((e) => e.name === "client_event")
      // no user_id, on a presence channel either: Sockudo 5.0.1 sends none
      expect(clientEvent).toEqual({
        name: "client_event",
        channel: "presence-room",
        event: "client-hi",
        data: { hi: 1 },
        socket_id: a.socketId
      })
    }).pipe(withWebhooks([{}], { features: { history: true, versionedMessages: true, annotations: true } }))
  )

  it.effect("sends member_removed 3 seconds late, and not at all when the member came back", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const watcher = yield* emulator.connect()
      yield* watcher.subscribe("presence-room", { member: { user_id: "w" } })
      const a = yield* emulator.connect()
      yield* a.subscribe("presence-room", { member: { user_id: "u1" } })
      yield* a.disconnect
      yield* TestClock.adjust("2 seconds")
      const back = yield* emulator.connect()
      yield* back.subscribe("presence-room", { member: { user_id: "u1" } })
      yield* TestClock.adjust("2 seconds")
      const c = yield* emulator.connect()
      yield* c.subscribe("presence-room", { member: { user_id: "u2" } })
      yield* c.disconnect
      yield* TestClock.adjust("2999 millis")
      assert.notInclude(names(yield* emulator.webhooks.deliveries), "member_removed")
      yield* TestClock.adjust("1 millis")
      yield* emulator.settled
      const removed = (yield* emulator.webhooks.deliveries).filter((d) => d.body.includes("member_removed"))
      expect(removed.map((d) => JSON.parse(d.body).events)).toEqual([
        [{ name: "member_removed", channel: "presence-room", user_id: "u2" }]
      ])
    }).pipe(withWebhooks([{ eventTypes: ["member_removed"] }]))
  )

  it.effect("reports subscription counts on subscribe and unsubscribe, none for a closing connection", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const a = yield* emulator.connect()
      const b = yield* emulator.connect()
      const c = yield* emulator.connect()
      for (const conn of [a, b, c]) yield* conn.subscribe("orders")
      yield* a.unsubscribe("orders")
      yield* b.disconnect
      // The last subscriber's connection closes: the channel is reported vacated at once.
      yield* c.disconnect
      yield* emulator.settled
      const events = (yield* emulator.webhooks.deliveries).map((d) => JSON.parse(d.body).events[0])
      expect(events).toEqual([
        { name: "channel_occupied", channel: "orders" },
        { name: "subscription_count", channel: "orders", subscription_count: 1 },
        { name: "subscription_count", channel: "orders", subscription_count: 2 },
        { name: "subscription_count", channel: "orders", subscription_count: 3 },
        { name: "subscription_count", channel: "orders", subscription_count: 2 },
        { name: "channel_vacated", channel: "orders" }
      ])
    }).pipe(withWebhooks([{}]))
  )

  it.effect(
    "sends channel_vacated 3 seconds after the last unsubscribe, and not if the channel was occupied again",
    () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const c = yield* emulator.connect()
        yield* c.subscribe("orders")
        yield* c.unsubscribe("orders")
        yield* TestClock.adjust("2 seconds")
        yield* c.subscribe("orders")
        yield* TestClock.adjust("2 seconds")
        yield* c.unsubscribe("orders")
        yield* TestClock.adjust("2999 millis")
        assert.notInclude(names(yield* emulator.webhooks.deliveries), "channel_vacated")
        yield* TestClock.adjust("1 millis")
        yield* emulator.settled
        expect(names(yield* emulator.webhooks.deliveries)).toEqual([
          "channel_occupied",
          "channel_occupied",
          "channel_vacated"
        ])
      }).pipe(withWebhooks([{ eventTypes: ["channel_occupied", "channel_vacated"] }]))
  )

  it.effect("sends member_updated for a Protocol V2 presence update", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const c = yield* emulator.connect({ protocol: 2 })
      yield* c.subscribe("presence-desk", { member: { user_id: "u1", user_info: { status: "here" } } })
      yield* c.presenceUpdate("presence-desk", { status: "away" })
      yield* emulator.settled
      expect((yield* emulator.webhooks.deliveries).map((d) => JSON.parse(d.body).events)).toEqual([
        [{ name: "member_updated", channel: "presence-desk", user_id: "u1", user_info: { status: "away" } }]
      ])
    }).pipe(withWebhooks([{ eventTypes: ["member_updated"] }]))
  )

  it.effect("filters by event type and channel, per target", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const c = yield* emulator.connect()
      yield* c.subscribe("orders")
      yield* c.subscribe("presence-x", { member: { user_id: "u" } })
      yield* emulator.settled
      const deliveries = yield* emulator.webhooks.deliveries
      expect(deliveries.map((d) => [d.url, names([d])[0]])).toEqual([
        ["http://a.test", "channel_occupied"],
        ["http://b.test", "member_added"]
      ])
    }).pipe(
      withWebhooks([
        {
          url: "http://a.test",
          eventTypes: ["channel_occupied"],
          filter: { channelPrefix: "ord" },
          handler: () => 200
        },
        {
          url: "http://b.test",
          filter: { channelPattern: /^presence-/ },
          eventTypes: ["member_added"],
          handler: () => 200
        }
      ])
    )
  )

  it.effect("batches events of one window, up to the batch size, with the earliest time", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const c = yield* emulator.connect()
      yield* c.subscribe("a")
      yield* TestClock.adjust("10 millis")
      yield* c.subscribe("b")
      yield* TestClock.adjust("10 millis")
      // the fourth event filled the batch: it went at once
      assert.strictEqual((yield* emulator.webhooks.deliveries).length, 1)
      yield* c.subscribe("c")
      yield* TestClock.adjust("49 millis")
      assert.strictEqual((yield* emulator.webhooks.deliveries).length, 1)
      yield* TestClock.adjust("1 millis")
      yield* emulator.settled
      const deliveries = yield* emulator.webhooks.deliveries
      expect(deliveries.map((d) => JSON.parse(d.body).time_ms)).toEqual([0, 20])
      expect(deliveries.map((d) => JSON.parse(d.body).events.length)).toEqual([4, 2])
    }).pipe(withWebhooks([{}], { webhookBatching: { duration: "50 millis", size: 4 } }))
  )

  it.effect("retries a failing receiver as the server does (5xx yes, 400 no)", () => {
    const statuses = [503, 500, 200, 400]
    return Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const c = yield* emulator.connect()
      yield* c.subscribe("a")
      yield* TestClock.adjust("3 seconds")
      const first = yield* emulator.webhooks.next
      expect(first).toMatchObject({ status: 200, attempts: 3 })
      yield* c.subscribe("b")
      const second = yield* emulator.webhooks.next
      expect(second).toMatchObject({ status: 400, attempts: 1 })
    }).pipe(withWebhooks([{ eventTypes: ["channel_occupied"], handler: () => statuses.shift() ?? 200 }]))
  })

  it.live("POSTs to a URL", () =>
    Effect.gen(function* () {
      const received: Array<{ headers: Http.IncomingHttpHeaders; body: string }> = []
      const server = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          received.push({ headers: req.headers, body })
          res.writeHead(200).end()
        })
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () =>
          Effect.callback<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as { port: number }).port
      yield* Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const c = yield* emulator.connect()
        yield* c.subscribe("orders")
        const delivery = yield* emulator.webhooks.next
        assert.strictEqual(delivery.status, 200)
      }).pipe(
        withWebhooks([
          { url: `http://127.0.0.1:${port}/hook`, headers: { "X-Custom": "1" }, eventTypes: ["channel_occupied"] }
        ])
      )
      assert.strictEqual(received.length, 1)
      const { headers, body } = received[0]!
      assert.strictEqual(headers["x-custom"], "1")
      const webhook = yield* Webhook.verify({ headers: headers as Record<string, string>, body }, credentials)
      expect(webhook.events).toMatchObject([{ _tag: "ChannelOccupied", channel: "orders" }])
    })
  )
})
