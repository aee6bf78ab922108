/**
 * Push publishing in the push store, against Sockudo 5.0.1 (section 3.12): what a publish answers
 * (its audience counted as the server counts it, one payload rendered per provider), how it is
 * delivered without providers (at once or at `notBeforeMs`, expired after `expiresAtMs`, refused
 * for local addresses as the server's dispatchers refuse them), duplicates, batches, delivery
 * reports and dead letters.
 */
import { describe, expect, it } from "@effect/vitest"
import { makePushStore } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, T0 } from "./support.ts"

const wns = (id: string, channelUri = `https://127.0.0.1:9/${id}`, clientId = "c-1") => ({
  appId: "x",
  id,
  clientId,
  formFactor: "desktop",
  platform: "windows",
  deviceSecret: "",
  timezone: "UTC",
  locale: "en",
  push: { recipient: { transportType: "wns", channelUri }, state: "ACTIVE" }
})

const setup = (providers?: ReadonlyArray<"fcm" | "apns" | "webPush" | "hms" | "wns" | "realtime">) => {
  const fake = fakeApp()
  const stores = [makePushStore({ newId: counterIds("id"), providers })]
  const send = (method: "GET" | "POST" | "DELETE", target: string, options: { body?: unknown; nowMs?: number } = {}) =>
    call(stores, fake.app, method, `/push${target}`, options)
  const publish = (request: Record<string, unknown>, nowMs = T0) =>
    send("POST", "/publish", { body: { payload: { title: "T" }, ...request }, nowMs })
  const status = (id: string, nowMs = T0) => body(send("GET", `/publish/${id}/status`, { nowMs }))
  return { send, publish, status }
}

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })
const counters = (c: Partial<Record<string, number>>) => ({
  planned: 0,
  dispatched: 0,
  succeeded: 0,
  failed: 0,
  expired: 0,
  retryScheduled: 0,
  retryAttempted: 0,
  deadLettered: 0,
  ...c
})

describe("push publish", () => {
  it("answers 202 at once, with X-Sockudo-Forced-Async for mode=sync or sync: true", () => {
    const p = setup()
    const request = { publishId: "p-1", recipients: [{ type: "registeredTopic", topic: "t" }] }
    expect(p.publish(request)).toMatchObject({
      status: 202,
      json: { publishId: "p-1", status: "accepted", expectedRecipients: 1, fanoutRegime: "fastPath" }
    })
    expect(p.send("POST", "/publish?mode=sync", { body: { ...request, payload: {} } })).toMatchObject({
      headers: { "x-sockudo-forced-async": "publish-api-is-async" }
    })
    expect(p.publish({ ...request, sync: true })).toMatchObject({
      headers: { "x-sockudo-forced-async": "publish-api-is-async" }
    })
  })

  it("renders every provider's shape from the inline fields, in the server's order", () => {
    const p = setup()
    const accepted = body(
      p.publish({
        recipients: [{ type: "registeredTopic", topic: "t" }],
        payload: { title: "Hi", body: "There", icon: "https://i/x.png", sound: "s", collapseKey: "k" }
      })
    )
    const notification = { title: "Hi", body: "There", image: "https://i/x.png" }
    expect(accepted.renderedPayloads).toEqual([
      {
        provider: "fcm",
        usedOverride: false,
        payload: {
          message: {
            notification,
            data: null,
            android: { collapse_key: "k", notification: { icon: "https://i/x.png", sound: "s" } }
          }
        }
      },
      {
        provider: "apns",
        usedOverride: false,
        payload: {
          headers: { "apns-push-type": "alert", "apns-priority": "10", "apns-collapse-id": "k" },
          aps: { alert: { title: "Hi", body: "There" }, sound: "s" },
          data: null
        }
      },
      {
        provider: "webPush",
        usedOverride: false,
        payload: { headers: { ttl: 2419200, urgency: "normal", topic: "k" }, notification, data: null }
      },
      {
        provider: "hms",
        usedOverride: false,
        payload: {
          message: {
            notification,
            data: null,
            android: { notification: { click_action: { type: 3 }, sound: "s" }, collapse_key: "k" }
          }
        }
      },
      {
        provider: "wns",
        usedOverride: false,
        payload: {
          type: "toast",
          toast: {
            visual: { binding: { template: "ToastGeneric", text: ["Hi", "There"], image: "https://i/x.png" } },
            audio: { src: "s" }
          },
          data: null
        }
      },
      { provider: "realtime", usedOverride: false, payload: { notification, data: null } }
    ])
  })

  it("applies a template: the requested locale or its prefix, {{data.*}} placeholders, overrides merged", () => {
    const p = setup()
    p.send("POST", "/templates", {
      body: {
        appId: "x",
        templateId: "t",
        defaultLocale: "en",
        locales: {
          en: { title: "Hi {{data.name}}", body: "en" },
          pt: { title: "Olá {{ data.name }}", body: "{{data.n}}" }
        },
        providerOverrides: { wns: { provider: "wns", payload: { type: "tile" } }, fcm: { provider: "fcm", payload: 1 } }
      }
    })
    const rendered = (payload: unknown, providerOverrides: unknown = []) =>
      body(p.publish({ recipients: [{ type: "userTopic", topic: "t" }], payload, providerOverrides })).renderedPayloads
    const realtime = (r: ReadonlyArray<{ provider: string; payload: any }>) =>
      r.find((x) => x.provider === "realtime")!.payload.notification
    expect(realtime(rendered({ templateId: "t", templateData: { locale: "pt_BR", name: "Ana", n: 2 } }))).toEqual({
      title: "Olá Ana",
      body: "2",
      image: null
    })
    expect(realtime(rendered({ templateId: "t", templateData: { locale: "de", name: "Jo" }, title: "Mine" }))).toEqual({
      title: "Mine",
      body: "en",
      image: null
    })
    const withOverride = rendered({ templateId: "t", templateData: { name: "Jo" } }, [
      { provider: "wns", payload: "raw" }
    ])
    expect(withOverride.filter((x: { usedOverride: boolean }) => x.usedOverride)).toEqual([
      { provider: "fcm", payload: 1, usedOverride: true },
      { provider: "wns", payload: "raw", usedOverride: true }
    ])
  })

  it("refuses what it cannot render or check with the server's 400s, and stores nothing", () => {
    const p = setup()
    const refused = (payload: unknown, providerOverrides: unknown = []) =>
      p.publish({ publishId: "r", recipients: [{ type: "userTopic", topic: "t" }], payload, providerOverrides })
    const bad = (error: string) => envelope(400, "invalid_input", error)
    expect(refused({ templateId: "none" })).toEqual(bad("push template none not found"))
    expect(refused({ title: "{{name}}" })).toEqual(
      bad("invalid template substitution: placeholder key must use a bounded data.* path")
    )
    expect(refused({ title: "{{data.name}}" })).toEqual(
      bad("invalid template substitution: placeholder key is missing")
    )
    expect(refused({ title: "{{data.a}}", templateData: { a: [1] } })).toEqual(
      bad("invalid template substitution: placeholder value must be scalar")
    )
    expect(refused({ title: "{{data.a", templateData: { a: 1 } })).toEqual(
      bad("invalid template substitution: unterminated placeholder")
    )
    expect(refused({}, [{ provider: "wns", payload: { type: "badge" } }])).toEqual(
      bad("invalid wns override: invalid type")
    )
    expect(refused({}, [{ provider: "apns", payload: { headers: { "apns-priority": "7" } } }])).toEqual(
      bad("invalid apns override: invalid apns-priority")
    )
    expect(refused({}, [{ provider: "webPush", payload: { headers: { urgency: "now" } } }])).toEqual(
      bad("invalid webPush override: invalid urgency")
    )
    expect(refused({ icon: "http://i/x.png" })).toEqual(bad("icon is invalid: must use https"))
    expect(refused({ title: "x".repeat(257) })).toEqual(bad("title exceeds 256 bytes"))
    expect(p.publish({ publishId: " ", recipients: [{ type: "userTopic", topic: "t" }] })).toEqual(
      bad("publishId must not be empty")
    )
    expect(p.publish({ recipients: [] })).toEqual(bad("targets is invalid: must contain at least one target"))
    expect(p.publish({ payload: {} })).toEqual(bad("targets is invalid: must contain at least one target"))
    expect(p.publish({ recipients: [{ type: "device", device_id: " " }] })).toEqual(bad("deviceId must not be empty"))
    // Sockudo 5.0.1 cannot decode any indexedFilter target.
    expect(p.publish({ recipients: [{ type: "indexedFilter", filter: {} }] })).toEqual(
      bad("invalid JSON body: invalid type: newtype struct, expected a valid json")
    )
    expect(p.send("GET", "/publish/r/status")).toEqual(envelope(404, "not_found", "publish status not found"))
  })

  it("counts the audience as the server does: registered devices, a client's devices, a channel's subscriptions, 1 otherwise", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: wns("d-1") })
    p.send("POST", "/deviceRegistrations", { body: wns("d-2") })
    for (const deviceId of ["d-1", "ghost"]) {
      p.send("POST", "/channelSubscriptions", {
        body: { appId: "x", channel: "news", deviceId, provider: "wns", tokenHash: "h" }
      })
    }
    const expected = (recipients: unknown) =>
      body(p.publish({ recipients, notBeforeMs: T0 + 60_000 })).expectedRecipients
    expect(expected([{ type: "device", device_id: "d-1" }])).toBe(1)
    expect(expected([{ type: "device", device_id: "nobody" }])).toBe(0)
    expect(expected([{ type: "client", client_id: "c-1" }])).toBe(2)
    expect(expected([{ type: "channel", channel: "news" }])).toBe(2)
    expect(expected([{ type: "providerTopic", provider: "wns", topic: "t" }])).toBe(1)
    expect(expected([{ type: "recipient", recipient: { transportType: "wns", channelUri: "https://h/x" } }])).toBe(1)
    expect(
      expected([
        { type: "device", device_id: "d-1" },
        { type: "client", client_id: "c-1" }
      ])
    ).toBe(3)
  })

  it("delivers at once: a local or private address fails and is unregistered, any other succeeds", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: wns("local") })
    p.send("POST", "/deviceRegistrations", { body: wns("public", "https://wns.example/x") })
    p.send("POST", "/channelSubscriptions", {
      body: { appId: "x", channel: "news", deviceId: "local", provider: "wns", tokenHash: "h" }
    })
    p.publish({ publishId: "p", recipients: [{ type: "client", client_id: "c-1" }] }, T0 + 5)
    expect(p.status("p")).toEqual({
      appId: "app-id",
      publishId: "p",
      state: "partiallySucceeded",
      counters: counters({ planned: 2, dispatched: 2, succeeded: 1, failed: 1 }),
      fanoutRegime: "fastPath"
    })
    expect(p.send("GET", "/deviceRegistrations/local")).toMatchObject({ status: 404 })
    expect(body(p.send("GET", "/channelSubscriptions"))).toMatchObject({ items: [] })
    expect(body(p.send("GET", "/deviceRegistrations/public")).lastActiveAtMs).toBe(T0 + 5)
    for (const host of [
      "localhost",
      "10.1.2.3",
      "192.168.0.1",
      "[::1]",
      "[fd00::1]",
      "printer.local",
      "198.51.100.7"
    ]) {
      const id = `raw-${host}`
      p.publish({
        publishId: id,
        recipients: [{ type: "recipient", recipient: { transportType: "wns", channelUri: `https://${host}/x` } }]
      })
      expect(p.status(id)).toMatchObject({ state: "failed" })
    }
  })

  it("holds a publish until notBeforeMs (dispatching, retryAfterMs), expires it after expiresAtMs", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: wns("d", "https://wns.example/d") })
    const later = T0 + 1000
    p.publish({ publishId: "later", recipients: [{ type: "device", device_id: "d" }], notBeforeMs: later })
    const held = { state: "dispatching", counters: counters({ planned: 1 }), retryAfterMs: later }
    expect(p.status("later", later - 1)).toMatchObject(held)
    // Nothing is cancelled: Sockudo 5.0.1 keeps no scheduler job for an HTTP publish.
    expect(p.send("DELETE", "/scheduled/later")).toEqual({ status: 204, json: undefined })
    expect(p.status("later", later - 1)).toMatchObject(held)
    expect(p.status("later", later)).toMatchObject({
      state: "succeeded",
      counters: counters({ planned: 1, dispatched: 1, succeeded: 1 }),
      retryAfterMs: later
    })
    p.publish({ publishId: "stale", recipients: [{ type: "device", device_id: "d" }], expiresAtMs: T0 })
    expect(p.status("stale")).toMatchObject({
      state: "expired",
      counters: counters({ planned: 1, dispatched: 1, expired: 1 })
    })
    expect(p.send("GET", "/deviceRegistrations/d")).toMatchObject({ status: 200 })
  })

  it("never settles what has no deliveries: topics, conditions and filters, or no one at all", () => {
    const p = setup()
    p.publish({ publishId: "topic", recipients: [{ type: "registeredTopic", topic: "t" }] })
    p.publish({ publishId: "nobody", recipients: [{ type: "device", device_id: "ghost" }] })
    expect(p.status("topic", T0 + 86_400_000)).toMatchObject({
      state: "dispatching",
      counters: counters({ planned: 1 })
    })
    expect(p.status("nobody")).toMatchObject({ state: "dispatching", counters: counters({}) })
  })

  it("answers a known publishId with the existing state and audience, rendering this request's payload", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: wns("d") })
    p.publish({ publishId: "p", recipients: [{ type: "device", device_id: "d" }] })
    const again = body(
      p.publish({ publishId: "p", recipients: [{ type: "userTopic", topic: "t" }], payload: { title: "2nd" } })
    )
    expect(again).toMatchObject({ publishId: "p", status: "failed", expectedRecipients: 1 })
    expect(again.renderedPayloads[5].payload.notification.title).toBe("2nd")
    expect(
      body(p.publish({ publishId: "p", recipients: [{ type: "userTopic", topic: "t" }] }, T0 + 2 * 86_400_000)).status
    ).toBe("failed")
  })

  it("batch: decodes every item first, then accepts them in order up to the first failure", () => {
    const p = setup()
    const item = (publishId: string, payload: unknown = { title: "T" }) => ({
      publishId,
      recipients: [{ type: "userTopic", topic: "t" }],
      payload
    })
    expect(p.send("POST", "/batch/publish", { body: [item("a"), { recipients: [{ type: "planet" }] }] })).toMatchObject(
      {
        status: 400,
        json: { error: expect.stringMatching(/^invalid JSON body: unknown variant `planet`/) }
      }
    )
    expect(p.send("GET", "/publish/a/status")).toMatchObject({ status: 404 })
    expect(
      p.send("POST", "/batch/publish", { body: [item("b"), item("c", { templateId: "none" }), item("d")] })
    ).toEqual(envelope(400, "invalid_input", "push template none not found"))
    expect(p.send("GET", "/publish/b/status")).toMatchObject({ status: 200 })
    expect(p.send("GET", "/publish/d/status")).toMatchObject({ status: 404 })
    expect(p.send("POST", "/batch/publish", { body: item("e") })).toMatchObject({ status: 400 })
  })

  it("delivery reports: the event is echoed (result as given, an unknown failure class left out), nothing changes", () => {
    const p = setup()
    const report = {
      appId: "x",
      publishId: "p",
      eventId: "e",
      occurredAtMs: 5,
      extra: true,
      result: {
        appId: "x",
        publishId: "p",
        provider: "wns",
        batchId: "b",
        outcome: "rejected",
        error: { class: "quota", failureClass: "unknown", retryAfterMs: 10 },
        attempt: 1
      }
    }
    expect(p.send("POST", "/deliveryStatus", { body: report })).toEqual({
      status: 202,
      json: {
        appId: "app-id",
        publishId: "p",
        eventId: "e",
        occurredAtMs: 5,
        result: { ...report.result, error: { class: "quota", retryAfterMs: 10 } }
      }
    })
    expect(
      p.send("POST", "/deliveryStatus", {
        body: { ...report, result: { ...report.result, error: { class: "x", failureClass: "f" } } }
      })
    ).toMatchObject({ status: 400, json: { error: expect.stringMatching(/^invalid JSON body: unknown variant `f`/) } })
  })

  it("dead letters: none without providers; filters are still checked, a replay is not found", () => {
    const p = setup()
    p.send("POST", "/deviceRegistrations", { body: { ...wns("d"), push: { ...wns("d").push, state: "FAILED" } } })
    p.publish({ recipients: [{ type: "device", device_id: "d" }] })
    expect(body(p.send("GET", "/deadLetters?provider=webPush&sinceMs=1&untilMs=2"))).toEqual({
      items: [],
      next_cursor: null,
      has_more: false
    })
    expect(p.send("GET", "/deadLetters?sinceMs=2&untilMs=1")).toEqual(
      envelope(400, "invalid_input", "sinceMs must be less than or equal to untilMs")
    )
    expect(p.send("GET", "/deadLetters?provider=pigeon")).toEqual(
      envelope(400, "invalid_input", "provider must be one of fcm, apns, webpush, hms, or wns")
    )
    expect(p.send("POST", "/deadLetters/none/replay")).toEqual(envelope(404, "not_found", "dead letter not found"))
  })

  it("admits only what the running provider workers can deliver; other providers' devices wait for ever", () => {
    const p = setup(["wns"])
    expect(p.publish({ recipients: [{ type: "providerTopic", provider: "fcm", topic: "t" }] })).toEqual(
      envelope(
        503,
        "service_unavailable",
        "push admission unavailable: FCM provider worker is disabled (provider disabled in config)"
      )
    )
    expect(
      p.publish({
        recipients: [
          { type: "recipient", recipient: { transportType: "web", endpoint: "https://w/x", p256dh: "k", auth: "a" } }
        ]
      })
    ).toEqual(
      envelope(
        503,
        "service_unavailable",
        "push admission unavailable: Web Push provider worker is disabled (provider disabled in config)"
      )
    )
    p.send("POST", "/deviceRegistrations", {
      body: { ...wns("fcm"), push: { recipient: { transportType: "gcm", registrationToken: "t" }, state: "ACTIVE" } }
    })
    p.publish({ publishId: "fcm", recipients: [{ type: "device", device_id: "fcm" }] })
    expect(p.status("fcm", T0 + 86_400_000)).toMatchObject({ state: "dispatching", counters: counters({ planned: 1 }) })
    expect(setup([]).publish({ recipients: [{ type: "registeredTopic", topic: "t" }] })).toEqual(
      envelope(503, "service_unavailable", "push admission unavailable: push providers are disabled")
    )
  })
})
