/**
 * The push store against the server reference, section 3.12: capabilities, list paging, the
 * push extractor's JSON 400s, store-level 500s, identity tokens and publish dedupe.
 */
import { describe, expect, it } from "@effect/vitest"
import { makePushStore } from "../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, T0 } from "./support.ts"

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
        lastActiveAtMs: T0,
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
    expect(p.send("GET", "/channelSubscriptions", { headers: subscribe("t") })).toMatchObject({ status: 400 })
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
    expect(p.send("GET", "/templates?cursor=zzz")).toMatchObject({ status: 400 })
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

  it("publish: 202, dedupe on publishId, intent validation 400s, forced-async header for mode=sync", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: device })
    const request = { publishId: "p-1", recipients: [{ type: "client", client_id: "c-1" }], payload: { title: "hi" } }
    const accepted = p.send("POST", "/publish?mode=sync", { body: request })
    expect(accepted).toMatchObject({
      status: 202,
      headers: { "x-sockudo-forced-async": "publish-api-is-async" },
      json: {
        publishId: "p-1",
        status: "accepted",
        expectedRecipients: 1,
        fanoutRegime: "fastPath",
        renderedPayloads: [{ provider: "apns", payload: { title: "hi" }, usedOverride: false }]
      }
    })
    expect(body(p.send("POST", "/publish", { body: request })).status).toBe("succeeded")
    expect(body(p.send("GET", "/publish/p-1/status"))).toEqual({
      appId: "app-id",
      publishId: "p-1",
      state: "succeeded",
      counters: {
        planned: 1,
        dispatched: 1,
        succeeded: 1,
        failed: 0,
        expired: 0,
        retryScheduled: 0,
        retryAttempted: 0,
        deadLettered: 0
      }
    })
    expect(p.send("POST", "/publish", { body: { ...request, recipients: [] } })).toMatchObject({ status: 400 })
    expect(p.send("POST", "/publish", { body: { ...request, recipients: [{ type: "planet" }] } })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^invalid JSON body: /) }
    })
    expect(p.send("POST", "/publish", { body: { ...request, payload: { icon: "http://x" } } })).toMatchObject({
      status: 400
    })
    expect(p.send("POST", "/publish", { body: { ...request, payload: { templateId: "none" } } })).toMatchObject({
      status: 404
    })
    expect(p.send("POST", "/publish", { body: request, headers: subscribe() })).toMatchObject({ status: 403 })
    expect(p.send("POST", "/batch/publish", { body: request })).toMatchObject({ status: 400 })
    expect(p.send("GET", "/publish/none/status")).toMatchObject({ status: 404 })
  })

  it("dead letters: filters by provider and time, since <= until, replay once, unknown is 404", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: { ...device, push: { ...device.push, state: "FAILED" } } })
    p.send("POST", "/publish", { body: { recipients: [{ type: "device", device_id: "d-1" }], payload: {} } })
    const letters = body(p.send("GET", "/deadLetters?provider=apns"))
    expect(letters.items).toMatchObject([{ appId: "app-id", provider: "apns", key: "d-1", replayable: true }])
    expect(body(p.send("GET", "/deadLetters?provider=webpush")).items).toEqual([])
    expect(body(p.send("GET", `/deadLetters?sinceMs=${T0 + 1}`)).items).toEqual([])
    expect(p.send("GET", "/deadLetters?sinceMs=2&untilMs=1")).toMatchObject({ status: 400 })
    expect(p.send("GET", "/deadLetters?provider=pigeon")).toMatchObject({ status: 400 })
    const id = letters.items[0].deadLetterId
    expect(p.send("POST", `/deadLetters/${id}/replay`)).toMatchObject({
      status: 202,
      json: { deadLetterId: id, replayed: true }
    })
    expect(p.send("POST", `/deadLetters/${id}/replay`)).toMatchObject({ status: 400 })
    expect(p.send("POST", "/deadLetters/none/replay")).toMatchObject({ status: 404 })
  })
})
