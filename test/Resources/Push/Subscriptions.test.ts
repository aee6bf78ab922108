import { assert, describe } from "@effect/vitest"
import { Effect } from "effect"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { requests, sequence } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { answer, decodeSentBody, expectSent, rejects, test } from "./fixtures.ts"

describe("push.subscriptions", () => {
  test(
    "upsert POSTs the subscription with appId, as admin or for the device",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.subscriptions.upsert(F.subscription), F.subscriptionResponse)
        yield* s.push.subscriptions.upsert(
          { ...F.subscription, credentialVersion: 2 },
          { deviceIdentityToken: "dit-1" }
        )
        const [first, second] = yield* requests
        const path = "/apps/app-id/push/channelSubscriptions"
        expectSent(first, { method: "POST", path, body: F.subscriptionResponse })
        assert.doesNotThrow(() => decodeSentBody(Push.ChannelSubscription, first))
        expectSent(second, {
          method: "POST",
          path,
          headers: { "x-sockudo-push-capability": "push-subscribe", "x-sockudo-device-identity-token": "dit-1" },
          body: { ...F.subscriptionResponse, credentialVersion: 2 }
        })
      }),
    answer(201, F.subscriptionResponse)
  )

  test(
    "list by channel, by device (with its token) or all; channels lists strings",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(
          yield* s.push.subscriptions.list({ channel: "orders#eu", limit: 10 }),
          F.page([F.subscriptionResponse])
        )
        yield* s.push.subscriptions.list({ deviceId: "device-1", cursor: "c1", deviceIdentityToken: "dit-1" })
        yield* s.push.subscriptions.list()
        assert.deepStrictEqual(yield* s.push.subscriptions.channels({ limit: 1 }), F.page(["orders"], "c"))
        const [byChannel, byDevice, all, channels] = yield* requests
        const path = "/apps/app-id/push/channelSubscriptions"
        expectSent(byChannel, {
          method: "GET",
          path,
          query: [
            ["channel", "orders#eu"],
            ["limit", "10"]
          ]
        })
        assert.include(byChannel!.rawQuery, "channel=orders%23eu")
        expectSent(byDevice, {
          method: "GET",
          path,
          query: [
            ["deviceId", "device-1"],
            ["cursor", "c1"]
          ],
          headers: { "x-sockudo-push-capability": "push-subscribe", "x-sockudo-device-identity-token": "dit-1" }
        })
        expectSent(all, { method: "GET", path })
        expectSent(channels, { method: "GET", path: `${path}/channels`, query: [["limit", "1"]] })
      }),
    sequence(
      SockudoTest.json(200, F.page([F.subscriptionResponse])),
      SockudoTest.json(200, F.page([F.subscriptionResponse])),
      SockudoTest.json(200, F.page([])),
      SockudoTest.json(200, F.page(["orders"], "c"))
    )
  )

  test(
    "delete by channel or by device and decodes {deleted}",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.subscriptions.delete({ channel: "orders" }), { deleted: 3 })
        yield* s.push.subscriptions.delete({ deviceId: "device-1" }, { deviceIdentityToken: "dit-1" })
        const [byChannel, byDevice] = yield* requests
        const path = "/apps/app-id/push/channelSubscriptions"
        expectSent(byChannel, { method: "DELETE", path, query: [["channel", "orders"]] })
        expectSent(byDevice, {
          method: "DELETE",
          path,
          query: [["deviceId", "device-1"]],
          headers: { "x-sockudo-push-capability": "push-subscribe", "x-sockudo-device-identity-token": "dit-1" }
        })
      }),
    answer(200, { deleted: 3 })
  )
})

describe("push validation: nothing is sent", () => {
  rejects([
    [
      "a subscription without tokenHash",
      (s) => s.push.subscriptions.upsert({ ...F.subscription, tokenHash: "" }),
      "subscription.tokenHash"
    ],
    [
      "a subscription with an unknown provider",
      (s) => s.push.subscriptions.upsert({ ...F.subscription, provider: "webpush" as never }),
      "subscription.provider"
    ],
    [
      "listing subscriptions with a token but no deviceId",
      (s) => s.push.subscriptions.list({ deviceIdentityToken: "dit" }),
      "deviceId"
    ],
    [
      "listing by channel and device at once",
      (s) => s.push.subscriptions.list({ channel: "a", deviceId: "d" }),
      "channel"
    ],
    ["deleting subscriptions without a selector", (s) => s.push.subscriptions.delete({} as never), "channel"],
    [
      "deleting a channel's subscriptions with a device token",
      (s) => s.push.subscriptions.delete({ channel: "a" }, { deviceIdentityToken: "dit" }),
      "deviceId"
    ]
  ])
})
