/**
 * Every operation of the SDK, over undici, against the emulator served on a real 127.0.0.1 port,
 * with every feature on. Channel names, message serials, annotation serials, device ids and
 * template ids that need percent-encoding are used throughout; each result is checked against
 * what the emulator's state implies.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule, Stream } from "effect"
import { Sockudo } from "../../../src/index.ts"
import * as Push from "../../../src/Resources/Push.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import type { WebhookRequest } from "../../../src/testing/emulator/Webhooks.ts"
import * as EmulatorNode from "../../../src/testing/Node.ts"

const hooks: Array<WebhookRequest> = []

/** A user-limited presence channel in a namespace: `:`, `#` and `,` all need encoding. */
const room = "presence-chat:room#1"
/** A public channel with every other punctuation the server allows. */
const orders = "orders@eu_a-b=c.d"
const SERIAL = /^\d{20}:node:\d{20}$/

const Live = Sockudo.layer.pipe(
  Layer.provideMerge(Emulator.layerSockudoConfig({ retry: Schedule.recurs(2) })),
  Layer.provide(NodeHttpClient.layerUndici),
  Layer.provideMerge(EmulatorNode.layerServer),
  Layer.provideMerge(
    Emulator.layer({
      features: {
        history: true,
        presenceHistory: true,
        versionedMessages: true,
        annotations: true,
        push: true,
        userAuthentication: true
      },
      memberRemovedDelay: 0,
      apps: [
        {
          ...Emulator.defaultApp,
          namespaces: [{ name: "chat", allowUserLimitedChannels: true }],
          webhooks: [
            {
              handler: (request) => {
                hooks.push(request)
                return 200
              }
            }
          ]
        }
      ]
    })
  )
)

/** The requests the emulator received for a route pattern. */
const routeHits = (route: string) =>
  Effect.map(
    Emulator.Emulator.use((e) => e.requests),
    (log) => log.filter((r) => r.route === route)
  )

layer(Live, { timeout: "30 seconds" })("every SDK method against the emulator on a loopback port", (it) => {
  it.effect("trigger, triggerBatch and sendToUser return the serials the server forms", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emulator.connect({ user: { id: "u-9" } })
      yield* client.subscribe(orders)
      const first = yield* sockudo.trigger(orders, "order.created", { id: 1 }, { info: ["subscription_count"] })
      const receipt = first.channels[orders]!
      assert.match(receipt.message_serial!, SERIAL)
      expect(receipt).toMatchObject({
        acknowledgement_id: receipt.message_serial,
        version_serial: receipt.message_serial,
        history_serial: 1,
        delivery_serial: 1,
        subscription_count: 1
      })
      const batch = yield* sockudo.triggerBatch([
        { channel: orders, name: "order.paid", data: "2", messageId: "m-2" },
        { channel: orders, name: "order.sent", data: "3" }
      ])
      expect(batch.batch[0]).toMatchObject({ history_serial: 2, delivery_serial: 2 })
      assert.isTrue(batch.batch[0]!.message_serial! > receipt.message_serial!)
      expect(batch.batch[1]).toEqual({})
      yield* sockudo.sendToUser("u-9", "notice", { n: 1 })
      expect((yield* client.events()).map((m) => [m.channel, m.event, m.data])).toEqual([
        [orders, "order.created", '{"id":1}'],
        [orders, "order.paid", "2"],
        [orders, "order.sent", "3"],
        ["#server-to-user-u-9", "notice", '{"n":1}']
      ])
      const history = yield* sockudo.history.list(orders, { direction: "oldest_first" })
      expect(history.items.map((i) => [i.serial, i.message_id === "m-2"])).toEqual([
        [1, false],
        [2, true],
        [3, false]
      ])
    })
  )

  it.effect("authorizeChannel and authenticateUser sign what the emulator accepts; channels and users", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const one = yield* emulator.connect()
      const two = yield* emulator.connect()
      yield* one.signin(yield* sockudo.authenticateUser(one.socketId, { id: "1", name: "Ada" }))
      yield* one.subscribe(room, yield* sockudo.authorizeChannel(one.socketId, room, { user_id: "1" }))
      yield* two.subscribe(room, yield* sockudo.authorizeChannel(two.socketId, room, { user_id: "1" }))
      const stranger = yield* emulator.connect()
      const refused = yield* Effect.flip(
        stranger.subscribe(room, yield* sockudo.authorizeChannel(stranger.socketId, room, { user_id: "3" }))
      )
      assert.strictEqual(refused._tag, "EmulatorClientError")
      const priv = "private-a=b@c"
      yield* two.subscribe(priv, yield* sockudo.authorizeChannel(two.socketId, priv))
      expect(yield* sockudo.channels.get(room, { info: ["user_count", "subscription_count"] })).toEqual({
        occupied: true,
        user_count: 1,
        subscription_count: 2
      })
      expect(yield* sockudo.channels.users(room)).toEqual({ users: [{ id: "1" }] })
      expect(
        (yield* sockudo.channels.list({ filterByPrefix: "presence-chat:", info: ["user_count"] })).channels
      ).toEqual({ [room]: { user_count: 1 } })
      expect((yield* sockudo.channels.list({ filterByPrefix: "private-a=" })).channels).toEqual({ [priv]: {} })
      yield* sockudo.users.forceReconnect("1")
      expect(yield* one.closed).toMatchObject({ code: 4200 })
      const three = yield* emulator.connect({ user: { id: "u/3 x" } })
      yield* sockudo.users.terminateConnections("u/3 x")
      expect(yield* three.closed).toMatchObject({ code: 4009 })
      yield* two.disconnect
      yield* stranger.disconnect
    })
  )

  it.effect("webhooks.verify accepts what the emulator delivered", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const receipt = yield* sockudo.trigger("hooked", "e", "x", { info: [] })
      yield* emulator.settled
      const serial = receipt.channels["hooked"]!.message_serial!
      const verified = yield* Effect.forEach(hooks, (h) => sockudo.webhooks.verify(h))
      const versions = verified.flatMap((w) => w.events).filter((e) => e._tag === "MessageVersionCreated")
      expect(versions.find((e) => (e as { channel: string }).channel === "hooked")).toMatchObject({
        message_serial: serial,
        version_serial: serial,
        action: "message.create"
      })
      const tampered = yield* Effect.flip(sockudo.webhooks.verify({ ...hooks[0]!, body: `${hooks[0]!.body} ` }))
      assert.strictEqual(tampered._tag, "SockudoWebhookSignatureError")
    })
  )

  it.effect("history: pages in both directions, a stream across pages, bounds, state, purge and reset", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const channel = "hist.a=b@c_d"
      for (let i = 1; i <= 5; i++) yield* sockudo.trigger(channel, `e${i}`, i)
      const newest = yield* sockudo.history.list(channel, { limit: 2 })
      expect(newest.items.map((i) => i.serial)).toEqual([5, 4])
      expect(newest).toMatchObject({ direction: "newest_first", limit: 2, has_more: true })
      expect(newest.items[0]).toMatchObject({ event_name: "sockudo:message.create", operation_kind: "message.create" })
      const next = yield* sockudo.history.list(channel, { limit: 2, cursor: newest.next_cursor! })
      expect(next.items.map((i) => i.serial)).toEqual([3, 2])
      const before = (yield* routeHits("/channels/:channelName/history")).length
      const all = yield* Stream.runCollect(sockudo.history.stream(channel, { limit: 2, direction: "oldest_first" }))
      expect(Array.from(all, (i) => i.serial)).toEqual([1, 2, 3, 4, 5])
      expect((yield* routeHits("/channels/:channelName/history")).length - before).toBe(3)
      const bounded = yield* sockudo.history.list(channel, { startSerial: 2, endSerial: 3, direction: "oldest_first" })
      expect(bounded.items.map((i) => i.serial)).toEqual([2, 3])
      expect(bounded.bounds).toMatchObject({ start_serial: 2, end_serial: 3 })
      const state = yield* sockudo.history.state(channel)
      expect(state.channel).toBe(channel)
      expect(state.stream).toMatchObject({
        next_serial: 6,
        retained: { retained_messages: 5, oldest_available_serial: 1, newest_available_serial: 5 }
      })
      const purged = yield* sockudo.history.purge(channel, { mode: "before_serial", beforeSerial: 3, reason: "gdpr" })
      expect(purged).toMatchObject({ ok: true, mode: "before_serial", before_serial: 3, purged_messages: 2 })
      expect((yield* sockudo.history.list(channel)).items.map((i) => i.serial)).toEqual([5, 4, 3])
      const expired = yield* Effect.flip(sockudo.history.list(channel, { limit: 2, cursor: next.next_cursor! }))
      expect(expired).toMatchObject({ _tag: "SockudoClientError", status: 400, code: "invalid_input" })
      const reset = yield* sockudo.history.reset(channel, { reason: "rotate", requestedBy: "ops" })
      expect(reset).toMatchObject({
        ok: true,
        operation: "reset",
        channel,
        requested_by: "ops",
        previous_stream_id: state.stream.stream_id,
        purged_messages: 3,
        stream: { next_serial: 1 }
      })
      assert.notStrictEqual(reset.new_stream_id, state.stream.stream_id)
      const emptied = yield* sockudo.history.purge(channel, { mode: "all", reason: "again" })
      expect(emptied).toMatchObject({ purged_messages: 0, before_serial: null })
      expect((yield* sockudo.history.list(channel)).items).toEqual([])
      const wrong = yield* Effect.flip(sockudo.history.list("private-none#x"))
      assert.strictEqual(wrong._tag, "SockudoClientError")
    })
  )

  it.effect("presence history: joins and leaves in order, a stream, state, snapshots and reset", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const channel = "presence-chat:lobby=1@2"
      const one = yield* emulator.connect()
      const two = yield* emulator.connect()
      yield* one.subscribe(channel, yield* sockudo.authorizeChannel(one.socketId, channel, { user_id: "1" }))
      yield* two.subscribe(channel, yield* sockudo.authorizeChannel(two.socketId, channel, { user_id: "2" }))
      yield* one.disconnect
      const page = yield* sockudo.presenceHistory.list(channel, { direction: "oldest_first" })
      expect(page.items.map((i) => [i.serial, i.event, i.user_id, i.cause])).toEqual([
        [1, "member_added", "1", "join"],
        [2, "member_added", "2", "join"],
        [3, "member_removed", "1", "disconnect"]
      ])
      expect(page.items[1]!.connection_id).toBe(two.socketId)
      // History is on, so presence history lives in the history store, as on Sockudo.
      expect(page.items[1]!.presence_event).toMatchObject({
        user_id: "2",
        dedupe_key: `member_added:app-id:${channel}:2:${two.socketId}`
      })
      expect(page.items[1]!.presence_event.serial).toBeUndefined()
      const streamed = yield* Stream.runCollect(sockudo.presenceHistory.stream(channel, { limit: 1 }))
      expect(Array.from(streamed, (i) => i.serial)).toEqual([3, 2, 1])
      const state = yield* sockudo.presenceHistory.state(channel)
      expect(state.stream).toMatchObject({ next_serial: 4, retained: { retained_events: 3 } })
      const now = yield* sockudo.presenceHistory.snapshot(channel)
      expect(now).toMatchObject({ channel, member_count: 1, events_replayed: 3, snapshot_serial: 3 })
      expect(now.members.map((m) => [m.user_id, m.last_event, m.last_event_serial])).toEqual([["2", "member_added", 2]])
      const then = yield* sockudo.presenceHistory.snapshot(channel, { atSerial: 2 })
      expect(then.members.map((m) => m.user_id)).toEqual(["1", "2"])
      const timed = yield* sockudo.presenceHistory.snapshot(channel, { atTimeMs: page.items[0]!.published_at_ms })
      assert.isAtLeast(timed.member_count, 1)
      const reset = yield* sockudo.presenceHistory.reset(channel, { reason: "test" })
      expect(reset).toMatchObject({ operation: "reset", purged_events: 3, previous_stream_id: state.stream.stream_id })
      expect((yield* sockudo.presenceHistory.list(channel)).items).toEqual([])
      const notPresence = yield* Effect.flip(sockudo.presenceHistory.list("orders"))
      assert.strictEqual(notPresence._tag, "SockudoValidationError")
      yield* two.disconnect
    })
  )

  it.effect("messages: get, update, append, delete and versions with the version serials the server forms", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const ch = "chat:msgs=1@a_b-c"
      const watcher = yield* emulator.connect()
      yield* watcher.subscribe(ch)
      const receipt = yield* sockudo.trigger(ch, "said", "hello", { info: [] })
      const serial = receipt.channels[ch]!.message_serial!
      const created = yield* sockudo.messages.get(ch, serial)
      expect(created.item).toMatchObject({ action: "create", data: "hello", name: "said", message_serial: serial })
      const appended = yield* sockudo.messages.append(ch, serial, " world", { opId: "ap-1" })
      expect(appended).toMatchObject({ action: "append", status: "applied", message_serial: serial, history_serial: 1 })
      const appendSerial = appended.version_serial ?? ""
      assert.match(appendSerial, SERIAL)
      assert.isTrue(appendSerial > serial)
      const replay = yield* sockudo.messages.append(ch, serial, " world", { opId: "ap-1" })
      expect(replay).toMatchObject({ status: "duplicate", version_serial: appended.version_serial })
      const updated = yield* sockudo.messages.update(ch, serial, {
        name: "edited",
        clientId: "u1",
        description: "typo"
      })
      assert.isTrue((updated.version_serial ?? "") > appendSerial)
      const deleted = yield* sockudo.messages.delete(ch, serial, { clearFields: ["extras"] })
      expect(deleted).toMatchObject({ action: "delete", status: "applied" })
      const latest = yield* sockudo.messages.get(ch, serial)
      expect(latest.item).toMatchObject({
        action: "delete",
        data: "hello world",
        name: "edited",
        version: { serial: deleted.version_serial }
      })
      const versions = yield* sockudo.messages.versions(ch, serial)
      expect(versions.items.map((v) => [v.action, v.version?.serial])).toEqual([
        ["delete", deleted.version_serial],
        ["update", updated.version_serial],
        ["append", appended.version_serial],
        ["create", serial]
      ])
      expect(versions.items[2]!.data).toBe(" world")
      expect(versions.items[1]!.version).toMatchObject({ client_id: "u1", description: "typo" })
      const paged = yield* sockudo.messages.versions(ch, serial, { limit: 3, direction: "oldest_first" })
      expect(paged).toMatchObject({ has_more: true, next_cursor: updated.version_serial })
      const streamed = yield* Stream.runCollect(sockudo.messages.versionsStream(ch, serial, { limit: 1 }))
      expect(Array.from(streamed, (v) => v.action)).toEqual(["delete", "update", "append", "create"])
      const history = yield* sockudo.history.list(ch)
      expect(history.items[0]).toMatchObject({ event_name: "sockudo:message.delete", operation_kind: "message.delete" })
      expect((yield* watcher.received).map((m) => m.event).filter((e) => e.startsWith("sockudo:message."))).toEqual([
        "sockudo:message.append",
        "sockudo:message.update",
        "sockudo:message.delete"
      ])
      const missing = yield* Effect.flip(sockudo.messages.get(ch, "00000000000000000001:node:00000000000000000099"))
      expect(missing).toMatchObject({ _tag: "SockudoNotFoundError", status: 404, code: "not_found" })
      yield* emulator.settled
    })
  )

  it.effect("annotations: publish, list, stream and delete on a serial that needs encoding", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const ch = "notes@x.y"
      const serial = (yield* sockudo.trigger(ch, "note", "n", { info: [] })).channels[ch]!.message_serial!
      const like = yield* sockudo.annotations.publish(ch, serial, {
        type: "reactions:distinct.v1",
        name: "like",
        clientId: "u1"
      })
      assert.match(like.annotationSerial, SERIAL)
      const votes = yield* sockudo.annotations.publish(ch, serial, {
        type: "votes:multiple.v1",
        name: "up",
        count: 3,
        encoding: "utf-8"
      })
      assert.isTrue(votes.annotationSerial > like.annotationSerial)
      const page = yield* sockudo.annotations.list(ch, serial)
      expect(page).toMatchObject({ channel: ch, messageSerial: serial, hasMore: false, nextCursor: null })
      expect(page.items.map((a) => [a.action, a.serial, a.type, a.clientId])).toEqual([
        ["annotation.create", like.annotationSerial, "reactions:distinct.v1", "u1"],
        ["annotation.create", votes.annotationSerial, "votes:multiple.v1", undefined]
      ])
      const first = yield* sockudo.annotations.list(ch, serial, { limit: 1 })
      expect(first).toMatchObject({ hasMore: true, nextCursor: like.annotationSerial })
      const typed = yield* sockudo.annotations.list(ch, serial, { type: "votes:multiple.v1" })
      expect(typed.items.map((a) => a.count)).toEqual([3])
      const removed = yield* sockudo.annotations.delete(ch, serial, like.annotationSerial)
      expect(removed.deletedAnnotationSerial).toBe(like.annotationSerial)
      assert.isTrue(removed.annotationSerial > votes.annotationSerial)
      const again = yield* sockudo.annotations.delete(ch, serial, like.annotationSerial)
      expect(again).toEqual({ annotationSerial: like.annotationSerial, deletedAnnotationSerial: like.annotationSerial })
      const all = yield* Stream.runCollect(sockudo.annotations.stream(ch, serial, { limit: 1 }))
      expect(Array.from(all, (a) => [a.action, a.serial])).toEqual([
        ["annotation.create", like.annotationSerial],
        ["annotation.create", votes.annotationSerial],
        ["annotation.delete", removed.annotationSerial]
      ])
      const bad = yield* Effect.flip(
        sockudo.annotations.delete(ch, serial, "00000000000000000001:node:00000000000000009999")
      )
      expect(bad).toMatchObject({ _tag: "SockudoNotFoundError", status: 404 })
    })
  )

  it.effect("revocations.revoke closes the token's connections and refuses it afterwards", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const conn = yield* emulator.connect({ token: { jti: "jti/1", clientId: "c-1" } })
      const revoked = yield* sockudo.revocations.revoke({ jti: "jti/1", reason: "lost", ttlSeconds: 60 })
      expect(revoked).toEqual({ revoked_jti: true, revoked_client_id: false, closed_connections: 1 })
      expect(yield* conn.closed).toMatchObject({ code: 4009 })
      const byClient = yield* sockudo.revocations.revoke({ clientId: "c-1" })
      expect(byClient).toMatchObject({ revoked_client_id: true, closed_connections: 0 })
      const refused = yield* emulator.connect({ token: { jti: "jti/1" } })
      expect(yield* refused.closed).toMatchObject({ code: 4009 })
    })
  )

  it.effect("push: credentials, templates, devices, subscriptions, publishing, status and dead letters", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const push = sockudo.push
      const fcm = yield* push.credentials.put({ provider: "fcm", serviceAccountJson: { project_id: "p" } })
      expect(fcm).toEqual({ app_id: "app-id", credential_id: "fcm", provider: "fcm", version: 1 })
      yield* push.credentials.put({
        provider: "webPush",
        credentialId: "vapid",
        version: 2,
        publicKey: "k",
        privateKey: "s"
      })
      const creds = yield* push.credentials.list({ limit: 1 })
      expect(creds).toMatchObject({ has_more: true, items: [{ provider: "fcm" }] })
      const rest = yield* push.credentials.list({ limit: 1, cursor: creds.next_cursor! })
      expect(rest).toMatchObject({ has_more: false, next_cursor: null, items: [{ provider: "webPush", version: 2 }] })

      const templateId = "order shipped/v1"
      const template = yield* push.templates.create({
        templateId,
        defaultLocale: "en",
        locales: { en: { title: "Shipped", body: "{{data.order}} is on its way" } }
      })
      expect(template).toMatchObject({ appId: "app-id", templateId })
      expect(yield* push.templates.get(templateId)).toEqual(template)
      yield* push.templates.create({
        templateId: "temp",
        defaultLocale: "en",
        locales: { en: { title: "t", body: "b" } }
      })
      expect((yield* push.templates.list()).items.map((t) => t.templateId)).toEqual([templateId, "temp"])
      yield* push.templates.delete("temp")
      expect(yield* Effect.flip(push.templates.get("temp"))).toMatchObject({ _tag: "SockudoNotFoundError" })

      const device: Push.DeviceRegistration = {
        id: "device/1 #a",
        clientId: "user-1",
        formFactor: "phone",
        platform: "android",
        timezone: "Europe/Paris",
        locale: "fr-FR",
        push: { recipient: { transportType: "gcm", registrationToken: "fcm-token-1" } }
      }
      const inserted = yield* push.devices.activate(device)
      expect(inserted).toMatchObject({
        change: "inserted",
        device: { id: device.id, clientId: "user-1", pushState: "ACTIVE", recipient: { provider: "fcm" } }
      })
      const token = inserted.deviceIdentityToken!
      assert.isTrue(Redacted.isRedacted(token))
      const unchanged = yield* push.devices.activate(device)
      expect(unchanged.change).toBe("unchanged")
      assert.isUndefined(unchanged.deviceIdentityToken)
      const updated = yield* push.devices.update({ ...device, locale: "en-GB" }, { deviceIdentityToken: token })
      expect(updated).toMatchObject({ change: "updated", device: { locale: "en-GB" } })
      expect(yield* push.devices.get(device.id, { deviceIdentityToken: token })).toEqual(updated.device)
      const wrongToken = yield* Effect.flip(push.devices.get(device.id, { deviceIdentityToken: "nope" }))
      expect(wrongToken).toMatchObject({ _tag: "SockudoAuthenticationError", status: 401 })
      const failing = yield* push.devices.activate({
        ...device,
        id: "dead-device",
        clientId: "user-2",
        push: { recipient: { transportType: "apns", deviceToken: "apns-1" }, state: "FAILED" }
      })
      const rotated = yield* push.devices.activate(device, { rotateDeviceIdentityToken: true })
      assert.isDefined(rotated.deviceIdentityToken)
      expect((yield* push.devices.list()).items.map((d) => d.id)).toEqual(["dead-device", device.id])

      const subscription = yield* push.subscriptions.upsert({
        channel: "deals;eu",
        deviceId: device.id,
        provider: "fcm",
        tokenHash: inserted.tokenHash
      })
      expect(subscription).toMatchObject({ appId: "app-id", channel: "deals;eu", deviceId: device.id })
      yield* push.subscriptions.upsert({
        channel: "deals;eu",
        deviceId: "dead-device",
        provider: "apns",
        tokenHash: failing.tokenHash
      })
      expect((yield* push.subscriptions.list({ channel: "deals;eu" })).items.map((s) => s.deviceId)).toEqual([
        "dead-device",
        device.id
      ])
      expect(
        (yield* push.subscriptions.list({ deviceId: device.id, deviceIdentityToken: rotated.deviceIdentityToken! }))
          .items
      ).toHaveLength(1)
      expect((yield* push.subscriptions.channels()).items).toEqual(["deals;eu"])

      const accepted = yield* push.publish({
        publishId: "pub/1",
        recipients: [Push.target.device(device.id)],
        payload: { templateId, templateData: { order: "ord_1" } }
      })
      expect(accepted).toMatchObject({
        publishId: "pub/1",
        status: "accepted",
        expectedRecipients: 1,
        fanoutRegime: "fastPath"
      })
      // One payload per provider, whatever the targets.
      expect(accepted.renderedPayloads!.map((p) => p.provider)).toEqual([
        "fcm",
        "apns",
        "webPush",
        "hms",
        "wns",
        "realtime"
      ])
      expect(accepted.renderedPayloads![5]).toEqual({
        provider: "realtime",
        payload: {
          notification: { title: "Shipped", body: "ord_1 is on its way", image: null },
          data: { order: "ord_1" }
        },
        usedOverride: false
      })
      const status = yield* push.status("pub/1")
      expect(status).toMatchObject({
        appId: "app-id",
        publishId: "pub/1",
        state: "succeeded",
        counters: { planned: 1, dispatched: 1, succeeded: 1 }
      })
      const duplicate = yield* push.publish({
        publishId: "pub/1",
        recipients: [Push.target.device(device.id)],
        payload: { title: "x" }
      })
      expect(duplicate.status).toBe("succeeded")
      const toChannel = yield* push.publish({
        publishId: "pub-2",
        recipients: [Push.target.channel("deals;eu")],
        payload: { title: "Deal", body: "50%" },
        providerOverrides: [{ provider: "apns", payload: { aps: { alert: "Deal" } } }]
      })
      expect(toChannel).toMatchObject({ expectedRecipients: 2 })
      expect(toChannel.renderedPayloads![1]).toEqual({
        provider: "apns",
        payload: { aps: { alert: "Deal" } },
        usedOverride: true
      })
      // A FAILED push state is health, not a verdict: the device is still delivered to.
      expect(yield* push.status("pub-2")).toMatchObject({ state: "succeeded", counters: { succeeded: 2 } })
      const batch = yield* push.publishBatch([
        { publishId: "b-1", recipients: [Push.target.client("user-1")], payload: { title: "1" } },
        { publishId: "b-2", recipients: [Push.target.client("user-2")], payload: { title: "2" } }
      ])
      expect(batch.items.map((i) => [i.publishId, i.expectedRecipients])).toEqual([
        ["b-1", 1],
        ["b-2", 1]
      ])
      const scheduled = yield* push.schedule({
        publishId: "later/1",
        recipients: [Push.target.device(device.id)],
        payload: { title: "later" },
        notBeforeMs: 4_000_000_000_000
      })
      expect(scheduled.status).toBe("accepted")
      expect(yield* push.status("later/1")).toMatchObject({ state: "dispatching", retryAfterMs: 4_000_000_000_000 })
      // As on Sockudo 5.0.1, which keeps no scheduler job for an HTTP publish: nothing is cancelled.
      yield* push.cancelScheduled("later/1")
      expect((yield* push.status("later/1")).state).toBe("dispatching")
      expect(yield* Effect.flip(push.status("unknown"))).toMatchObject({ _tag: "SockudoNotFoundError" })

      // Without providers nothing is rejected, so nothing is dead-lettered.
      expect((yield* push.deadLetters.list({ provider: "apns" })).items).toEqual([])
      expect(yield* Effect.flip(push.deadLetters.replay("none"))).toMatchObject({ _tag: "SockudoNotFoundError" })
      const report = yield* push.deliveryStatus({
        publishId: "pub/1",
        eventId: "ev-1",
        occurredAtMs: 1_700_000_000_000,
        result: { provider: "fcm", batchId: "batch-1", deviceId: device.id, outcome: "accepted", attempt: 1 }
      })
      expect(report).toMatchObject({
        appId: "app-id",
        eventId: "ev-1",
        result: { appId: "app-id", publishId: "pub/1" }
      })

      expect(yield* push.subscriptions.delete({ channel: "deals;eu" })).toEqual({ deleted: 2 })
      yield* push.devices.delete(device.id)
      expect(yield* Effect.flip(push.devices.get(device.id))).toMatchObject({ _tag: "SockudoNotFoundError" })
      expect(yield* push.devices.removeByClient("user-2")).toEqual({ deleted: 1, consistency: "eventual" })
      expect((yield* push.devices.list()).items).toEqual([])
    })
  )

  it.effect("signedUrl signs a history read of an encoded channel that the emulator accepts", () =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      const channel = "signed=1@a_b-c"
      yield* sockudo.trigger(channel, "e", 1)
      const url = yield* sockudo.signedUrl("GET", `/channels/${encodeURIComponent(channel)}/history`, {
        direction: "oldest_first",
        limit: 5
      })
      const body = yield* Effect.promise(() => fetch(url).then((r) => r.json()))
      expect(body).toMatchObject({
        direction: "oldest_first",
        limit: 5,
        items: [{ serial: 1, event_name: "sockudo:message.create" }]
      })
    })
  )
})
