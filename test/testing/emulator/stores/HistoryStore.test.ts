/**
 * The history store against the server reference, sections 3.8, 5.2 and 10.1.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Features } from "../../../../src/testing/emulator/Api.ts"
import { encodeCursor } from "../../../../src/testing/emulator/stores/Cursors.ts"
import { makeStores, type StoresOptions } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, publish, publishOk, T0 } from "./support.ts"

const setup = (features: Partial<Features> = { versionedMessages: false }, options: StoresOptions = {}) => {
  const fake = fakeApp({ features })
  const stores = makeStores({ newId: counterIds("id"), ...options })
  const get = (target: string, nowMs?: number) =>
    call(stores, fake.app, "GET", target, nowMs === undefined ? {} : { nowMs })
  const post = (target: string, json: unknown) => call(stores, fake.app, "POST", target, { body: json })
  const pub = (channel: string, n: number, at = T0) => {
    for (let i = 1; i <= n; i++)
      publishOk(stores, fake.app, { channel, name: `e${i}`, data: `d${i}`, publishedAtMs: at + i })
  }
  return { ...fake, stores, get, post, pub }
}

const serials = (response: ReturnType<ReturnType<typeof setup>["get"]>) =>
  (body(response).items as Array<{ serial: number }>).map((i) => i.serial)

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })

describe("history store", () => {
  it("appends every publish with serials from 1 and answers the documented page shape", () => {
    const h = setup()
    h.pub("orders", 3)
    const page = body(h.get("/channels/orders/history"))
    expect(page).toMatchObject({
      direction: "newest_first",
      limit: 100,
      has_more: false,
      next_cursor: null,
      bounds: { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null },
      continuity: {
        stream_id: "id-1",
        oldest_available_serial: 1,
        newest_available_serial: 3,
        oldest_available_published_at_ms: T0 + 1,
        newest_available_published_at_ms: T0 + 3,
        retained_messages: 3,
        complete: true,
        truncated_by_retention: false
      },
      stream_state: { stream_id: "id-1", durable_state: "healthy", recovery_allowed: true, reset_required: false }
    })
    expect(page.items.map((i: { serial: number }) => i.serial)).toEqual([3, 2, 1])
    const item = page.items[2]
    expect(item).toMatchObject({
      stream_id: "id-1",
      serial: 1,
      published_at_ms: T0 + 1,
      event_name: "e1",
      operation_kind: "append",
      message: { event: "e1", channel: "orders", data: "d1", stream_id: "id-1", serial: 1 }
    })
    expect(item.message.message_id).toBe(item.message_id)
    expect(item.payload_size_bytes).toBe(new TextEncoder().encode(JSON.stringify(item.message)).length)
    const bytes = page.items.reduce((sum: number, i: { payload_size_bytes: number }) => sum + i.payload_size_bytes, 0)
    expect(page.continuity.retained_bytes).toBe(bytes)
  })

  it("pages with an exclusive cursor that must repeat the direction and bounds; the limit may change", () => {
    const h = setup()
    h.pub("orders", 5)
    const first = body(h.get("/channels/orders/history?limit=2&direction=oldest_first"))
    expect(first.items.map((i: { serial: number }) => i.serial)).toEqual([1, 2])
    expect(first.has_more).toBe(true)
    const cursor = encodeURIComponent(first.next_cursor)
    expect(serials(h.get(`/channels/orders/history?limit=3&direction=oldest_first&cursor=${cursor}`))).toEqual([
      3, 4, 5
    ])
    const last = body(h.get(`/channels/orders/history?limit=3&direction=oldest_first&cursor=${cursor}`))
    expect(last).toMatchObject({ has_more: false, next_cursor: null })
    expect(h.get(`/channels/orders/history?cursor=${cursor}`)).toEqual(
      envelope(400, "invalid_input", "History cursor direction does not match the request")
    )
    expect(h.get(`/channels/orders/history?direction=oldest_first&start_serial=1&cursor=${cursor}`)).toEqual(
      envelope(400, "invalid_input", "History cursor bounds do not match the request")
    )
    expect(h.get(`/channels/other/history?direction=oldest_first&cursor=${cursor}`)).toMatchObject({ status: 400 })
  })

  it("reads direction case-insensitively with its aliases and rejects others", () => {
    const h = setup()
    h.pub("orders", 2)
    for (const d of ["NEWEST_FIRST", "backwards", "Reverse"])
      expect(serials(h.get(`/channels/orders/history?direction=${d}`))).toEqual([2, 1])
    for (const d of ["oldest_first", "FORWARDS", "forward"])
      expect(serials(h.get(`/channels/orders/history?direction=${d}`))).toEqual([1, 2])
    expect(h.get("/channels/orders/history?direction=sideways")).toMatchObject({
      status: 400,
      json: { code: "invalid_input" }
    })
    expect(body(h.get("/channels/orders/history?direction=forwards")).direction).toBe("oldest_first")
  })

  it("limit: 0 is a 400, above the maximum is clamped, a non-integer or repeated key is a plain-text 400", () => {
    const h = setup()
    h.pub("orders", 1)
    expect(h.get("/channels/orders/history?limit=0")).toEqual(
      envelope(400, "invalid_input", "History limit must be greater than 0")
    )
    expect(body(h.get("/channels/orders/history?limit=500")).limit).toBe(100)
    const text = h.get("/channels/orders/history?limit=abc")
    expect(text).toMatchObject({ status: 400 })
    expect("text" in text && text.text.startsWith("Failed to deserialize query string")).toBe(true)
    expect(h.get("/channels/orders/history?start_serial=-1")).toMatchObject({ status: 400, text: expect.any(String) })
    expect(h.get("/channels/orders/history?limit=1&limit=2")).toEqual({
      status: 400,
      text: "Failed to deserialize query string: duplicate field `limit`"
    })
  })

  it("applies inclusive serial and time bounds; start/end alias the _ms forms, which win", () => {
    const h = setup()
    h.pub("orders", 5)
    expect(serials(h.get("/channels/orders/history?start_serial=2&end_serial=4"))).toEqual([4, 3, 2])
    expect(serials(h.get(`/channels/orders/history?start_time_ms=${T0 + 2}&end_time_ms=${T0 + 3}`))).toEqual([3, 2])
    expect(serials(h.get(`/channels/orders/history?start=${T0 + 4}`))).toEqual([5, 4])
    const both = body(h.get(`/channels/orders/history?start=${T0 + 1}&start_time_ms=${T0 + 5}`))
    expect(both.items.map((i: { serial: number }) => i.serial)).toEqual([5])
    expect(both.bounds.start_time_ms).toBe(T0 + 5)
    expect(h.get("/channels/orders/history?start_serial=4&end_serial=2")).toEqual(
      envelope(400, "invalid_input", "start_serial must be less than or equal to end_serial")
    )
    expect(h.get("/channels/orders/history?start_time_ms=9&end_time_ms=1")).toMatchObject({ status: 400 })
    const paged = body(h.get("/channels/orders/history?start_serial=2&limit=1&direction=oldest_first"))
    const next = h.get(
      `/channels/orders/history?start_serial=2&limit=1&direction=oldest_first&cursor=${paged.next_cursor}`
    )
    expect(serials(next)).toEqual([3])
  })

  it("rejects bad and expired cursors: garbage, another stream after reset, before retention after purge", () => {
    const h = setup()
    h.pub("orders", 4)
    expect(h.get("/channels/orders/history?cursor=%21%21")).toMatchObject({
      status: 400,
      json: { code: "invalid_input", error: expect.stringMatching(/^Invalid history cursor: /) }
    })
    const wrongVersion = encodeURIComponent(
      encodeCursor({
        version: 2,
        app_id: "app-id",
        channel: "orders",
        stream_id: "id-1",
        serial: 2,
        direction: "newest_first",
        bounds: { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null }
      })
    )
    expect(body(h.get(`/channels/orders/history?cursor=${wrongVersion}`)).error).toBe(
      "Unsupported history cursor version: 2"
    )
    const oldest = body(h.get("/channels/orders/history?limit=2&direction=oldest_first")).next_cursor
    const purge = { confirm_channel: "orders", confirm_operation: "purge", mode: "before_serial", before_serial: 3 }
    expect(h.post("/channels/orders/history/purge", { ...purge, reason: "gdpr" })).toMatchObject({ status: 200 })
    expect(h.get(`/channels/orders/history?limit=2&direction=oldest_first&cursor=${oldest}`)).toEqual(
      envelope(400, "invalid_input", "Expired history cursor: cursor points before retained history")
    )
    const newest = body(h.get("/channels/orders/history?limit=1")).next_cursor
    h.post("/channels/orders/history/reset", { confirm_channel: "orders", confirm_operation: "reset", reason: "r" })
    expect(h.get(`/channels/orders/history?limit=1&cursor=${newest}`)).toEqual(
      envelope(400, "invalid_input", "Expired history cursor: channel stream changed")
    )
  })

  it("needs the feature (422) and a valid channel (400); every punctuation the server allows passes", () => {
    const off = setup({ history: false })
    expect(off.get("/channels/orders/history")).toEqual(
      envelope(422, "feature_disabled", "Durable history is disabled by policy for channel 'orders'")
    )
    expect(publishOk(off.stores, off.app, { channel: "orders" })).toEqual({})
    const h = setup()
    expect(h.get("/channels/a%20b/history")).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(h.get("/channels/ns%3Aa/history")).toEqual(envelope(400, "invalid_input", "Unknown channel namespace 'ns'"))
    expect(h.get(`/channels/${"x".repeat(201)}/history`)).toMatchObject({ status: 400 })
    expect(h.get("/channels/a%2Cb%3Bc/history")).toEqual(
      envelope(400, "invalid_input", "Channel name contains invalid characters: 'a,b;c' (invalid chars: [',', ';'])")
    )
    const odd = "a-_=@.b"
    h.pub(odd, 1)
    expect(serials(h.get(`/channels/${encodeURIComponent(odd)}/history`))).toEqual([1])
    expect(serials(h.get(`/channels/${encodeURIComponent("#server-to-user-u1")}/history`))).toEqual([])
  })

  it("reports the stream state", () => {
    const h = setup()
    h.pub("orders", 2)
    expect(body(h.get("/channels/orders/history/state"))).toEqual({
      channel: "orders",
      stream: {
        stream_id: "id-1",
        next_serial: 3,
        retained: {
          stream_id: "id-1",
          retained_messages: 2,
          retained_bytes: expect.any(Number),
          oldest_available_serial: 1,
          newest_available_serial: 2,
          oldest_available_published_at_ms: T0 + 1,
          newest_available_published_at_ms: T0 + 2
        },
        state: expect.objectContaining({ stream_id: "id-1", durable_state: "healthy" })
      }
    })
  })

  it("reset: confirmation, reason and shape rules; rotates the stream and restarts serials", () => {
    const h = setup()
    h.pub("orders", 3)
    const ok = { confirm_channel: "orders", confirm_operation: "reset", reason: "rotate" }
    expect(h.post("/channels/orders/history/reset", { ...ok, confirm_channel: "Orders" })).toEqual(
      envelope(400, "invalid_input", "confirm_channel must exactly match the channel path")
    )
    expect(h.post("/channels/orders/history/reset", { ...ok, confirm_operation: "purge" })).toMatchObject({
      status: 400
    })
    expect(h.post("/channels/orders/history/reset", { ...ok, reason: "  " })).toEqual(
      envelope(400, "invalid_input", "reason must not be empty")
    )
    const missing = h.post("/channels/orders/history/reset", { confirm_channel: "orders" })
    expect(missing).toMatchObject({ status: 422 })
    expect("text" in missing && missing.text).toMatch(/^Failed to deserialize the JSON body into the target type/)
    const reset = body(h.post("/channels/orders/history/reset", { ...ok, requested_by: "ops" }))
    expect(reset).toMatchObject({
      ok: true,
      operation: "reset",
      channel: "orders",
      reason: "rotate",
      requested_by: "ops",
      previous_stream_id: "id-1",
      purged_messages: 3,
      stream: { next_serial: 1, retained: { retained_messages: 0 } }
    })
    expect(reset.new_stream_id).not.toBe("id-1")
    expect(reset.purged_bytes).toBeGreaterThan(0)
    h.pub("orders", 1)
    const after = body(h.get("/channels/orders/history"))
    expect(after.items.map((i: { serial: number; stream_id: string }) => [i.serial, i.stream_id])).toEqual([
      [1, reset.new_stream_id]
    ])
  })

  it("purge: all, before_serial and before_time_ms, each with exactly its own bound; the stream id stays", () => {
    const h = setup()
    h.pub("orders", 5)
    const base = { confirm_channel: "orders", confirm_operation: "purge", reason: "r" }
    const purge = (extra: Record<string, unknown>) => h.post("/channels/orders/history/purge", { ...base, ...extra })
    expect(purge({ mode: "all", before_serial: 2 })).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(purge({ mode: "before_serial" })).toMatchObject({ status: 400 })
    expect(purge({ mode: "before_serial", before_serial: 2, before_time_ms: 1 })).toMatchObject({ status: 400 })
    expect(purge({ mode: "before_time_ms", before_serial: 2 })).toMatchObject({ status: 400 })
    expect(purge({ mode: "sometimes" })).toMatchObject({ status: 422 })
    expect(body(purge({ mode: "before_serial", before_serial: 2 }))).toMatchObject({
      ok: true,
      operation: "purge",
      mode: "before_serial",
      before_serial: 2,
      before_time_ms: null,
      purged_messages: 1,
      stream: { stream_id: "id-1", next_serial: 6 }
    })
    expect(body(purge({ mode: "before_time_ms", before_time_ms: T0 + 4 }))).toMatchObject({ purged_messages: 2 })
    expect(serials(h.get("/channels/orders/history"))).toEqual([5, 4])
    const truncated = body(h.get("/channels/orders/history"))
    expect(truncated.continuity).toMatchObject({ complete: false, truncated_by_retention: true })
    expect(body(purge({ mode: "all" }))).toMatchObject({ purged_messages: 2, stream: { next_serial: 6 } })
  })

  it("retention drops rows by window and by count; continuity tells the range is truncated", () => {
    const h = setup({ versionedMessages: false }, { historyRetention: { windowMs: 1000, maxMessagesPerChannel: 3 } })
    h.pub("orders", 5)
    expect(serials(h.get("/channels/orders/history", T0 + 10))).toEqual([5, 4, 3])
    const bounded = body(h.get("/channels/orders/history?start_serial=1", T0 + 10))
    expect(bounded.continuity).toMatchObject({ truncated_by_retention: true, complete: false })
    expect(serials(h.get("/channels/orders/history", T0 + 1004))).toEqual([5, 4])
    expect(serials(h.get("/channels/orders/history", T0 + 1005))).toEqual([5])
  })

  it("dedupes on message_id and extras.idempotencyKey per channel; a different payload is a 400", () => {
    const h = setup({ versionedMessages: true })
    const event = { channel: "orders", name: "e", data: "1", messageId: "m-1" }
    const first = publishOk(h.stores, h.app, event)
    expect(publishOk(h.stores, h.app, event)).toEqual(first)
    expect(publish(h.stores, h.app, { ...event, data: "2" })).toEqual(
      envelope(400, "invalid_input", "idempotency key was already used with a different payload")
    )
    publishOk(h.stores, h.app, { ...event, channel: "other" })
    const keyed = { channel: "orders", name: "k", data: "x", extras: { idempotencyKey: "k-1" } }
    expect(publishOk(h.stores, h.app, keyed)).toEqual(publishOk(h.stores, h.app, keyed))
    expect(serials(h.get("/channels/orders/history"))).toEqual([2, 1])
    expect(body(h.get("/channels/orders/history")).items[1].message_id).toBe("m-1")
  })

  it("on versioned channels returns the serials the server forms and lists the latest version", () => {
    const h = setup({ versionedMessages: true })
    const receipt = publishOk(h.stores, h.app, { channel: "chat", name: "said", data: "hi", socketId: "1.1" })
    const serial = `${String(T0).padStart(20, "0")}:node:${"1".padStart(20, "0")}`
    expect(receipt).toEqual({ message_serial: serial, history_serial: 1, delivery_serial: 1, version_serial: serial })
    expect(h.broadcasts).toMatchObject([
      {
        channel: "chat",
        event: "said",
        data: "hi",
        exceptSocketId: "1.1",
        extras: {
          headers: { sockudo_action: "message.create", sockudo_message_serial: serial, sockudo_history_serial: 1 }
        }
      }
    ])
    expect(h.webhooks).toEqual([
      {
        name: "message_version_created",
        channel: "chat",
        message_serial: serial,
        version_serial: serial,
        action: "message.create"
      }
    ])
    const second = publishOk(h.stores, h.app, { channel: "chat", name: "said", data: "again" })
    expect(second).toMatchObject({ history_serial: 2, delivery_serial: 2 })
    expect(second.message_serial! > serial).toBe(true)
    h.post(`/channels/chat/messages/${encodeURIComponent(serial)}/update`, { data: "edited" })
    const items = body(h.get("/channels/chat/history?direction=oldest_first")).items
    expect(items[0]).toMatchObject({
      serial: 1,
      event_name: "sockudo:message.update",
      operation_kind: "message.update",
      message: {
        event: "sockudo:message.update",
        action: "update",
        data: "edited",
        name: "said",
        message_serial: serial
      }
    })
    expect(items[1]).toMatchObject({ event_name: "sockudo:message.create", operation_kind: "message.create" })
  })

  it("does not append a publish that carries a mutation's sockudo_action header", () => {
    const h = setup({ versionedMessages: true })
    const headers = { sockudo_action: "message.update", sockudo_message_serial: "x" }
    expect(publishOk(h.stores, h.app, { channel: "chat", extras: { headers } })).toEqual({})
    expect(serials(h.get("/channels/chat/history"))).toEqual([])
  })
})
