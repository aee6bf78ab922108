import { assert, describe, expect } from "@effect/vitest"
import { Effect } from "effect"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { sequence } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { answer, decodeSentBody, expectSent, now, rejects, sent, test } from "./fixtures.ts"

describe("push.deadLetters", () => {
  test(
    "list sends provider, sinceMs and untilMs under the server's names and decodes entries",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.deadLetters.list({
          provider: "webPush",
          sinceMs: now - 1000,
          untilMs: now,
          limit: 5,
          cursor: "x"
        })
        assert.deepStrictEqual(result, F.page([F.deadLetter, F.stageDeadLetter]))
        expectSent(yield* sent, {
          method: "GET",
          path: "/apps/app-id/push/deadLetters",
          query: [
            ["limit", "5"],
            ["cursor", "x"],
            ["provider", "webPush"],
            ["sinceMs", String(now - 1000)],
            ["untilMs", String(now)]
          ]
        })
      }),
    answer(200, F.page([F.deadLetter, F.stageDeadLetter]))
  )

  test(
    "replay POSTs an empty signed body to the encoded id and decodes the 202",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.deadLetters.replay("dl/1"), {
          deadLetterId: "dl/1",
          replayed: true,
          messageId: "m-1"
        })
        assert.deepStrictEqual(yield* s.push.deadLetters.replay("dl-2"), { deadLetterId: "dl-2", replayed: true })
        expectSent(yield* sent, { method: "POST", path: "/apps/app-id/push/deadLetters/dl%2F1/replay" })
      }),
    sequence(
      SockudoTest.json(202, { deadLetterId: "dl/1", replayed: true, messageId: "m-1" }),
      SockudoTest.json(202, { deadLetterId: "dl-2", replayed: true })
    )
  )

  test(
    "a dead letter that cannot be replayed is a SockudoClientError with the server's reason",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.deadLetters.replay("dl-1"))
        expect(error).toMatchObject({
          _tag: "SockudoClientError",
          status: 400,
          code: "invalid_input",
          message: "dead letter cannot be replayed by this queue backend"
        })
      }),
    answer(400, F.serverError(400, "invalid_input", "dead letter cannot be replayed by this queue backend"))
  )
})

describe("push.deliveryStatus", () => {
  const report: Push.DeliveryReport = {
    publishId: "pub-1",
    eventId: "evt-1",
    occurredAtMs: now,
    result: {
      provider: "apns",
      batchId: "batch-1",
      deviceId: "device-1",
      outcome: "rejected",
      error: { class: "invalid_token", failureClass: "device_terminal", reason: "BadDeviceToken" },
      attempt: 1
    }
  }
  const event: Push.DeliveryEvent = {
    appId: "app-id",
    publishId: "pub-1",
    eventId: "evt-1",
    occurredAtMs: now,
    result: {
      appId: "app-id",
      publishId: "pub-1",
      provider: "apns",
      batchId: "batch-1",
      deviceId: "device-1",
      outcome: "rejected",
      error: { class: "invalid_token", failureClass: "device_terminal", reason: "BadDeviceToken" },
      attempt: 1
    }
  }

  test(
    "POSTs the event with appId filled in (also in result) and decodes the 202 echo",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.deliveryStatus(report), event)
        const request = yield* sent
        expectSent(request, { method: "POST", path: "/apps/app-id/push/deliveryStatus", body: event })
        assert.doesNotThrow(() => decodeSentBody(Push.DeliveryEvent, request))
      }),
    answer(202, event)
  )
})

describe("push validation: nothing is sent", () => {
  rejects([
    [
      "dead letters with sinceMs after untilMs",
      (s) => s.push.deadLetters.list({ sinceMs: 2, untilMs: 1 }),
      "sinceMs",
      "sinceMs must not be after untilMs"
    ],
    [
      "dead letters of the realtime provider",
      (s) => s.push.deadLetters.list({ provider: "realtime" as never }),
      "provider"
    ],
    ["an empty dead letter id", (s) => s.push.deadLetters.replay(""), "deadLetterId"],
    [
      "a delivery report with an unknown outcome",
      (s) =>
        s.push.deliveryStatus({
          publishId: "p",
          occurredAtMs: 1,
          result: { provider: "fcm", batchId: "b", outcome: "delivered" as never, attempt: 0 }
        }),
      "report.result.outcome"
    ],
    [
      "a delivery report with a failure class the server does not know",
      (s) =>
        s.push.deliveryStatus({
          publishId: "p",
          occurredAtMs: 1,
          result: {
            provider: "fcm",
            batchId: "b",
            outcome: "rejected",
            error: { class: "invalid_token", failureClass: "device-terminal" as never },
            attempt: 1
          }
        }),
      "report.result.error.failureClass"
    ]
  ])
})
