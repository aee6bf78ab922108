/**
 * The presence-history store against the server reference, sections 3.9 and 10.2.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Features, PresenceChange } from "../../../../src/testing/emulator/Api.ts"
import { makePresenceHistoryStore, type PresenceHistoryOptions } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, presence, T0 } from "./support.ts"

const ROOM = "presence-room"

const setup = (features: Partial<Features> = {}, options: PresenceHistoryOptions = {}) => {
  const fake = fakeApp({ features })
  const stores = [makePresenceHistoryStore({ newId: counterIds("stream"), ...options })]
  const get = (target: string, nowMs?: number) =>
    call(stores, fake.app, "GET", target, nowMs === undefined ? {} : { nowMs })
  const post = (target: string, json: unknown) => call(stores, fake.app, "POST", target, { body: json })
  const change = (
    event: PresenceChange["event"],
    userId: string,
    atOffset: number,
    extra: Partial<PresenceChange> = {}
  ) =>
    presence(stores, fake.app, {
      channel: ROOM,
      event,
      userId,
      atMs: T0 + atOffset,
      socketId: `${atOffset}.1`,
      ...extra
    })
  return { ...fake, stores, get, post, change }
}

const events = (response: ReturnType<ReturnType<typeof setup>["get"]>) =>
  (body(response).items as Array<{ serial: number; event: string; user_id: string }>).map((i) => [
    i.serial,
    i.event,
    i.user_id
  ])

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })

describe("presence history store", () => {
  it("records joins, updates and leaves of presence- channels with the documented item shape", () => {
    const p = setup()
    p.change("member_added", "u1", 1, { userInfo: { name: "Ada" } })
    p.change("member_added", "u2", 2)
    p.change("member_updated", "u1", 3, { userInfo: { name: "Ada L." } })
    p.change("member_removed", "u2", 4, { cause: "disconnect" })
    presence(p.stores, p.app, { channel: "private-x", event: "member_added", userId: "u9" })
    const page = body(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first`))
    expect(events(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first`))).toEqual([
      [1, "member_added", "u1"],
      [2, "member_added", "u2"],
      [3, "member_updated", "u1"],
      [4, "member_removed", "u2"]
    ])
    expect(page.items[0]).toEqual({
      stream_id: "stream-1",
      serial: 1,
      published_at_ms: T0 + 1,
      event: "member_added",
      cause: "join",
      user_id: "u1",
      connection_id: "1.1",
      dead_node_id: null,
      payload_size_bytes: expect.any(Number),
      presence_event: {
        stream_id: "stream-1",
        serial: 1,
        published_at_ms: T0 + 1,
        event: "member_added",
        cause: "join",
        user_id: "u1",
        connection_id: "1.1",
        user_info: { name: "Ada" },
        dead_node_id: null
      }
    })
    expect(page.items[3].cause).toBe("disconnect")
    expect(page.continuity).toMatchObject({ retained_events: 4, degraded: false, complete: true })
    expect(page.continuity.retained_messages).toBeUndefined()
    expect(page.stream_state).toMatchObject({ continuity_proven: true, durable_state: "healthy" })
    expect(page.stream_state.recovery_allowed).toBeUndefined()
  })

  it("records a removal without the member's user_info, as the server does", () => {
    const p = setup()
    p.change("member_added", "u1", 1, { userInfo: { name: "Ada" } })
    p.change("member_removed", "u1", 2, { userInfo: { name: "Ada" }, cause: "disconnect" })
    const [, removed] = body(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first`)).items
    expect(removed.presence_event.user_info).toBeNull()
  })

  it("kept in the history store (history on server-wide): dedupe_key instead of stream id and serial", () => {
    const own = setup()
    const kept = setup({}, { inHistoryStore: true })
    for (const p of [own, kept]) {
      p.change("member_added", "u1", 1, { userInfo: { name: "Ada" } })
      p.change("member_removed", "u1", 2, { cause: "disconnect" })
    }
    const read = (p: typeof own, query = "") =>
      body(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first${query}`))
    const [plain] = read(own).items
    const [added, removed] = read(kept).items
    const { stream_id: _streamId, serial: _serial, ...fields } = plain.presence_event
    expect(added).toMatchObject({ stream_id: "stream-1", serial: 1, connection_id: "1.1" })
    expect(added.presence_event).toEqual({ ...fields, dedupe_key: `member_added:app-id:${ROOM}:u1:1.1` })
    expect(added.payload_size_bytes).toBe(Buffer.byteLength(JSON.stringify(added.presence_event)))
    expect(removed.presence_event.dedupe_key).toBe(`member_removed:app-id:${ROOM}:u1:2.1:_`)
    // Its cursors expire in the history store's words.
    const cursor = read(kept, "&limit=1").next_cursor
    kept.post(`/channels/${ROOM}/presence/history/reset`, {
      confirm_channel: ROOM,
      confirm_operation: "reset",
      reason: "r"
    })
    expect(kept.get(`/channels/${ROOM}/presence/history?direction=oldest_first&cursor=${cursor}`)).toEqual(
      envelope(400, "invalid_input", "Expired history cursor: channel stream changed")
    )
  })

  it("does not record a repeated edge (a second member_added without a removal)", () => {
    const p = setup()
    p.change("member_added", "u1", 1)
    p.change("member_added", "u1", 2)
    p.change("member_removed", "u1", 3)
    p.change("member_added", "u1", 4)
    expect(events(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first`))).toEqual([
      [1, "member_added", "u1"],
      [2, "member_removed", "u1"],
      [3, "member_added", "u1"]
    ])
  })

  it("accepts only presence- channels (400) with the feature on (422), and records nothing when off", () => {
    const p = setup()
    expect(p.get("/channels/private-room/presence/history")).toEqual(
      envelope(400, "invalid_input", "Only presence channels support this endpoint")
    )
    expect(p.get("/channels/private-room/presence/history/snapshot")).toMatchObject({ status: 400 })
    const off = setup({ presenceHistory: false })
    off.change("member_added", "u1", 1)
    expect(off.get(`/channels/${ROOM}/presence/history`)).toEqual(
      envelope(422, "feature_disabled", `Presence history is disabled by policy for channel '${ROOM}'`)
    )
    expect(events(call(off.stores, fakeApp().app, "GET", `/channels/${ROOM}/presence/history`))).toEqual([])
  })

  it("pages like history: limit clamp and 0, exclusive cursors with matching direction and bounds", () => {
    const p = setup({}, { maxPageSize: 2 })
    for (let i = 1; i <= 5; i++) p.change("member_added", `u${i}`, i)
    const first = body(p.get(`/channels/${ROOM}/presence/history?limit=50`))
    expect(first).toMatchObject({ limit: 2, has_more: true, direction: "newest_first" })
    expect(first.items.map((i: { serial: number }) => i.serial)).toEqual([5, 4])
    const second = p.get(`/channels/${ROOM}/presence/history?cursor=${first.next_cursor}`)
    expect(events(second).map(([s]) => s)).toEqual([3, 2])
    expect(p.get(`/channels/${ROOM}/presence/history?limit=0`)).toEqual(
      envelope(400, "invalid_input", "Presence history limit must be greater than 0")
    )
    expect(p.get(`/channels/${ROOM}/presence/history?direction=oldest_first&cursor=${first.next_cursor}`)).toEqual(
      envelope(400, "invalid_input", "Presence history cursor direction does not match the request")
    )
    expect(p.get(`/channels/${ROOM}/presence/history?end_serial=9&cursor=${first.next_cursor}`)).toEqual(
      envelope(400, "invalid_input", "Presence history cursor bounds do not match the request")
    )
    expect(events(p.get(`/channels/${ROOM}/presence/history?start_serial=2&end_serial=3`)).map(([s]) => s)).toEqual([
      3, 2
    ])
    expect(p.get(`/channels/${ROOM}/presence/history?cursor=abc%24`)).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/^Invalid presence history cursor: /) }
    })
    expect(p.get(`/channels/${ROOM}/presence/history?end=1&end=2`)).toMatchObject({
      status: 400,
      text: expect.any(String)
    })
  })

  it("reports state and resets: a new stream, serials from 1, old cursors expired", () => {
    const p = setup()
    p.change("member_added", "u1", 1)
    p.change("member_added", "u2", 2)
    expect(body(p.get(`/channels/${ROOM}/presence/history/state`))).toMatchObject({
      channel: ROOM,
      stream: {
        stream_id: "stream-1",
        next_serial: 3,
        retained: { stream_id: "stream-1", retained_events: 2, oldest_available_serial: 1, newest_available_serial: 2 },
        state: { continuity_proven: true }
      }
    })
    const cursor = body(p.get(`/channels/${ROOM}/presence/history?limit=1`)).next_cursor
    const base = { confirm_channel: ROOM, confirm_operation: "reset", reason: "r" }
    expect(p.post(`/channels/${ROOM}/presence/history/reset`, { ...base, confirm_channel: "presence-other" })).toEqual(
      envelope(400, "invalid_input", "confirm_channel must exactly match the channel path")
    )
    expect(p.post(`/channels/${ROOM}/presence/history/reset`, { confirm_channel: ROOM })).toMatchObject({ status: 422 })
    const reset = body(p.post(`/channels/${ROOM}/presence/history/reset`, { ...base, requested_by: "ops" }))
    expect(reset).toMatchObject({
      ok: true,
      operation: "reset",
      channel: ROOM,
      requested_by: "ops",
      previous_stream_id: "stream-1",
      new_stream_id: "stream-2",
      purged_events: 2,
      stream: { next_serial: 1 }
    })
    expect(reset.purged_messages).toBeUndefined()
    expect(p.get(`/channels/${ROOM}/presence/history?limit=1&cursor=${cursor}`)).toEqual(
      envelope(400, "invalid_input", "Expired presence history cursor: channel stream changed")
    )
    p.change("member_added", "u1", 5)
    expect(events(p.get(`/channels/${ROOM}/presence/history`))).toEqual([[1, "member_added", "u1"]])
  })

  it("snapshots replay retained events oldest first up to an inclusive serial or time", () => {
    const p = setup()
    p.change("member_added", "u2", 1)
    p.change("member_added", "u1", 2)
    p.change("member_updated", "u2", 3)
    p.change("member_removed", "u1", 4)
    expect(body(p.get(`/channels/${ROOM}/presence/history/snapshot`))).toEqual({
      channel: ROOM,
      members: [{ user_id: "u2", last_event: "member_updated", last_event_serial: 3, last_event_at_ms: T0 + 3 }],
      member_count: 1,
      events_replayed: 4,
      snapshot_serial: 4,
      snapshot_time_ms: T0 + 4,
      continuity: {
        stream_id: "stream-1",
        oldest_available_serial: 1,
        newest_available_serial: 4,
        oldest_available_published_at_ms: T0 + 1,
        newest_available_published_at_ms: T0 + 4,
        retained_events: 4,
        retained_bytes: expect.any(Number),
        complete: true,
        truncated_by_retention: false
      }
    })
    const atSerial = body(p.get(`/channels/${ROOM}/presence/history/snapshot?at_serial=2`))
    expect(atSerial).toMatchObject({ member_count: 2, events_replayed: 2, snapshot_serial: 2 })
    expect(atSerial.members.map((m: { user_id: string }) => m.user_id)).toEqual(["u1", "u2"])
    expect(body(p.get(`/channels/${ROOM}/presence/history/snapshot?at_time_ms=${T0 + 3}`))).toMatchObject({
      member_count: 2,
      events_replayed: 3,
      snapshot_time_ms: T0 + 3
    })
    expect(body(p.get(`/channels/${ROOM}/presence/history/snapshot?at=${T0 + 1}`))).toMatchObject({
      member_count: 1,
      snapshot_serial: 1
    })
    expect(body(p.get(`/channels/${ROOM}/presence/history/snapshot?at=${T0 + 1}&at_time_ms=${T0 + 4}`))).toMatchObject({
      events_replayed: 4
    })
    expect(p.get(`/channels/${ROOM}/presence/history/snapshot?at_serial=x`)).toMatchObject({
      status: 400,
      text: expect.any(String)
    })
    expect(body(p.get("/channels/presence-empty/presence/history/snapshot"))).toMatchObject({
      members: [],
      member_count: 0,
      events_replayed: 0,
      snapshot_serial: null,
      snapshot_time_ms: null
    })
  })

  it("retention evicts by window and count; snapshots then say they are incomplete", () => {
    const p = setup({}, { retention: { windowMs: 100, maxEventsPerChannel: 2 } })
    p.change("member_added", "u1", 1)
    p.change("member_added", "u2", 2)
    p.change("member_added", "u3", 3)
    expect(events(p.get(`/channels/${ROOM}/presence/history`, T0 + 10)).map(([s]) => s)).toEqual([3, 2])
    const snapshot = body(p.get(`/channels/${ROOM}/presence/history/snapshot`, T0 + 10))
    expect(snapshot.continuity).toMatchObject({
      complete: false,
      truncated_by_retention: true,
      oldest_available_serial: 2
    })
    expect(events(p.get(`/channels/${ROOM}/presence/history`, T0 + 103)).map(([s]) => s)).toEqual([3])
  })
})
