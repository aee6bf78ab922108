/**
 * The push store against the server reference, section 3.12: capabilities, list paging, the
 * push extractor's JSON 400s, store-level 500s, identity tokens and publish dedupe.
 */
import { describe, expect, it } from "@effect/vitest"
import { makePushStore } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp } from "./support.ts"

const device = {
  appId: "ignored",
  id: "d-1",
  clientId: "c-1",
  formFactor: "phone",
  platform: "ios",
  deviceSecret: "",
  timezone: "UTC",
  locale: "en",
  push: { recipient: { transportType: "apns", deviceToken: "tok" }, state: "ACTIVE" }
}

const setup = () => {
  const fake = fakeApp()
  const stores = [makePushStore({ newId: counterIds("id") })]
  const send = (
    method: "GET" | "POST" | "DELETE",
    target: string,
    options: { body?: unknown; headers?: Record<string, string>; nowMs?: number } = {}
  ) => call(stores, fake.app, method, `/push${target}`, options)
  return { ...fake, send }
}

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })
const subscribe = (token?: string) => ({
  "x-sockudo-push-capability": "push-subscribe",
  ...(token === undefined ? {} : { "x-sockudo-device-identity-token": token })
})

describe("push store", () => {
  it("registers a device: 201 with change, tokenHash, the DeviceResponse and a one-time identity token", () => {
    const p = setup()
    const first = p.send("POST", "/deviceRegistrations", { body: device })
    expect(first).toMatchObject({ status: 201 })
    const answer = body(first)
    expect(answer).toEqual({
      change: "inserted",
      tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      device: {
        appId: "app-id",
        id: "d-1",
        clientId: "c-1",
        formFactor: "phone",
        platform: "ios",
        timezone: "UTC",
        locale: "en",
        lastActiveAtMs: 0,
        pushState: "ACTIVE",
        pushFailureCount: 0,
        recipient: { transportType: "apns", provider: "apns", tokenHash: answer.tokenHash }
      },
      deviceIdentityToken: expect.any(String)
    })
    expect(body(p.send("POST", "/deviceRegistrations", { body: device }))).not.toHaveProperty("deviceIdentityToken")
    const rotated = body(
      p.send("POST", "/deviceRegistrations", {
        body: device,
        headers: { "x-sockudo-rotate-device-identity-token": "yes" }
      })
    )
    expect(rotated.deviceIdentityToken).not.toBe(answer.deviceIdentityToken)
    // A new token is a change of the registration, even with the same details.
    expect(rotated.change).toBe("updated")
    expect(p.send("GET", "/deviceRegistrations/d-1", { headers: subscribe(answer.deviceIdentityToken) })).toMatchObject(
      {
        status: 401,
        json: { code: "auth_failed" }
      }
    )
    expect(
      p.send("GET", "/deviceRegistrations/d-1", { headers: subscribe(rotated.deviceIdentityToken) })
    ).toMatchObject({
      status: 200
    })
    expect(
      body(
        p.send("POST", "/deviceRegistrations", {
          body: { ...device, locale: "fr" },
          headers: subscribe(rotated.deviceIdentityToken)
        })
      )
    ).toMatchObject({ change: "updated" })
  })

  it("DeviceDetails: missing required fields are JSON 400s; store-level violations are 500s", () => {
    const p = setup()
    const { deviceSecret: _, ...noSecret } = device
    expect(p.send("POST", "/deviceRegistrations", { body: noSecret })).toEqual(
      envelope(400, "invalid_input", "invalid JSON body: missing field `deviceSecret`")
    )
    expect(
      p.send("POST", "/deviceRegistrations", { body: { ...device, push: { recipient: device.push.recipient } } })
    ).toMatchObject({
      status: 400
    })
    expect(p.send("POST", "/deviceRegistrations", { body: { ...device, formFactor: "fridge" } })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^invalid JSON body: unknown variant `fridge`/) }
    })
    const server = envelope(500, "internal_error", "Internal server error")
    expect(p.send("POST", "/deviceRegistrations", { body: { ...device, id: "" } })).toEqual(server)
    // The store trims before its emptiness checks.
    expect(p.send("POST", "/deviceRegistrations", { body: { ...device, timezone: "  " } })).toEqual(server)
    expect(p.send("POST", "/deviceRegistrations", { body: { ...device, id: "__sockudo_client_scope__:x" } })).toEqual(
      server
    )
    const web = { transportType: "web", endpoint: "http://insecure", p256dh: "k", auth: "a" }
    expect(
      p.send("POST", "/deviceRegistrations", { body: { ...device, push: { recipient: web, state: "ACTIVE" } } })
    ).toEqual(server)
    expect(
      p.send("POST", "/deviceRegistrations", { headers: subscribe("t"), body: { ...device, id: "new" } })
    ).toMatchObject({
      status: 403
    })
  })

  it("capabilities: push-subscribe is refused on admin routes, other values are 403", () => {
    const p = setup()
    expect(p.send("GET", "/templates", { headers: subscribe() })).toEqual(
      envelope(403, "forbidden", "push-admin capability is required")
    )
    expect(p.send("GET", "/templates", { headers: { "x-sockudo-push-capability": "root" } })).toMatchObject({
      status: 403
    })
    expect(p.send("GET", "/channelSubscriptions", { headers: subscribe("t") })).toEqual(
      envelope(403, "forbidden", "push-subscribe can only list its own device subscriptions")
    )
    expect(p.send("GET", "/templates", { headers: { "x-sockudo-push-capability": "root" } })).toEqual(
      envelope(403, "forbidden", "unknown push capability requested")
    )
  })

  it("lists page with limit 1..=1000 (never clamped) and an app-scoped opaque cursor", () => {
    const p = setup()
    for (const id of ["b", "a", "c"]) {
      p.send("POST", "/templates", {
        body: { appId: "x", templateId: id, defaultLocale: "en", locales: { en: { title: "t", body: "b" } } }
      })
    }
    const first = body(p.send("GET", "/templates?limit=2"))
    expect(first.items.map((t: { templateId: string }) => t.templateId)).toEqual(["a", "b"])
    expect(first).toMatchObject({ has_more: true, next_cursor: expect.any(String) })
    const rest = body(p.send("GET", `/templates?limit=2&cursor=${first.next_cursor}`))
    expect(rest).toMatchObject({ has_more: false, next_cursor: null, items: [{ templateId: "c", appId: "app-id" }] })
    expect(p.send("GET", "/templates?limit=0")).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(p.send("GET", "/templates?limit=1001")).toMatchObject({ status: 400 })
    expect(p.send("GET", "/templates?cursor=zzz")).toEqual(envelope(400, "invalid_input", "cursor decode failed"))
    expect(p.send("GET", "/templates?limit=ten")).toEqual({
      status: 400,
      text: "Failed to deserialize query string: limit: invalid digit found in string"
    })
    // The dead-letter queue takes only its own cursors; another list's is a backend error.
    expect(p.send("GET", `/deadLetters?cursor=${first.next_cursor}`)).toEqual(
      envelope(500, "internal_error", "Internal server error")
    )
    expect(p.send("GET", "/templates/missing")).toMatchObject({ status: 404, json: { code: "not_found" } })
    expect(p.send("DELETE", "/templates/a")).toEqual({ status: 204, json: undefined })
  })

  it("deletes by selector: removeWhere needs clientId, subscriptions need channel or deviceId", () => {
    const p = setup()
    expect(p.send("DELETE", "/deviceRegistrations")).toEqual(
      envelope(400, "invalid_input", "removeWhere requires clientId")
    )
    expect(p.send("DELETE", "/channelSubscriptions")).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    const sub = { appId: "x", channel: "news", deviceId: "d-1", provider: "apns", tokenHash: "h" }
    expect(p.send("POST", "/channelSubscriptions", { body: { ...sub, tokenHash: "" } })).toMatchObject({ status: 500 })
    expect(body(p.send("POST", "/channelSubscriptions", { body: sub }))).toEqual({ ...sub, appId: "app-id" })
    expect(body(p.send("GET", "/channelSubscriptions/channels"))).toEqual({
      items: ["news"],
      next_cursor: null,
      has_more: false
    })
    expect(body(p.send("DELETE", "/channelSubscriptions?deviceId=d-1"))).toEqual({ deleted: 1 })
  })

  it("device identity: 404 before the token is checked; the token comes from its header or a bearer", () => {
    const p = setup()
    const token = body(p.send("POST", "/deviceRegistrations", { body: device })).deviceIdentityToken
    const as = (headers: Record<string, string>) => ({
      headers: { "x-sockudo-push-capability": "push-subscribe", ...headers }
    })
    expect(p.send("GET", "/deviceRegistrations/nobody", as({}))).toEqual(envelope(404, "not_found", "device not found"))
    expect(p.send("GET", "/deviceRegistrations/d-1", as({}))).toEqual(
      envelope(401, "auth_failed", "deviceIdentityToken is required")
    )
    expect(p.send("GET", "/deviceRegistrations/d-1", as({ authorization: `Token ${token}` }))).toEqual(
      envelope(401, "auth_failed", "deviceIdentityToken bearer auth is required")
    )
    expect(p.send("GET", "/deviceRegistrations/d-1", as({ authorization: `Bearer ${token}` }))).toMatchObject({
      status: 200
    })
    expect(p.send("GET", "/deviceRegistrations/d-1", as({ "x-sockudo-device-identity-token": "other" }))).toEqual(
      envelope(401, "auth_failed", "invalid deviceIdentityToken")
    )
    expect(p.send("POST", "/deviceRegistrations", { ...as({}), body: { ...device, id: "new" } })).toEqual(
      envelope(403, "forbidden", "device token registration requires an existing device")
    )
  })

  it("unregistering a device, or a client's devices, removes their channel subscriptions", () => {
    const p = setup()
    const sub = (deviceId: string) => ({ appId: "x", channel: "news", deviceId, provider: "apns", tokenHash: "h" })
    for (const id of ["d-1", "d-2", "d-3"]) {
      p.send("POST", "/deviceRegistrations", { body: { ...device, id, clientId: id === "d-3" ? "c-2" : "c-1" } })
      p.send("POST", "/channelSubscriptions", { body: sub(id) })
    }
    expect(body(p.send("DELETE", "/deviceRegistrations?clientId=c-1"))).toEqual({ deleted: 2, consistency: "eventual" })
    p.send("DELETE", "/deviceRegistrations/d-3")
    expect(body(p.send("GET", "/channelSubscriptions"))).toMatchObject({ items: [] })
  })

  it("subscriptions: channel selects before deviceId; lists are ordered as the server orders them", () => {
    const p = setup()
    const sub = (channel: string, deviceId: string) => ({
      appId: "x",
      channel,
      deviceId,
      provider: "wns",
      tokenHash: "h"
    })
    for (const [c, d] of [
      ["news", "d-2"],
      ["news-2", "d-1"],
      ["news", "d-1"]
    ] as const) {
      p.send("POST", "/channelSubscriptions", { body: sub(c, d) })
    }
    const pairs = (target: string) =>
      body(p.send("GET", target)).items.map((s: { channel: string; deviceId: string }) => `${s.channel}:${s.deviceId}`)
    // All: by "channel:deviceId" ("news-2:..." sorts before "news:...").
    expect(pairs("/channelSubscriptions")).toEqual(["news-2:d-1", "news:d-1", "news:d-2"])
    expect(pairs("/channelSubscriptions?channel=news")).toEqual(["news:d-1", "news:d-2"])
    expect(pairs("/channelSubscriptions?deviceId=d-1")).toEqual(["news:d-1", "news-2:d-1"])
    expect(pairs("/channelSubscriptions?channel=news&deviceId=d-1")).toEqual(["news:d-1", "news:d-2"])
    expect(body(p.send("DELETE", "/channelSubscriptions?channel=news&deviceId=d-1"))).toEqual({ deleted: 2 })
    expect(p.send("DELETE", "/channelSubscriptions")).toEqual(
      envelope(400, "invalid_input", "delete requires channel or deviceId")
    )
  })

  it("credentials: stored under their id (by default the provider's route name); blank secrets 400, store checks 500", () => {
    const p = setup()
    expect(body(p.send("POST", "/credentials/webpush", { body: { publicKey: "k", privateKey: "p" } }))).toEqual({
      app_id: "app-id",
      credential_id: "webpush",
      provider: "webPush",
      version: 1
    })
    p.send("POST", "/credentials/fcm", { body: { serviceAccountJson: {} } })
    p.send("POST", "/credentials/hms", { body: { credentialId: "fcm", hmsAppId: "h", clientSecret: "c", version: 3 } })
    // Same id, another provider: it replaces the stored credential.
    expect(body(p.send("GET", "/credentials")).items).toEqual([
      { app_id: "app-id", credential_id: "fcm", provider: "hms", version: 3 },
      { app_id: "app-id", credential_id: "webpush", provider: "webPush", version: 1 }
    ])
    expect(p.send("POST", "/credentials/hms", { body: { hmsAppId: "h", clientSecret: " " } })).toEqual(
      envelope(400, "invalid_input", "secret must not be empty")
    )
    expect(p.send("POST", "/credentials/apns", { body: { p12: "x", p12Password: "" } })).toEqual(
      envelope(400, "invalid_input", "secret must not be empty")
    )
    const server = envelope(500, "internal_error", "Internal server error")
    expect(p.send("POST", "/credentials/hms", { body: { hmsAppId: " ", clientSecret: "c" } })).toEqual(server)
    expect(p.send("POST", "/credentials/wns", { body: { packageSid: "s", clientSecret: "c", version: 0 } })).toEqual(
      server
    )
    expect(p.send("POST", "/credentials/apns", { body: { teamId: "T", keyId: "K" } })).toEqual(server)
  })

  it("templates: answered in the server's form, providerOverrides defaulting to {}", () => {
    const p = setup()
    const template = {
      appId: "x",
      templateId: "t-1",
      defaultLocale: "en",
      locales: { en: { title: "T", body: "B", extra: "dropped" } },
      ignored: true
    }
    expect(body(p.send("POST", "/templates", { body: template }))).toEqual({
      appId: "app-id",
      templateId: "t-1",
      defaultLocale: "en",
      locales: { en: { title: "T", body: "B" } },
      providerOverrides: {}
    })
    expect(p.send("GET", "/templates/none")).toEqual(envelope(404, "not_found", "template not found"))
    expect(p.send("POST", "/templates", { body: { ...template, locales: { en: { title: " ", body: "B" } } } })).toEqual(
      envelope(500, "internal_error", "Internal server error")
    )
    expect(
      p.send("POST", "/templates", {
        body: { ...template, providerOverrides: { pigeon: { provider: "fcm", payload: {} } } }
      })
    ).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^invalid JSON body: unknown variant `pigeon`/) }
    })
  })
})
