import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import { SockudoConfig } from "../../src/index.ts"
import * as Push from "../../src/Resources/Push.ts"
import type { Sockudo } from "../../src/Sockudo.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import * as Server from "../support/serverVerifier.ts"
import * as F from "./push-fixtures.ts"

const now = 1_700_000_000_000
const app: Server.App = { id: "app-id", key: "app-key", secret: "app-secret" }
const admin = { "x-sockudo-push-capability": "push-admin" }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

interface Expected {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  /** The request's own query parameters (not the auth ones), decoded, in order. */
  readonly query?: ReadonlyArray<readonly [string, string]>
  /** Every `x-sockudo-*` header. */
  readonly headers?: Readonly<Record<string, string>>
  /** The exact body, as the JSON of this value (POST only; `""` when omitted). */
  readonly body?: unknown
}

/** Asserts one recorded request exactly, and that the server's signature check accepts it. */
const expectSent = (request: SockudoTest.RecordedRequest | undefined, expected: Expected) => {
  assert.isDefined(request)
  if (request === undefined) return
  assert.strictEqual(request.method, expected.method)
  assert.strictEqual(request.path, expected.path)
  assert.deepStrictEqual(
    [...request.query.entries()].filter(([k]) => !k.startsWith("auth_") && k !== "body_md5"),
    (expected.query ?? []).map(([k, v]) => [k, v])
  )
  assert.deepStrictEqual(
    Object.fromEntries(Object.entries(request.headers).filter(([k]) => k.startsWith("x-sockudo-"))),
    expected.headers ?? admin
  )
  assert.strictEqual(request.body, expected.body === undefined ? "" : JSON.stringify(expected.body))
  if (expected.body !== undefined) assert.strictEqual(request.headers["content-type"], "application/json")
  assert.deepStrictEqual(
    Server.verifyRequest(
      { method: request.method, path: request.path, query: request.rawQuery, body: request.body },
      [app],
      now / 1000
    ),
    { ok: true }
  )
}

const sent = Effect.map(requests, (all) => all[0])

/** A test against the mock server answering `reply` to everything, at a fixed time. */
const test = (
  name: string,
  body: (s: Sockudo["Service"]) => Effect.Effect<void, unknown, SockudoTest.RequestRecorder>,
  reply: SockudoTest.Handler = () => SockudoTest.json(200, {}),
  config?: Partial<SockudoConfig.Options>
) =>
  it.effect(name, () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      yield* body(yield* sockudo)
    }).pipe(Effect.provide(layer(reply, config)))
  )

const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
  body === undefined ? () => SockudoTest.text(status, "", headers) : () => SockudoTest.json(status, body, headers)

const decodeSentBody = <S extends Schema.Decoder<unknown>>(
  schema: S,
  request: SockudoTest.RecordedRequest | undefined
) => Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(request?.json)

describe("push.credentials", () => {
  test(
    "put POSTs each provider's body to its route (webPush to /webpush), without the provider tag",
    (s) =>
      Effect.gen(function* () {
        const credentials: ReadonlyArray<readonly [Push.NewCredential, string, unknown]> = [
          [
            { provider: "fcm", serviceAccountJson: { project_id: "p" } },
            "fcm",
            { serviceAccountJson: { project_id: "p" } }
          ],
          [
            { provider: "apns", credentialId: "apns-prod", version: 2, teamId: "T", keyId: "K", privateKey: "pk" },
            "apns",
            { credentialId: "apns-prod", version: 2, teamId: "T", keyId: "K", privateKey: "pk" }
          ],
          [
            { provider: "webPush", publicKey: "pub", privateKey: "priv" },
            "webpush",
            { publicKey: "pub", privateKey: "priv" }
          ],
          [{ provider: "hms", hmsAppId: "h", clientSecret: "c" }, "hms", { hmsAppId: "h", clientSecret: "c" }],
          [
            { provider: "wns", packageSid: "ms-app://s", clientSecret: "c" },
            "wns",
            { packageSid: "ms-app://s", clientSecret: "c" }
          ]
        ]
        for (const [credential] of credentials) {
          assert.deepStrictEqual(yield* s.push.credentials.put(credential), F.credential)
        }
        const all = yield* requests
        for (const [i, [, route, body]] of credentials.entries()) {
          expectSent(all[i], { method: "POST", path: `/apps/app-id/push/credentials/${route}`, body })
        }
      }),
    answer(201, F.credential)
  )

  test(
    "put accepts APNs p12 or pem material and refuses none",
    (s) =>
      Effect.gen(function* () {
        yield* s.push.credentials.put({ provider: "apns", p12: "base64", p12Password: "" })
        yield* s.push.credentials.put({ provider: "apns", pem: "-----BEGIN" })
        const error = yield* Effect.flip(s.push.credentials.put({ provider: "apns", teamId: "T", keyId: "K" }))
        expect(error).toMatchObject({
          _tag: "SockudoValidationError",
          operation: "push.credentials.put",
          field: "credential",
          message: "credential must give p12, pem, or teamId + keyId + privateKey"
        })
        assert.strictEqual((yield* requests).length, 2)
      }),
    answer(201, { ...F.credential, provider: "apns", credential_id: "apns" })
  )

  test(
    "list GETs /push/credentials with limit and cursor and decodes the snake_case envelope",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.credentials.list({ limit: 2, cursor: "opaque+/=" })
        expectSent(yield* sent, {
          method: "GET",
          path: "/apps/app-id/push/credentials",
          query: [
            ["limit", "2"],
            ["cursor", "opaque+/="]
          ]
        })
        assert.deepStrictEqual(result, F.page([F.credential], "next-1"))
      }),
    answer(200, F.page([F.credential], "next-1"))
  )
})

describe("push.templates", () => {
  test(
    "create POSTs the template with appId and decodes the 201 echo",
    (s) =>
      Effect.gen(function* () {
        const created = yield* s.push.templates.create(F.template)
        const request = yield* sent
        expectSent(request, { method: "POST", path: "/apps/app-id/push/templates", body: F.templateResponse })
        assert.doesNotThrow(() => decodeSentBody(Push.NotificationTemplate, request))
        assert.deepStrictEqual(created, F.templateResponse)
      }),
    answer(201, F.templateResponse)
  )

  test(
    "list, get and delete use the percent-encoded template id",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.templates.list(), F.page([F.templateResponse]))
        assert.deepStrictEqual(yield* s.push.templates.get("promo/spring sale#1"), F.templateResponse)
        assert.isUndefined(yield* s.push.templates.delete("promo/spring sale#1"))
        const [list, get, del] = yield* requests
        expectSent(list, { method: "GET", path: "/apps/app-id/push/templates" })
        expectSent(get, { method: "GET", path: "/apps/app-id/push/templates/promo%2Fspring%20sale%231" })
        expectSent(del, { method: "DELETE", path: "/apps/app-id/push/templates/promo%2Fspring%20sale%231" })
      }),
    sequence(
      SockudoTest.json(200, F.page([F.templateResponse])),
      SockudoTest.json(200, F.templateResponse),
      SockudoTest.text(204, "")
    )
  )

  test(
    "an unknown template is a SockudoNotFoundError with the server's code",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.templates.get("nope"))
        expect(error).toMatchObject({ _tag: "SockudoNotFoundError", code: "not_found", message: "template not found" })
      }),
    answer(404, F.serverError(404, "not_found", "template not found"))
  )
})

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
    "a response outside the server's contract is a SockudoDecodeError",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.status("pub-1"))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "push.status", status: 200 })
      }),
    answer(200, { ...F.status, state: "partially_succeeded" })
  )
})

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
      error: { class: "permanent", failureClass: "invalidToken", reason: "BadDeviceToken" },
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
      error: { class: "permanent", failureClass: "invalidToken", reason: "BadDeviceToken" },
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

const unavailable = (retryAfter = "5") =>
  SockudoTest.json(503, F.serverError(503, "service_unavailable", "push queue unavailable"), {
    "retry-after": retryAfter
  })

describe("push retries", () => {
  test(
    "a publish with a publishId is retried after a 503, waiting for Retry-After, with the same bytes",
    (s) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(
          s.push.publish({ publishId: "pub-1", recipients: [Push.target.device("d")], payload: { title: "t" } })
        )
        yield* TestClock.adjust("4999 millis")
        assert.strictEqual((yield* requests).length, 1)
        yield* TestClock.adjust("1 millis")
        assert.strictEqual((yield* requests).length, 2)
        assert.deepStrictEqual(yield* Fiber.join(fiber), F.accepted)
        const all = yield* requests
        assert.strictEqual(all[0]!.body, all[1]!.body)
        assert.notStrictEqual(all[0]!.query.get("auth_timestamp"), all[1]!.query.get("auth_timestamp"))
      }),
    sequence(unavailable(), SockudoTest.json(202, F.accepted)),
    { retry: everySecond }
  )

  test(
    "a generated publishId stays the same on every retry and on a caller's Effect.retry; a new call gets a new one",
    (s) =>
      Effect.gen(function* () {
        const publish = s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const exit = yield* withTime(publish)
        assert.isTrue(Exit.isSuccess(exit))
        yield* publish
        yield* s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const ids = (yield* requests).map((r) => (r.json as { publishId: string }).publishId)
        assert.strictEqual(ids.length, 5)
        assert.strictEqual(new Set(ids.slice(0, 4)).size, 1)
        assert.notStrictEqual(ids[4], ids[0])
      }),
    sequence(unavailable("1"), unavailable("1"), SockudoTest.json(202, F.accepted)),
    { retry: everySecond }
  )

  test(
    "without a publishId (autoIdempotency off) a 503 is not retried, but a 429 is",
    (s) =>
      Effect.gen(function* () {
        const publish = () => s.push.publish({ recipients: [Push.target.device("d")], payload: { title: "t" } })
        const first = yield* withTime(publish())
        assert.isTrue(Exit.isFailure(first))
        if (Exit.isFailure(first)) {
          expect(first.cause.reasons[0]).toMatchObject({
            error: { _tag: "SockudoServerError", code: "service_unavailable", retryAfterMillis: 5000 }
          })
        }
        assert.strictEqual((yield* requests).length, 1)
        assert.notProperty((yield* requests)[0]!.json, "publishId")
        const second = yield* withTime(publish())
        assert.isTrue(Exit.isSuccess(second))
        assert.strictEqual((yield* requests).length, 3)
      }),
    sequence(
      unavailable(),
      SockudoTest.json(429, F.serverError(429, "rate_limited", "push.acceptance_rate_limit exceeded"), {
        "retry-after": "2"
      }),
      SockudoTest.json(202, F.accepted)
    ),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "a batch whose items all carry publishIds is retried with the same body",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.publishBatch([
            { recipients: [Push.target.client("u1")], payload: { title: "1" } },
            { recipients: [Push.target.client("u2")], payload: { title: "2" } }
          ])
        )
        assert.isTrue(Exit.isSuccess(exit))
        const all = yield* requests
        assert.strictEqual(all.length, 2)
        assert.strictEqual(all[0]!.body, all[1]!.body)
      }),
    sequence(unavailable("1"), SockudoTest.json(202, { items: [F.accepted, F.accepted] })),
    { retry: everySecond }
  )

  test(
    "a batch with an item lacking a publishId is not retried after a 503",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.publishBatch([
            { publishId: "a", recipients: [Push.target.client("u1")], payload: { title: "1" } },
            { recipients: [Push.target.client("u2")], payload: { title: "2" } }
          ])
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual((yield* requests).length, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "a delivery report's generated eventId is kept across retries",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(
          s.push.deliveryStatus({
            publishId: "pub-1",
            occurredAtMs: now,
            result: { provider: "fcm", batchId: "b", outcome: "accepted", providerMessageId: "m", attempt: 0 }
          })
        )
        assert.isTrue(Exit.isFailure(exit))
        const ids = (yield* requests).map((r) => (r.json as { eventId: string }).eventId)
        assert.strictEqual(ids.length, 4)
        assert.match(ids[0]!, UUID)
        assert.strictEqual(new Set(ids).size, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond, autoIdempotency: false }
  )

  test(
    "activate is not retried after a 503 (a retry would lose a new device's token), unless it rotates",
    (s) =>
      Effect.gen(function* () {
        assert.isTrue(Exit.isFailure(yield* withTime(s.push.devices.activate(F.device))))
        assert.strictEqual((yield* requests).length, 1)
        const rotated = yield* withTime(s.push.devices.activate(F.device, { rotateDeviceIdentityToken: true }))
        assert.isTrue(Exit.isSuccess(rotated))
        assert.strictEqual((yield* requests).length, 3)
      }),
    sequence(unavailable("1"), unavailable("1"), SockudoTest.json(201, F.registration)),
    { retry: everySecond }
  )

  test(
    "a dead-letter replay is not retried after a 503",
    (s) =>
      Effect.gen(function* () {
        assert.isTrue(Exit.isFailure(yield* withTime(s.push.deadLetters.replay("dl-1"))))
        assert.strictEqual((yield* requests).length, 1)
      }),
    () => unavailable("1"),
    { retry: everySecond }
  )

  test(
    "upserts, deletes and reads are retried after a 503",
    (s) =>
      Effect.gen(function* () {
        const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
          s.push.templates.create(F.template),
          s.push.subscriptions.upsert(F.subscription),
          s.push.devices.update(F.device, { deviceIdentityToken: "dit" }),
          s.push.devices.delete("device-1"),
          s.push.cancelScheduled("pub-1"),
          s.push.credentials.put({ provider: "hms", hmsAppId: "h", clientSecret: "c" }),
          s.push.status("pub-1")
        ]
        for (const call of calls) {
          const exit = yield* withTime(call)
          assert.isTrue(Exit.isFailure(exit))
        }
        assert.strictEqual((yield* requests).length, calls.length * 4)
      }),
    () => unavailable("1"),
    { retry: everySecond }
  )

  test(
    "403 forbidden is a SockudoAuthenticationError, never retried",
    (s) =>
      Effect.gen(function* () {
        const exit = yield* withTime(s.push.publish({ recipients: [Push.target.device("d")], payload: {} }))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          expect(exit.cause.reasons[0]).toMatchObject({
            error: {
              _tag: "SockudoAuthenticationError",
              status: 403,
              code: "forbidden",
              message: "push-admin capability is required"
            }
          })
        }
        assert.strictEqual((yield* requests).length, 1)
      }),
    answer(403, F.serverError(403, "forbidden", "push-admin capability is required")),
    { retry: everySecond }
  )

  test(
    "429 rate_limited carries Retry-After as retryAfter",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.publish({ recipients: [Push.target.device("d")], payload: {} }))
        expect(error).toMatchObject({ _tag: "SockudoRateLimitError", code: "rate_limited", retryAfterMillis: 5000 })
        assert.isTrue(error.isRetryable)
      }),
    answer(429, F.serverError(429, "rate_limited", "push pipeline is applying backpressure"), { "retry-after": "5" }),
    { retry: SockudoConfig.noRetries }
  )
})

describe("push validation: nothing is sent", () => {
  const publish = (overrides: Record<string, unknown>) =>
    ({ recipients: [Push.target.device("d")], payload: { title: "t" }, ...overrides }) as Push.PublishRequest
  const device = (overrides: Record<string, unknown>) => ({ ...F.device, ...overrides }) as Push.DeviceRegistration
  const recipient = (r: unknown) => device({ push: { recipient: r } })
  const cases: ReadonlyArray<
    readonly [string, (s: Sockudo["Service"]) => Effect.Effect<unknown, unknown>, string, string?]
  > = [
    ["a device without locale", (s) => s.push.devices.activate(device({ locale: undefined })), "device.locale"],
    [
      "an empty device id",
      (s) => s.push.devices.activate(device({ id: "" })),
      "device.id",
      "device.id must not be empty"
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
    ["an empty client id", (s) => s.push.devices.removeByClient(""), "clientId"],
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
    ],
    [
      "a template whose default locale has no content",
      (s) => s.push.templates.create({ ...F.template, defaultLocale: "de" }),
      "template.defaultLocale",
      "template.defaultLocale must be one of locales"
    ],
    [
      "a template locale without a title",
      (s) => s.push.templates.create({ ...F.template, locales: { en: { title: "", body: "b" } } }),
      "template.locales.en.title"
    ],
    ["an empty template id", (s) => s.push.templates.get(""), "templateId"],
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
    ["an empty publishId to cancel", (s) => s.push.cancelScheduled(""), "publishId"],
    ["a limit of 0", (s) => s.push.devices.list({ limit: 0 }), "limit", "limit must be an integer from 1 to 1000"],
    ["a limit of 1001", (s) => s.push.templates.list({ limit: 1001 }), "limit"],
    ["a fractional limit", (s) => s.push.credentials.list({ limit: 1.5 }), "limit"],
    ["an empty cursor", (s) => s.push.subscriptions.channels({ cursor: "" }), "cursor"],
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
      "a credential for an unknown provider",
      (s) => s.push.credentials.put({ provider: "realtime" } as never),
      "credential"
    ]
  ]
  for (const [what, call, field, message] of cases) {
    it.effect(`rejects ${what} (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(call(s))
        expect(error).toMatchObject({ _tag: "SockudoValidationError", field })
        if (message !== undefined) expect(error).toMatchObject({ message })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }
})
