import { assert, describe, expect } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { everySecond, requests, sequence, withTime } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { admin, answer, decodeSentBody, expectSent, rejects, sent, test } from "./fixtures.ts"

describe("push.devices", () => {
  test(
    "activate POSTs DeviceDetails with the fields the server insists on and decodes the registration",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.devices.activate(F.device)
        const request = yield* sent
        expectSent(request, { method: "POST", path: "/apps/app-id/push/deviceRegistrations", body: F.deviceBody })
        assert.doesNotThrow(() => decodeSentBody(Push.DeviceDetails, request))
        assert.strictEqual(result.change, "inserted")
        assert.strictEqual(result.tokenHash, "hash-1")
        assert.deepStrictEqual(result.device, F.deviceResponse)
        const token = result.deviceIdentityToken
        assert.isTrue(token !== undefined && Redacted.isRedacted(token))
        if (token !== undefined) assert.strictEqual(Redacted.value(token), "dit-AbC_123")
        assert.notInclude(JSON.stringify(result), "dit-AbC_123")
      }),
    answer(201, F.registration)
  )

  test(
    "activate keeps a given push.state and sends the rotation header when asked",
    (s) =>
      Effect.gen(function* () {
        const device: Push.DeviceRegistration = {
          ...F.device,
          push: { recipient: { transportType: "apns", deviceToken: "apns-1" }, state: "FAILED", failureCount: 3 },
          pushRatePolicy: { capacity: 10, refillPerSecond: 1 }
        }
        const result = yield* s.push.devices.activate(device, { rotateDeviceIdentityToken: true })
        expectSent(yield* sent, {
          method: "POST",
          path: "/apps/app-id/push/deviceRegistrations",
          headers: { ...admin, "x-sockudo-rotate-device-identity-token": "true" },
          body: {
            appId: "app-id",
            id: "device-1",
            clientId: "user-1",
            formFactor: "phone",
            platform: "android",
            timezone: "Europe/Paris",
            locale: "fr-FR",
            metadata: { model: "Pixel 9" },
            push: { recipient: { transportType: "apns", deviceToken: "apns-1" }, failureCount: 3, state: "FAILED" },
            pushRatePolicy: { capacity: 10, refillPerSecond: 1 },
            deviceSecret: ""
          }
        })
        assert.strictEqual(result.change, "unchanged")
        assert.isUndefined(result.deviceIdentityToken)
      }),
    answer(201, { change: "unchanged", tokenHash: "hash-2", device: F.deviceResponse })
  )

  test(
    "update uses push-subscribe with the device identity token (string or Redacted)",
    (s) =>
      Effect.gen(function* () {
        yield* s.push.devices.update(F.device, { deviceIdentityToken: "dit-1" })
        yield* s.push.devices.update(F.device, { deviceIdentityToken: Redacted.make("dit-2") })
        const [first, second] = yield* requests
        const subscribe = (token: string) => ({
          "x-sockudo-push-capability": "push-subscribe",
          "x-sockudo-device-identity-token": token
        })
        const path = "/apps/app-id/push/deviceRegistrations"
        expectSent(first, { method: "POST", path, headers: subscribe("dit-1"), body: F.deviceBody })
        expectSent(second, { method: "POST", path, headers: subscribe("dit-2"), body: F.deviceBody })
      }),
    answer(201, { ...F.registration, change: "updated", deviceIdentityToken: undefined })
  )

  test(
    "list, get, delete and removeByClient: paths, queries, capability and responses",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(
          yield* s.push.devices.list({ limit: 1000 }),
          F.page([F.deviceResponse, F.webDeviceResponse], "c2")
        )
        assert.deepStrictEqual(yield* s.push.devices.get("device:1/a b"), F.webDeviceResponse)
        assert.deepStrictEqual(
          yield* s.push.devices.get("device-1", { deviceIdentityToken: "dit-1" }),
          F.deviceResponse
        )
        assert.isUndefined(yield* s.push.devices.delete("device:1/a b"))
        assert.isUndefined(yield* s.push.devices.delete("device-1", { deviceIdentityToken: Redacted.make("dit-1") }))
        assert.deepStrictEqual(yield* s.push.devices.removeByClient("user 1&x"), {
          deleted: 2,
          consistency: "eventual"
        })
        const [list, get, getOwn, del, delOwn, remove] = yield* requests
        const own = { "x-sockudo-push-capability": "push-subscribe", "x-sockudo-device-identity-token": "dit-1" }
        const base = "/apps/app-id/push/deviceRegistrations"
        expectSent(list, { method: "GET", path: base, query: [["limit", "1000"]] })
        expectSent(get, { method: "GET", path: `${base}/device%3A1%2Fa%20b` })
        expectSent(getOwn, { method: "GET", path: `${base}/device-1`, headers: own })
        expectSent(del, { method: "DELETE", path: `${base}/device%3A1%2Fa%20b` })
        expectSent(delOwn, { method: "DELETE", path: `${base}/device-1`, headers: own })
        expectSent(remove, { method: "DELETE", path: base, query: [["clientId", "user 1&x"]] })
        assert.include(remove!.rawQuery, "clientId=user%201%26x")
      }),
    sequence(
      SockudoTest.json(200, F.page([F.deviceResponse, F.webDeviceResponse], "c2")),
      SockudoTest.json(200, F.webDeviceResponse),
      SockudoTest.json(200, F.deviceResponse),
      SockudoTest.text(204, ""),
      SockudoTest.text(204, ""),
      SockudoTest.json(200, { deleted: 2, consistency: "eventual" })
    )
  )

  test(
    "a wrong device token is a SockudoAuthenticationError (401) and is not retried",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(s.push.devices.get("device-1", { deviceIdentityToken: "wrong" }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          expect(exit.cause.reasons[0]).toMatchObject({
            error: { _tag: "SockudoAuthenticationError", status: 401, code: "auth_failed" }
          })
        }
        assert.strictEqual((yield* requests).length, 1)
      }),
    answer(401, F.serverError(401, "auth_failed", "invalid deviceIdentityToken")),
    { retry: everySecond }
  )
})

describe("push validation: nothing is sent", () => {
  const device = (overrides: Record<string, unknown>) => ({ ...F.device, ...overrides }) as Push.DeviceRegistration
  const recipient = (r: unknown) => device({ push: { recipient: r } })
  rejects([
    ["a device without locale", (s) => s.push.devices.activate(device({ locale: undefined })), "device.locale"],
    [
      "an empty device id",
      (s) => s.push.devices.activate(device({ id: "" })),
      "device.id",
      "device.id must not be empty"
    ],
    // The server trims before its emptiness checks: a blank timezone is a 500 there.
    [
      "a blank timezone",
      (s) => s.push.devices.activate(device({ timezone: "   " })),
      "device.timezone",
      "device.timezone must not be empty"
    ],
    [
      "a reserved device id",
      (s) => s.push.devices.activate(device({ id: "__sockudo_client_scope__:u1" })),
      "device.id",
      "device.id must not start with __sockudo_client_scope__:"
    ],
    ["an unknown form factor", (s) => s.push.devices.activate(device({ formFactor: "laptop" })), "device.formFactor"],
    [
      "a plain-http web push endpoint",
      (s) =>
        s.push.devices.activate(
          recipient({ transportType: "web", endpoint: "http://push.example", p256dh: "k", auth: "a" })
        ),
      "device.push.recipient.endpoint",
      "device.push.recipient.endpoint must be an https:// URL"
    ],
    [
      "a WNS channel that is not a URL",
      (s) => s.push.devices.activate(recipient({ transportType: "wns", channelUri: "channel-1" })),
      "device.push.recipient.channelUri"
    ],
    [
      "an empty FCM token",
      (s) => s.push.devices.activate(recipient({ transportType: "gcm", registrationToken: "" })),
      "device.push.recipient.registrationToken"
    ],
    [
      "a device field the server does not read",
      (s) => s.push.devices.activate(device({ deviceId: "device-1" })),
      "device.deviceId",
      "device.deviceId is not a field the server reads"
    ],
    [
      "metadata above 4096 bytes",
      (s) => s.push.devices.activate(device({ metadata: { blob: "x".repeat(4096) } })),
      "device.metadata"
    ],
    [
      "a zero-capacity rate policy",
      (s) => s.push.devices.activate(device({ pushRatePolicy: { capacity: 0, refillPerSecond: 1 } })),
      "device.pushRatePolicy.capacity"
    ],
    [
      "an update without a device token",
      (s) => s.push.devices.update(F.device, {} as never),
      "deviceIdentityToken",
      "deviceIdentityToken is required"
    ],
    ["an empty device token", (s) => s.push.devices.get("d", { deviceIdentityToken: "" }), "deviceIdentityToken"],
    ["an empty device id to get", (s) => s.push.devices.get(""), "deviceId"],
    ["an empty client id", (s) => s.push.devices.removeByClient(""), "clientId"]
  ])
})
