/**
 * Durable history against the real server and the emulator: what each publish stored (read
 * back), pages in both directions with their bounds, a `Stream` over several pages, cursors
 * bound to their direction, bounds and stream, the stream's state, reset and the three purges
 * with the server's confirmation rules.
 */
import * as Stream from "effect/Stream"
import { expect } from "vitest"
import { type History, Messages, type SockudoError } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

/** What a caller sees of a failure: its tag, status, server code and message. */
const seen = (error: unknown) => {
  const e = error as SockudoError.SockudoError & { status?: number; code?: string; message: string }
  return { tag: e._tag, status: e.status, code: e.code, message: e.message }
}

/** Publishes `n` events `e1`..`en` with data `{ n: i }` to `channel`, one at a time. */
const publish = async (s: Session, channel: string, n: number, from = 1): Promise<void> => {
  for (let i = from; i < from + n; i++) await s.sdk.run((sdk) => sdk.trigger(channel, `e${i}`, { n: i }))
}

/**
 * The event name a row stored. test-app versions every message, so a row shows the latest
 * version of its message: `event_name` is `sockudo:message.<action>`, the name is `message.name`.
 */
const named = (item: History.HistoryItem) => item.message.name

/** A history row as a reader cares about it: serial, event name and the data it stored. */
const row = (item: History.HistoryItem) => ({ serial: item.serial, event: named(item), data: item.message.data })

const everything = (s: Session, channel: string, direction: "newest_first" | "oldest_first" = "oldest_first") =>
  s.sdk.run((sdk) => sdk.history.list(channel, { direction }))

differential(peers, "history holds what each publish stored, serials increasing by one", async (s) => {
  const channel = s.name("ledger")
  await s.sdk.run((sdk) => sdk.trigger(channel, "text", "plain text"))
  await s.sdk.run((sdk) => sdk.trigger(channel, "object", { id: "ord_1", total: 12.5 }))
  await s.sdk.run((sdk) => sdk.trigger(channel, "unicode", { text: "zażółć 🎉" }))
  const page = await everything(s, channel)
  expect(page.items.map((i) => [i.event_name, named(i), i.message.data])).toEqual([
    ["sockudo:message.create", "text", "plain text"],
    ["sockudo:message.create", "object", JSON.stringify({ id: "ord_1", total: 12.5 })],
    ["sockudo:message.create", "unicode", JSON.stringify({ text: "zażółć 🎉" })]
  ])
  expect(page.items.map((i) => [i.operation_kind, Messages.isVersioned(i.message) && i.message.action])).toEqual(
    Array(3).fill(["message.create", "create"])
  )
  const first = page.items[0]!.serial
  expect(page.items.map((i) => i.serial)).toEqual([first, first + 1, first + 2])
  expect(new Set(page.items.map((i) => i.stream_id)).size).toBe(1)
  expect(page).toMatchObject({ direction: "oldest_first", has_more: false, limit: 100 })
  expect(page.continuity).toMatchObject({
    retained_messages: 3,
    oldest_available_serial: first,
    newest_available_serial: first + 2,
    complete: true,
    truncated_by_retention: false
  })
  // Newest first is the default and the exact reverse.
  const newest = await s.sdk.run((sdk) => sdk.history.list(channel))
  expect(newest.direction).toBe("newest_first")
  expect(newest.items.map(row)).toEqual([...page.items].reverse().map(row))
})

differential(peers, "a page size, both directions, serial and time bounds", async (s) => {
  const channel = s.name("bounded")
  await publish(s, channel, 6)
  const all = await everything(s, channel)
  const serials = all.items.map((i) => i.serial)
  expect(all.items.map(row).map((r) => r.event)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6"])

  const newest = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 2 }))
  expect(newest.items.map(named)).toEqual(["e6", "e5"])
  expect(newest).toMatchObject({ limit: 2, has_more: true, next_cursor: expect.any(String) })
  expect(newest.continuity.complete).toBe(false)
  const oldest = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 2, direction: "oldest_first" }))
  expect(oldest.items.map(named)).toEqual(["e1", "e2"])

  const [, second, , fourth] = serials as [number, number, number, number]
  const bySerial = await s.sdk.run((sdk) =>
    sdk.history.list(channel, { direction: "oldest_first", startSerial: second, endSerial: fourth })
  )
  expect(bySerial.items.map(named)).toEqual(["e2", "e3", "e4"])
  expect(bySerial.bounds).toEqual({ start_serial: second, end_serial: fourth, start_time_ms: null, end_time_ms: null })
  const fromSerial = await s.sdk.run((sdk) => sdk.history.list(channel, { startSerial: fourth }))
  expect(fromSerial.items.map(named)).toEqual(["e6", "e5", "e4"])

  // Time bounds are inclusive: every row published within [t(e2), t(e5)].
  const times = all.items.map((i) => i.published_at_ms)
  const [startTimeMs, endTimeMs] = [times[1]!, times[4]!]
  const byTime = await s.sdk.run((sdk) =>
    sdk.history.list(channel, { direction: "oldest_first", startTimeMs, endTimeMs })
  )
  expect(byTime.items.map(named)).toEqual(
    all.items.filter((i) => i.published_at_ms >= startTimeMs && i.published_at_ms <= endTimeMs).map(named)
  )
  expect(byTime.bounds).toMatchObject({ start_time_ms: startTimeMs, end_time_ms: endTimeMs })
  const none = await s.sdk.run((sdk) => sdk.history.list(channel, { endTimeMs: times[0]! - 1 }))
  expect(none.items).toEqual([])
})

differential(peers, "history.stream follows the cursor over several pages", async (s) => {
  const channel = s.name("paged")
  await publish(s, channel, 7)
  const read = (direction: "newest_first" | "oldest_first") =>
    s.sdk.run((sdk) => Stream.runCollect(sdk.history.stream(channel, { limit: 3, direction })))
  const before = s.exchanges().length
  const oldest = await read("oldest_first")
  expect(oldest.map(row).map((r) => r.event)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6", "e7"])
  expect(oldest.map((i) => i.serial)).toEqual([...Array(7).keys()].map((k) => oldest[0]!.serial + k))
  // Three pages of 3, 3 and 1, each asked with the same direction and size.
  const pages = s.exchanges().slice(before)
  expect(pages.map((e) => [e.query.limit, e.query.direction, e.query.cursor === undefined])).toEqual([
    ["3", "oldest_first", true],
    ["3", "oldest_first", false],
    ["3", "oldest_first", false]
  ])
  const newest = await read("newest_first")
  expect(newest.map(named)).toEqual(["e7", "e6", "e5", "e4", "e3", "e2", "e1"])
  // Taking 4 reads only the two pages that hold them.
  const from = s.exchanges().length
  const four = await s.sdk.run((sdk) => Stream.runCollect(Stream.take(sdk.history.stream(channel, { limit: 3 }), 4)))
  expect(four.map(named)).toEqual(["e7", "e6", "e5", "e4"])
  expect(s.exchanges().length - from).toBe(2)
})

differential(peers, "a cursor is bound to its direction, bounds and channel", async (s) => {
  const channel = s.name("cursor")
  const other = s.name("elsewhere")
  await publish(s, channel, 4)
  await publish(s, other, 1)
  const first = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 2 }))
  const cursor = first.next_cursor!
  const next = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 2, cursor }))
  expect(next.items.map(named)).toEqual(["e2", "e1"])
  expect(next.has_more).toBe(false)
  // The same cursor with a page size of its own is fine: only direction and bounds are bound.
  const smaller = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 1, cursor }))
  expect(smaller.items.map(named)).toEqual(["e2"])
  expect(
    seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { cursor, direction: "oldest_first" })))
  ).toMatchObject({ tag: "SockudoClientError", status: 400, code: "invalid_input" })
  expect(seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { cursor, startSerial: 1 })))).toMatchObject({
    tag: "SockudoClientError",
    status: 400,
    code: "invalid_input"
  })
  expect(seen(await s.sdk.fail((sdk) => sdk.history.list(other, { cursor })))).toMatchObject({
    status: 400,
    code: "invalid_input"
  })
  // A cursor is unpadded base64url of JSON: one that is not, or of an unknown version, is refused.
  expect(seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { cursor: "not*a*cursor" })))).toMatchObject({
    status: 400,
    code: "invalid_input",
    message: "Invalid history cursor: Invalid symbol 42, offset 3."
  })
  const forged = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(cursor, "base64url").toString()), version: 2 })
  ).toString("base64url")
  expect(seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { cursor: forged })))).toMatchObject({
    status: 400,
    message: "Unsupported history cursor version: 2"
  })
})

differential(peers, "history.state: stream id, next serial and what is retained", async (s) => {
  const channel = s.name("state")
  const empty = await s.sdk.run((sdk) => sdk.history.state(channel))
  expect(empty.channel).toBe(channel)
  expect(empty.stream.retained.retained_messages).toBe(0)
  expect(empty.stream.state).toMatchObject({ durable_state: "healthy", reset_required: false, recovery_allowed: true })
  await publish(s, channel, 3)
  const state = await s.sdk.run((sdk) => sdk.history.state(channel))
  const page = await everything(s, channel)
  const serials = page.items.map((i) => i.serial)
  expect(state.stream.stream_id).toBe(page.items[0]!.stream_id)
  expect(state.stream.next_serial).toBe(serials[2]! + 1)
  expect(state.stream.retained).toMatchObject({
    stream_id: page.items[0]!.stream_id,
    retained_messages: 3,
    oldest_available_serial: serials[0],
    newest_available_serial: serials[2],
    oldest_available_published_at_ms: page.items[0]!.published_at_ms,
    newest_available_published_at_ms: page.items[2]!.published_at_ms
  })
  // The bytes of the stored rows, not of the latest versions a page shows.
  expect(state.stream.retained.retained_bytes).toBe(page.continuity.retained_bytes)
  expect(state.stream.retained.retained_bytes).toBeGreaterThan(0)
})

differential(peers, "history.reset rotates the stream and empties it", async (s) => {
  const channel = s.name("reset")
  await publish(s, channel, 3)
  const before = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 1 }))
  const cursor = before.next_cursor!
  const oldStream = before.items[0]!.stream_id
  const reset = await s.sdk.run((sdk) =>
    sdk.history.reset(channel, { reason: "test: start over", requestedBy: "suite" })
  )
  expect(reset).toMatchObject({
    ok: true,
    operation: "reset",
    channel,
    reason: "test: start over",
    requested_by: "suite",
    previous_stream_id: oldStream,
    purged_messages: 3
  })
  expect(reset.new_stream_id).not.toBe(oldStream)
  expect(reset.stream.stream_id).toBe(reset.new_stream_id)
  expect(reset.stream.retained.retained_messages).toBe(0)
  expect((await everything(s, channel)).items).toEqual([])
  expect((await s.sdk.run((sdk) => sdk.history.state(channel))).stream.stream_id).toBe(reset.new_stream_id)
  // A cursor of the old stream has expired.
  expect(seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { limit: 1, cursor })))).toMatchObject({
    status: 400,
    code: "invalid_input"
  })
  // What is published next goes to the new stream.
  await publish(s, channel, 1, 4)
  const after = await everything(s, channel)
  expect(after.items.map((i) => [named(i), i.stream_id])).toEqual([["e4", reset.new_stream_id]])
  // A reset without a reason is refused before anything is sent.
  expect(seen(await s.sdk.fail((sdk) => sdk.history.reset(channel, { reason: " " })))).toMatchObject({
    tag: "SockudoValidationError"
  })
})

differential(peers, "history.purge: all, before a serial, before a time", async (s) => {
  const channel = s.name("purge")
  await publish(s, channel, 5)
  const all = await everything(s, channel)
  const streamId = all.items[0]!.stream_id
  const serials = all.items.map((i) => i.serial)

  const bySerial = await s.sdk.run((sdk) =>
    sdk.history.purge(channel, { mode: "before_serial", beforeSerial: serials[2]!, reason: "drop the first two" })
  )
  expect(bySerial).toMatchObject({
    ok: true,
    operation: "purge",
    channel,
    mode: "before_serial",
    before_serial: serials[2],
    before_time_ms: null,
    requested_by: null,
    purged_messages: 2
  })
  expect(bySerial.stream.stream_id).toBe(streamId)
  expect((await everything(s, channel)).items.map(named)).toEqual(["e3", "e4", "e5"])

  // Rows published before the time of e5 (and so e3, e4, unless they share its millisecond).
  const cut = all.items[4]!.published_at_ms
  const byTime = await s.sdk.run((sdk) =>
    sdk.history.purge(channel, { mode: "before_time_ms", beforeTimeMs: cut, reason: "older than e5" })
  )
  const kept = all.items.slice(2).filter((i) => i.published_at_ms >= cut)
  expect(byTime).toMatchObject({ mode: "before_time_ms", before_serial: null, purged_messages: 3 - kept.length })
  expect((await everything(s, channel)).items.map(named)).toEqual(kept.map(named))

  await publish(s, channel, 1, 6)
  const purgedAll = await s.sdk.run((sdk) =>
    sdk.history.purge(channel, { mode: "all", reason: "empty it", requestedBy: "suite" })
  )
  expect(purgedAll).toMatchObject({ mode: "all", purged_messages: kept.length + 1, requested_by: "suite" })
  expect(purgedAll.stream.stream_id).toBe(streamId)
  expect((await everything(s, channel)).items).toEqual([])
  // The stream id is kept and the serials go on.
  await publish(s, channel, 1, 7)
  const after = await everything(s, channel)
  expect(after.items.map((i) => [named(i), i.stream_id, i.serial])).toEqual([["e7", streamId, serials[4]! + 2]])
})

differential(peers, "a cursor into purged rows has expired", async (s) => {
  const channel = s.name("expired")
  await publish(s, channel, 4)
  const first = await s.sdk.run((sdk) => sdk.history.list(channel, { limit: 1, direction: "oldest_first" }))
  const cursor = first.next_cursor!
  await s.sdk.run((sdk) =>
    sdk.history.purge(channel, { mode: "before_serial", beforeSerial: first.items[0]!.serial + 2, reason: "drop" })
  )
  expect(
    seen(await s.sdk.fail((sdk) => sdk.history.list(channel, { limit: 1, direction: "oldest_first", cursor })))
  ).toMatchObject({ status: 400, code: "invalid_input" })
})

differential(peers, "the server's own rules for history reads, resets and purges", async (s) => {
  const channel = s.name("rules")
  await publish(s, channel, 3)
  const path = `/channels/${channel}/history`
  const events = async (query: Record<string, string | number>) => {
    const answer = await s.sdk.raw("GET", path, { query })
    return answer.status === 200
      ? (answer.body as { direction: string; limit: number; items: Array<{ event_name: string }> })
      : answer
  }
  // Direction aliases, in any case; the SDK itself sends only newest_first and oldest_first.
  for (const [direction, order] of [
    ["backwards", "newest_first"],
    ["reverse", "newest_first"],
    ["forwards", "oldest_first"],
    ["forward", "oldest_first"],
    ["OLDEST_FIRST", "oldest_first"]
  ] as const) {
    expect(await events({ direction })).toMatchObject({ direction: order })
  }
  expect(await events({ direction: "sideways" })).toMatchObject({ status: 400, body: { code: "invalid_input" } })
  // `start` and `end` are aliases of the time bounds; limits above the maximum are clamped, 0 refused.
  expect(await events({ start: 0, end: 1 })).toMatchObject({ items: [] })
  expect(await events({ limit: 1000 })).toMatchObject({ limit: 100 })
  expect(await events({ limit: 0 })).toMatchObject({ status: 400, body: { code: "invalid_input" } })
  expect(await events({ start_serial: 3, end_serial: 2 })).toMatchObject({ status: 400 })

  const confirmed = (operation: "reset" | "purge", fields: Record<string, unknown>) =>
    s.sdk.raw("POST", `${path}/${operation}`, {
      body: JSON.stringify({ confirm_channel: channel, confirm_operation: operation, reason: "rules", ...fields })
    })
  const refusals = [
    await confirmed("reset", { confirm_channel: `${channel}-other` }),
    await confirmed("reset", { confirm_operation: "purge" }),
    await confirmed("reset", { reason: "  " }),
    await confirmed("purge", { mode: "all", before_serial: 2 }),
    await confirmed("purge", { mode: "before_serial" }),
    await confirmed("purge", { mode: "before_serial", before_serial: 2, before_time_ms: 1 }),
    await confirmed("purge", { mode: "before_time_ms", before_serial: 2 }),
    await confirmed("purge", { confirm_operation: "reset", mode: "all" })
  ]
  for (const refusal of refusals) expect(refusal).toMatchObject({ status: 400, body: { code: "invalid_input" } })
  // Shapes the server cannot read at all.
  expect((await confirmed("purge", { mode: "everything" })).status).toBe(422)
  expect((await confirmed("reset", { reason: undefined })).status).toBe(422)
  // Nothing was purged or reset by any of them.
  expect((await everything(s, channel)).items.map(named)).toEqual(["e1", "e2", "e3"])
})
