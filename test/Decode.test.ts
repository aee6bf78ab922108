/**
 * Answers from a newer server: a new value in a server enum or a new field never turns a
 * successful answer into a SockudoDecodeError, unknown fields are kept on the decoded value at
 * every depth, and a 2xx answer to a publish (trigger, batch, push publish) is never a failure
 * because of a field the caller did not need.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Push } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"
import * as Fixtures from "./Resources/Push/fixtures.ts"
import { layer, sockudo } from "./support/harness.ts"
import { streamState } from "./support/history.ts"

/** The fields of `value` (for reading the ones no type declares). */
const fields = (value: unknown) => value as Readonly<Record<string, unknown>>

const answer = (body: unknown, status = 200) => layer(() => SockudoTest.json(status, body))

const retained = {
  stream_id: "s-1",
  oldest_available_serial: 1,
  newest_available_serial: 2,
  oldest_available_published_at_ms: 0,
  newest_available_published_at_ms: 0,
  retained_bytes: 10,
  retained_messages: 2
}
const serial = "00000001710000000000:1:00000000000000000007"

describe("new values in server enums", () => {
  it.effect("durable_state 'rebuilding'", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const state = yield* s.history.state("orders")
      assert.strictEqual(state.stream.state.durable_state, "rebuilding")
    }).pipe(
      Effect.provide(
        answer({
          channel: "orders",
          stream: {
            stream_id: "s-1",
            next_serial: 3,
            retained,
            state: { ...streamState, durable_state: "rebuilding" }
          }
        })
      )
    )
  )

  it.effect("a message action 'pin', and a mutation status 'superseded'", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const message = yield* s.messages.get("chat", serial)
      assert.strictEqual(message.item.action, "pin")
      const mutation = yield* s.messages.update("chat", serial, { data: "x", opId: "op-1" })
      assert.deepStrictEqual([mutation.action, mutation.status], ["pin", "superseded"])
    }).pipe(
      Effect.provide(
        layer((request) =>
          request.method === "GET"
            ? SockudoTest.json(200, {
                channel: "chat",
                message_serial: serial,
                item: { event: "sockudo:message.pin", channel: "chat", action: "pin", message_serial: serial }
              })
            : SockudoTest.json(200, {
                channel: "chat",
                message_serial: serial,
                action: "pin",
                accepted: true,
                version_serial: serial,
                history_serial: 1,
                delivery_serial: 1,
                status: "superseded"
              })
        )
      )
    )
  )

  it.effect("an annotation action 'annotation.update'", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const page = yield* s.annotations.list("chat", serial)
      assert.strictEqual(page.items[0]!.action, "annotation.update")
    }).pipe(
      Effect.provide(
        answer({
          items: [
            {
              action: "annotation.update",
              serial: "a-1",
              messageSerial: serial,
              type: "reactions:distinct.v1",
              name: "like",
              clientId: "u1",
              timestamp: 1
            }
          ],
          channel: "chat",
          messageSerial: serial,
          limit: 100,
          hasMore: false,
          nextCursor: null
        })
      )
    )
  )

  it.effect("a push publish status 'deferred', fanout 'hybridPath' and provider 'apns2'", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const accepted = yield* s.push.publish({ recipients: [Push.target.client("u1")], payload: { title: "t" } })
      expect(accepted).toMatchObject({ status: "deferred", fanoutRegime: "hybridPath" })
      assert.strictEqual(accepted.renderedPayloads?.[0]?.provider, "apns2")
      const status = yield* s.push.status("pub-1")
      assert.deepStrictEqual([status.state, status.fanoutRegime], ["paused", "hybridPath"])
    }).pipe(
      Effect.provide(
        layer((request) =>
          request.method === "GET"
            ? SockudoTest.json(200, { ...Fixtures.status, state: "paused", fanoutRegime: "hybridPath" })
            : SockudoTest.json(202, {
                ...Fixtures.accepted,
                status: "deferred",
                fanoutRegime: "hybridPath",
                renderedPayloads: [{ provider: "apns2", payload: {}, usedOverride: false }]
              })
        )
      )
    )
  )

  it.effect("a device's platform, form factor, push state, transport and provider", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const device = yield* s.push.devices.get("device-1")
      expect(device).toMatchObject({
        platform: "visionos",
        formFactor: "headset",
        pushState: "SUSPENDED",
        recipient: { transportType: "matrix", provider: "matrix" }
      })
    }).pipe(
      Effect.provide(
        answer({
          ...Fixtures.deviceResponse,
          platform: "visionos",
          formFactor: "headset",
          pushState: "SUSPENDED",
          recipient: { transportType: "matrix", provider: "matrix", tokenHash: "h" }
        })
      )
    )
  )

  it.effect("request options stay closed: an unknown platform is still refused before sending", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.push.devices.activate({ ...Fixtures.device, platform: "visionos" as never }))
      expect(error).toMatchObject({ _tag: "SockudoValidationError", field: "device.platform" })
    }).pipe(Effect.provide(layer()))
  )
})

describe("unknown fields are kept on the decoded value, at every depth", () => {
  it.effect("channels.get", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const state = yield* s.channels.get("orders")
      assert.strictEqual(fields(state).shard, "eu-1")
      assert.strictEqual(fields(state.ai).tokens_per_second, 12)
      assert.deepStrictEqual(fields(state.ai), { active_streams: 1, message_count: 2, tokens_per_second: 12 })
    }).pipe(
      Effect.provide(
        answer({ occupied: true, shard: "eu-1", ai: { active_streams: 1, message_count: 2, tokens_per_second: 12 } })
      )
    )
  )

  it.effect("a history page: the page, its items, their messages and the stream state", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const page = yield* s.history.list("orders")
      assert.strictEqual(fields(page).region, "eu")
      assert.strictEqual(fields(page.items[0]).ttl_ms, 5)
      assert.strictEqual(fields(page.items[0]!.message).compressed, false)
      assert.strictEqual(fields(page.stream_state).lag_ms, 3)
    }).pipe(
      Effect.provide(
        answer({
          items: [
            {
              stream_id: "s-1",
              serial: 1,
              published_at_ms: 0,
              operation_kind: "append",
              payload_size_bytes: 1,
              ttl_ms: 5,
              message: { event: "e", channel: "orders", data: "x", compressed: false }
            }
          ],
          direction: "newest_first",
          limit: 100,
          has_more: false,
          next_cursor: null,
          bounds: { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null },
          continuity: { ...retained, complete: true, truncated_by_retention: false },
          stream_state: { ...streamState, lag_ms: 3 },
          region: "eu"
        })
      )
    )
  )

  it.effect("a field the server's answer must have is still required: a wrong occupied is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.channels.get("orders"))
      assert.strictEqual(error._tag, "SockudoDecodeError")
    }).pipe(Effect.provide(answer({ occupied: "yes" })))
  )
})

describe("a 2xx answer to a publish is never a failure because of a field the caller did not need", () => {
  it.effect("trigger: a receipt with a serial beyond 2^53 sent as a string, a null count and a new field", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const receipt = yield* s.trigger("orders", "e", 1, { info: ["subscription_count"] })
      const orders = receipt.channels.orders!
      assert.strictEqual(orders.message_serial, serial)
      assert.strictEqual(orders.subscription_count, 3)
      assert.isUndefined(orders.history_serial)
      assert.isUndefined(orders.user_count)
      assert.strictEqual(orders.region, "eu")
    }).pipe(
      Effect.provide(
        answer({
          channels: {
            orders: {
              acknowledgement_id: serial,
              message_serial: serial,
              history_serial: "18446744073709551615",
              user_count: null,
              subscription_count: 3,
              region: "eu"
            }
          },
          node: "n-1"
        })
      )
    )
  )

  for (const [what, body] of [
    ["channels of the wrong shape", { channels: ["orders"] }],
    ["a receipt that is not an object", { channels: { orders: 5 } }],
    ["ok that is not a boolean", { ok: "yes" }],
    ["an empty body", ""]
  ] as const) {
    it.effect(`trigger: ${what}`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const exit = yield* Effect.exit(s.trigger("orders", "e", 1))
        assert.isTrue(Exit.isSuccess(exit), String(exit))
      }).pipe(Effect.provide(body === "" ? layer(() => SockudoTest.text(200, "")) : answer(body)))
    )
  }

  it.effect("triggerBatch: receipts of unexpected shapes", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.triggerBatch([
        { channel: "a", name: "e", data: 1, info: ["subscription_count"] },
        { channel: "b", name: "e", data: 2 },
        { channel: "c", name: "e", data: 3, info: ["subscription_count"] }
      ])
      assert.strictEqual(result.batch.length, 3)
      assert.strictEqual(result.batch[0]!.subscription_count, 1)
      assert.deepStrictEqual(result.batch[1], {})
      assert.isUndefined(result.batch[2]!.subscription_count)
    }).pipe(Effect.provide(answer({ batch: [{ subscription_count: 1 }, 7, { subscription_count: "many" }] })))
  )

  it.effect("push.publish: counts, fanout and rendered payloads missing or of another type", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const accepted = yield* s.push.publish({
        publishId: "pub-9",
        recipients: [Push.target.client("u1")],
        payload: { title: "t" }
      })
      expect(accepted).toMatchObject({ publishId: "pub-9", status: "accepted" })
      assert.isUndefined(accepted.expectedRecipients)
      assert.isUndefined(accepted.fanoutRegime)
      assert.isUndefined(accepted.renderedPayloads)
    }).pipe(
      Effect.provide(answer({ publishId: "pub-9", status: "accepted", expectedRecipients: "2", fanoutRegime: 1 }, 202))
    )
  )

  it.effect("push.publish: no publishId in the answer is the one that was sent", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const accepted = yield* s.push.publish({ recipients: [Push.target.client("u1")], payload: { title: "t" } })
      const sent = (yield* Fixtures.sent)!.json as { readonly publishId: string }
      assert.strictEqual(accepted.publishId, sent.publishId)
    }).pipe(Effect.provide(answer({ status: "accepted" }, 202)))
  )

  it.effect("push.publishBatch: each item tolerated the same way", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const request = { recipients: [Push.target.client("u1")], payload: { title: "t" } }
      const result = yield* s.push.publishBatch([
        { ...request, publishId: "p-1" },
        { ...request, publishId: "p-2" }
      ])
      expect(result.items.map((i) => i.publishId)).toEqual(["p-1", "p-2"])
    }).pipe(Effect.provide(answer({ items: [{ publishId: "p-1", status: 5 }, { status: "accepted" }] }, 202)))
  )
})
