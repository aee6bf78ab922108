import { assert, describe, expect } from "@effect/vitest"
import { Effect } from "effect"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { requests, sequence } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { admin, answer, expectSent, now, rejects, sent, test, UUID } from "./fixtures.ts"

describe("push.publish", () => {
  const request: Push.PublishRequest = {
    publishId: "pub-1",
    recipients: [
      Push.target.device("device-1"),
      Push.target.client("user-1"),
      Push.target.channel("orders"),
      Push.target.registeredTopic("news"),
      Push.target.userTopic("user-1:alerts"),
      Push.target.recipient({ transportType: "web", endpoint: "https://push.example/abc", p256dh: "k", auth: "a" }),
      Push.target.providerTopic("fcm", "sports"),
      Push.target.providerCondition("fcm", "'a' in topics"),
      Push.target.indexedFilter({ plan: "pro" })
    ],
    payload: { title: "Order shipped", body: "ord_1 is on its way", icon: "https://cdn.example/i.png" },
    providerOverrides: [{ provider: "apns", payload: { aps: { sound: "default" } } }],
    expiresAtMs: now + 3_600_000
  }

  test(
    "publish POSTs the request with snake_case target fields and decodes the 202",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.publish(request)
        const body = {
          publishId: "pub-1",
          recipients: [
            { type: "device", device_id: "device-1" },
            { type: "client", client_id: "user-1" },
            { type: "channel", channel: "orders" },
            { type: "registeredTopic", topic: "news" },
            { type: "userTopic", topic: "user-1:alerts" },
            {
              type: "recipient",
              recipient: { transportType: "web", endpoint: "https://push.example/abc", p256dh: "k", auth: "a" }
            },
            { type: "providerTopic", provider: "fcm", topic: "sports" },
            { type: "providerCondition", provider: "fcm", condition: "'a' in topics" },
            { type: "indexedFilter", filter: { plan: "pro" } }
          ],
          payload: { title: "Order shipped", body: "ord_1 is on its way", icon: "https://cdn.example/i.png" },
          providerOverrides: [{ provider: "apns", payload: { aps: { sound: "default" } } }],
          expiresAtMs: now + 3_600_000
        }
        expectSent(yield* sent, { method: "POST", path: "/apps/app-id/push/publish", body })
        assert.deepStrictEqual(result, F.accepted)
      }),
    answer(202, F.accepted, { "x-sockudo-forced-async": "publish-api-is-async" })
  )

  test(
    "a generated publishId comes first; quotaOverride sends its header",
    (s) =>
      Effect.gen(function* () {
        yield* s.push.publish(
          { recipients: [Push.target.device("d")], payload: { templateId: "t", templateData: { order: 1 } } },
          { quotaOverride: true }
        )
        const request = yield* sent
        const publishId = (request!.json as { publishId: string }).publishId
        assert.match(publishId, UUID)
        expectSent(request, {
          method: "POST",
          path: "/apps/app-id/push/publish",
          headers: { ...admin, "x-sockudo-push-quota-override": "1" },
          body: {
            publishId,
            recipients: [{ type: "device", device_id: "d" }],
            payload: { templateId: "t", templateData: { order: 1 } }
          }
        })
      }),
    answer(202, { ...F.accepted, status: "quota_exceeded" })
  )

  test(
    "publishBatch POSTs a JSON array, one publishId per item, and decodes {items}",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.publishBatch([
          { publishId: "a", recipients: [Push.target.client("u1")], payload: { title: "1" } },
          { recipients: [Push.target.client("u2")], payload: { title: "2" } }
        ])
        const request = yield* sent
        const items = request!.json as ReadonlyArray<{ publishId: string }>
        assert.match(items[1]!.publishId, UUID)
        expectSent(request, {
          method: "POST",
          path: "/apps/app-id/push/batch/publish",
          body: [
            { publishId: "a", recipients: [{ type: "client", client_id: "u1" }], payload: { title: "1" } },
            {
              publishId: items[1]!.publishId,
              recipients: [{ type: "client", client_id: "u2" }],
              payload: { title: "2" }
            }
          ]
        })
        assert.deepStrictEqual(result, {
          items: [F.accepted, { ...F.accepted, publishId: "b", status: "dispatching" }]
        })
      }),
    answer(202, { items: [F.accepted, { ...F.accepted, publishId: "b", status: "dispatching" }] })
  )

  test(
    "schedule sends notBeforeMs on the publish route; cancelScheduled DELETEs the job by publishId",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.schedule({
          publishId: "later/1",
          recipients: [Push.target.channel("orders")],
          payload: { body: "Reminder" },
          notBeforeMs: now + 60_000
        })
        assert.strictEqual(result.publishId, "pub-1")
        assert.isUndefined(yield* s.push.cancelScheduled("later/1"))
        const [schedule, cancel] = yield* requests
        expectSent(schedule, {
          method: "POST",
          path: "/apps/app-id/push/publish",
          body: {
            publishId: "later/1",
            recipients: [{ type: "channel", channel: "orders" }],
            payload: { body: "Reminder" },
            notBeforeMs: now + 60_000
          }
        })
        expectSent(cancel, { method: "DELETE", path: "/apps/app-id/push/scheduled/later%2F1" })
      }),
    sequence(SockudoTest.json(202, F.accepted), SockudoTest.text(204, ""))
  )

  test(
    "status GETs the encoded publishId and decodes counters, with optional fields null, set or absent",
    (s) =>
      Effect.gen(function* () {
        const quota: Push.PublishStatus = {
          ...F.status,
          state: "quota_exceeded",
          retryAfterMs: 5000,
          errorReason: "fanout_max exceeded for app app-id"
        }
        assert.deepStrictEqual(yield* s.push.status("pub 1"), F.status)
        assert.deepStrictEqual(yield* s.push.status("pub-2"), F.queuedStatus)
        assert.deepStrictEqual(yield* s.push.status("pub-3"), quota)
        expectSent(yield* sent, { method: "GET", path: "/apps/app-id/push/publish/pub%201/status" })
      }),
    sequence(
      SockudoTest.json(200, F.status),
      SockudoTest.json(200, F.queuedStatus),
      SockudoTest.json(200, {
        ...F.status,
        state: "quota_exceeded",
        retryAfterMs: 5000,
        errorReason: "fanout_max exceeded for app app-id"
      })
    )
  )

  test(
    "a response outside the server's contract is a SockudoDecodeError; a state it adds is kept",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.status("pub-1"))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "push.status", status: 200 })
        expect(yield* s.push.status("pub-1")).toMatchObject({ state: "partially_succeeded" })
      }),
    sequence(
      SockudoTest.json(200, { ...F.status, counters: { planned: "3" } }),
      SockudoTest.json(200, { ...F.status, state: "partially_succeeded" })
    )
  )
})

describe("push validation: nothing is sent", () => {
  const publish = (overrides: Record<string, unknown>) =>
    ({ recipients: [Push.target.device("d")], payload: { title: "t" }, ...overrides }) as Push.PublishRequest
  rejects([
    ["a publish without recipients", (s) => s.push.publish(publish({ recipients: [] })), "request.recipients"],
    [
      "a publish with 1025 recipients",
      (s) =>
        s.push.publish(publish({ recipients: Array.from({ length: 1025 }, (_, i) => Push.target.device(`d${i}`)) })),
      "request.recipients",
      "request.recipients must list 1 to 1024 targets"
    ],
    [
      "a camelCase target field",
      (s) => s.push.publish(publish({ recipients: [{ type: "device", deviceId: "d" }] })),
      "request.recipients[0].deviceId",
      "request.recipients[0].deviceId is not a field the server reads"
    ],
    [
      "an unknown target type",
      (s) => s.push.publish(publish({ recipients: [Push.target.device("d"), { type: "segment", id: "s" }] })),
      "request.recipients[1]"
    ],
    ["a payload without the payload", (s) => s.push.publish(publish({ payload: undefined })), "request.payload"],
    [
      "a title of 86 three-byte characters (258 bytes)",
      (s) => s.push.publish(publish({ payload: { title: "€".repeat(86) } })),
      "request.payload.title",
      "request.payload.title must be at most 256 bytes"
    ],
    [
      "an http icon",
      (s) => s.push.publish(publish({ payload: { icon: "http://cdn.example/i.png" } })),
      "request.payload.icon"
    ],
    [
      "templateData above 8192 bytes",
      (s) => s.push.publish(publish({ payload: { templateId: "t", templateData: { x: "y".repeat(8192) } } })),
      "request.payload.templateData"
    ],
    [
      "a provider override above 4096 bytes",
      (s) => s.push.publish(publish({ providerOverrides: [{ provider: "fcm", payload: "z".repeat(4096) }] })),
      "request.providerOverrides[0].payload"
    ],
    ["a negative notBeforeMs", (s) => s.push.publish(publish({ notBeforeMs: -1 })), "request.notBeforeMs"],
    ["an empty publishId", (s) => s.push.publish(publish({ publishId: "" })), "request.publishId"],
    [
      "a schedule without notBeforeMs",
      (s) => s.push.schedule(publish({}) as Push.ScheduledPublishRequest),
      "request.notBeforeMs",
      "request.notBeforeMs is required"
    ],
    ["an empty batch", (s) => s.push.publishBatch([]), "requests"],
    [
      "a bad batch item",
      (s) => s.push.publishBatch([publish({}), publish({ recipients: [{ type: "client", clientId: "u" }] })]),
      "requests[1].recipients[0].clientId"
    ],
    ["an empty publishId for status", (s) => s.push.status(""), "publishId"],
    ["an empty publishId to cancel", (s) => s.push.cancelScheduled(""), "publishId"]
  ])
})
