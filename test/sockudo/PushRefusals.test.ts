/**
 * Push refusals the SDK never lets a caller make, sent as raw signed requests to the real server
 * and the emulator: the capability header and the device identity token (missing, not a bearer,
 * another route's capability), list paging out of range, the store's checks (500s), blank
 * secrets and the selectors some routes require.
 */
import * as Redacted from "effect/Redacted"
import { expect } from "vitest"
import { Push } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import { freshPushState, registerWns, useClosedPort } from "./support/push.ts"

const peers = usePeers()
const closed = useClosedPort()

const subscribe = { "x-sockudo-push-capability": "push-subscribe" }
const envelope = (status: number, code: string, error: string) => ({ status, body: { error, code, status } })
const serverError = envelope(500, "internal_error", "Internal server error")

differential(peers, "push refusals: capabilities and device identity tokens", async (s) => {
  await freshPushState(s.peer)
  const { device, registration } = await registerWns(s, closed(), "desk")
  const token = Redacted.value(registration.deviceIdentityToken!)
  const path = `/push/deviceRegistrations/${device.id}`
  expect(await s.sdk.raw("GET", "/push/templates", { headers: subscribe })).toEqual(
    envelope(403, "forbidden", "push-admin capability is required")
  )
  expect(await s.sdk.raw("GET", "/push/templates", { headers: { "x-sockudo-push-capability": "root" } })).toEqual(
    envelope(403, "forbidden", "unknown push capability requested")
  )
  expect(
    await s.sdk.raw("POST", "/push/publish", {
      headers: subscribe,
      body: JSON.stringify({ recipients: [{ type: "registeredTopic", topic: "t" }], payload: {} })
    })
  ).toEqual(envelope(403, "forbidden", "push-admin capability is required"))

  // Without a token, a device cannot act for itself; the token may come as a bearer.
  expect(await s.sdk.raw("GET", path, { headers: subscribe })).toEqual(
    envelope(401, "auth_failed", "deviceIdentityToken is required")
  )
  expect(await s.sdk.raw("GET", path, { headers: { ...subscribe, authorization: `Basic ${token}` } })).toEqual(
    envelope(401, "auth_failed", "deviceIdentityToken bearer auth is required")
  )
  expect(await s.sdk.raw("GET", path, { headers: { ...subscribe, authorization: `Bearer ${token}` } })).toMatchObject({
    status: 200,
    body: { id: device.id }
  })
  expect(await s.sdk.raw("DELETE", path, { headers: subscribe })).toEqual(
    envelope(401, "auth_failed", "deviceIdentityToken is required")
  )
  expect(await s.sdk.run((sdk) => sdk.push.devices.get(device.id))).toMatchObject({ id: device.id })
  // A device lists and removes only its own subscriptions.
  expect(await s.sdk.raw("GET", "/push/channelSubscriptions", { headers: subscribe })).toEqual(
    envelope(403, "forbidden", "push-subscribe can only list its own device subscriptions")
  )
  expect(await s.sdk.raw("DELETE", "/push/channelSubscriptions", { headers: subscribe })).toEqual(
    envelope(403, "forbidden", "push-subscribe can only remove its own device subscriptions")
  )
})

differential(peers, "push refusals: paging, selectors, the store's checks and blank secrets", async (s) => {
  await freshPushState(s.peer)
  const cursor = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
  expect(await s.sdk.raw("GET", "/push/templates", { query: { limit: 0 } })).toEqual(
    envelope(400, "invalid_input", "limit must be between 1 and 1000")
  )
  expect(await s.sdk.raw("GET", "/push/deviceRegistrations", { query: { limit: 1001 } })).toEqual(
    envelope(400, "invalid_input", "limit must be between 1 and 1000")
  )
  expect(await s.sdk.raw("GET", "/push/templates", { query: { limit: "ten" } })).toEqual({
    status: 400,
    body: "Failed to deserialize query string: limit: invalid digit found in string"
  })
  expect(await s.sdk.raw("GET", "/push/credentials", { query: { cursor: "not-a-cursor" } })).toEqual(
    envelope(400, "invalid_input", "cursor decode failed")
  )
  const otherApp = cursor({ appId: "off-app", kind: "template", position: "a", issuedAtMs: 1 })
  expect(await s.sdk.raw("GET", "/push/templates", { query: { cursor: otherApp } })).toEqual(
    envelope(400, "invalid_input", "cursor belongs to app off-app, expected test-app")
  )
  // Another list's cursor is a backend error of the dead-letter queue.
  const templates = cursor({ appId: "test-app", kind: "template", position: "a", issuedAtMs: 1 })
  expect(await s.sdk.raw("GET", "/push/deadLetters", { query: { cursor: templates } })).toEqual(serverError)
  expect(await s.sdk.raw("GET", "/push/deadLetters", { query: { sinceMs: 2, untilMs: 1 } })).toEqual(
    envelope(400, "invalid_input", "sinceMs must be less than or equal to untilMs")
  )
  expect(await s.sdk.raw("GET", "/push/deadLetters", { query: { provider: "pigeon" } })).toEqual(
    envelope(400, "invalid_input", "provider must be one of fcm, apns, webpush, hms, or wns")
  )
  expect(await s.sdk.raw("DELETE", "/push/deviceRegistrations")).toEqual(
    envelope(400, "invalid_input", "removeWhere requires clientId")
  )
  expect(await s.sdk.raw("DELETE", "/push/channelSubscriptions")).toEqual(
    envelope(400, "invalid_input", "delete requires channel or deviceId")
  )

  // The store checks after trimming: blank values are 500s, and nothing is stored.
  const id = s.name("blank")
  const device = {
    appId: "ignored",
    id,
    formFactor: "phone",
    platform: "ios",
    deviceSecret: "",
    timezone: "  ",
    locale: "pl-PL",
    push: { recipient: { transportType: "apns", deviceToken: "token" }, state: "ACTIVE" }
  }
  expect(await s.sdk.raw("POST", "/push/deviceRegistrations", { body: JSON.stringify(device) })).toEqual(serverError)
  expect(await s.sdk.raw("GET", `/push/deviceRegistrations/${id}`)).toMatchObject({ status: 404 })
  const subscription = { appId: "x", channel: " ", deviceId: id, provider: "apns", tokenHash: "h" }
  expect(await s.sdk.raw("POST", "/push/channelSubscriptions", { body: JSON.stringify(subscription) })).toEqual(
    serverError
  )
  const template = { appId: "x", templateId: id, defaultLocale: "en", locales: { en: { title: " ", body: "b" } } }
  expect(await s.sdk.raw("POST", "/push/templates", { body: JSON.stringify(template) })).toEqual(serverError)
  expect(await s.sdk.raw("GET", `/push/templates/${id}`)).toMatchObject({ status: 404 })
  // Credentials (under ids of their own: they cannot be deleted, nor listed here, as the server
  // keeps those of earlier runs): a blank secret is a 400.
  const credential = (provider: string, body: object) =>
    s.sdk.raw("POST", `/push/credentials/${provider}`, { body: JSON.stringify(body) })
  expect(await credential("hms", { credentialId: "refused-hms", hmsAppId: "a", clientSecret: " " })).toEqual(
    envelope(400, "invalid_input", "secret must not be empty")
  )
  expect(await credential("hms", { credentialId: "refused-hms", hmsAppId: " ", clientSecret: "s" })).toEqual(
    serverError
  )
  expect(await credential("apns", { credentialId: "refused-apns", teamId: "T", keyId: "K" })).toEqual(serverError)
  expect(
    await credential("wns", { credentialId: "refused-wns", packageSid: "p", clientSecret: "s", version: 0 })
  ).toEqual(serverError)
})

differential(
  peers,
  "push refusals: a provider target whose provider has no worker is not admitted (503)",
  async (s) => {
    // This server runs WNS only: a target naming FCM cannot be delivered, and is refused up front.
    const error = await s.sdk.fail((sdk) =>
      sdk.push.publish({
        publishId: s.name("fcm-topic"),
        recipients: [Push.target.providerTopic("fcm", "news")],
        payload: { title: "News" }
      })
    )
    expect(error).toMatchObject({ _tag: "SockudoServerError", status: 503, code: "service_unavailable" })
  }
)
