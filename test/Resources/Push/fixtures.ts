/**
 * What the push tests share: request inputs and server answers shaped as the server reference
 * (section 3.12) describes them, with the same field names and casing, and the helpers that run a
 * call against the mock server and check what it sent.
 */
import { assert, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import type { SockudoConfig } from "../../../src/index.ts"
import type * as Push from "../../../src/Resources/Push.ts"
import type { Sockudo } from "../../../src/Sockudo.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { layer, requests, sockudo } from "../../support/harness.ts"
import * as Server from "../../support/serverVerifier.ts"

export const now = 1_700_000_000_000
const app: Server.App = { id: "app-id", key: "app-key", secret: "app-secret" }
export const admin = { "x-sockudo-push-capability": "push-admin" }
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

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
export const expectSent = (request: SockudoTest.RecordedRequest | undefined, expected: Expected) => {
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

/** The first request the mock server recorded. */
export const sent = Effect.map(requests, (all) => all[0])

/** A test against the mock server answering `reply` to everything, at a fixed time. */
export const test = (
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

/** A reply of `status` with `body` as JSON (an empty text body when `body` is omitted). */
export const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) =>
  body === undefined ? () => SockudoTest.text(status, "", headers) : () => SockudoTest.json(status, body, headers)

/** Decodes a recorded request's JSON body with `schema`, refusing fields it does not declare. */
export const decodeSentBody = <S extends Schema.Decoder<unknown>>(
  schema: S,
  request: SockudoTest.RecordedRequest | undefined
) => Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(request?.json)

/** A call the SDK must refuse: what it is, the call, the field named, and the exact message when it matters. */
export type Rejection = readonly [string, (s: Sockudo["Service"]) => Effect.Effect<unknown, unknown>, string, string?]

/** One test per case: the call fails with a SockudoValidationError naming `field`, and nothing is sent. */
export const rejects = (cases: ReadonlyArray<Rejection>) => {
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
}

export const device: Push.DeviceRegistration = {
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  metadata: { model: "Pixel 9" },
  push: { recipient: { transportType: "gcm", registrationToken: "fcm-token-1" } }
}

/** The DeviceDetails body the SDK sends for {@link device}. */
export const deviceBody = {
  appId: "app-id",
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  metadata: { model: "Pixel 9" },
  push: { recipient: { transportType: "gcm", registrationToken: "fcm-token-1" }, state: "ACTIVE" },
  deviceSecret: ""
}

export const deviceResponse: Push.PushDevice = {
  appId: "app-id",
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  lastActiveAtMs: 0,
  pushState: "ACTIVE",
  pushFailureCount: 0,
  recipient: { transportType: "gcm", provider: "fcm", tokenHash: "hash-1" }
}

export const webDeviceResponse: Push.PushDevice = {
  ...deviceResponse,
  id: "browser-7",
  clientId: null,
  formFactor: "desktop",
  platform: "browser",
  pushState: "FAILING",
  pushFailureCount: 2,
  recipient: { transportType: "web", provider: "webPush", tokenHash: "hash-7" }
}

export const registration = {
  change: "inserted",
  tokenHash: "hash-1",
  device: deviceResponse,
  deviceIdentityToken: "dit-AbC_123"
}

export const template: Push.NewTemplate = {
  templateId: "order-shipped",
  defaultLocale: "en",
  locales: {
    en: { title: "Order shipped", body: "{{order}} is on its way" },
    "fr-FR": { title: "Commande expédiée", body: "{{order}} est en route", sound: "default", collapseKey: "orders" }
  },
  providerOverrides: { apns: { provider: "apns", payload: { aps: { "thread-id": "orders" } } } }
}

export const templateResponse: Push.NotificationTemplate = { appId: "app-id", ...template }

export const subscription: Push.NewChannelSubscription = {
  channel: "orders",
  deviceId: "device-1",
  clientId: "user-1",
  provider: "fcm",
  tokenHash: "hash-1"
}

export const subscriptionResponse: Push.ChannelSubscription = { appId: "app-id", ...subscription }

export const credential: Push.PushCredential = {
  app_id: "app-id",
  credential_id: "webpush",
  provider: "webPush",
  version: 1
}

export const accepted: Push.PublishAccepted = {
  publishId: "pub-1",
  status: "accepted",
  expectedRecipients: 2,
  fanoutRegime: "fastPath",
  renderedPayloads: [
    { provider: "fcm", payload: { notification: { title: "Order shipped" } }, usedOverride: false },
    { provider: "apns", payload: { aps: { alert: { title: "Order shipped" } } }, usedOverride: true }
  ]
}

export const status: Push.PublishStatus = {
  appId: "app-id",
  publishId: "pub-1",
  state: "partiallySucceeded",
  counters: {
    planned: 3,
    dispatched: 3,
    succeeded: 2,
    failed: 1,
    expired: 0,
    retryScheduled: 1,
    retryAttempted: 1,
    deadLettered: 0
  },
  fanoutRegime: "fastPath",
  retryAfterMs: null,
  errorReason: null
}

export const deadLetter: Push.DeadLetter = {
  deadLetterId: "dl-1",
  appId: "app-id",
  publishId: "pub-1",
  provider: "apns",
  stage: "dispatch",
  key: "pub-1:device-1",
  reason: "BadDeviceToken",
  occurredAtMs: 1_700_000_000_000,
  replayable: true
}

/** A status with none of the optional fields. */
export const queuedStatus: Push.PublishStatus = {
  appId: "app-id",
  publishId: "pub-2",
  state: "queued",
  counters: { ...status.counters, dispatched: 0, succeeded: 0, failed: 0, retryScheduled: 0, retryAttempted: 0 }
}

/** A dead letter recorded before a provider was known. */
export const stageDeadLetter: Push.DeadLetter = {
  deadLetterId: "dl-2",
  appId: "app-id",
  publishId: "pub-2",
  stage: "planning",
  key: "pub-2",
  reason: "template missing",
  occurredAtMs: 1_700_000_000_500,
  replayable: false
}

export const page = <A>(items: ReadonlyArray<A>, next_cursor: string | null = null) => ({
  items,
  next_cursor,
  has_more: next_cursor !== null
})

export const serverError = (status: number, code: string, error: string) => ({ error, code, status })
