/**
 * Presence history against the real server and the emulator: members joining and leaving a
 * presence channel through real connections, read back as pages and as a `Stream`, the
 * stream's state, membership snapshots at a serial and at a time, and reset.
 *
 * The server records a departure after its disconnect cleanup, which runs asynchronously, so
 * the scenarios wait for what they expect by polling with an SDK whose exchanges are not
 * compared (the number of polls differs between the peers), then read once with the recorded one.
 */
import * as Stream from "effect/Stream"
import { expect } from "vitest"
import type { PresenceHistory, SockudoError } from "../../src/index.ts"
import { type PeerClient, sleep } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import type { Session } from "./support/peers.ts"
import { makeSdk } from "./support/sdk.ts"

const peers = usePeers()

const seen = (error: unknown) => {
  const e = error as SockudoError.SockudoError & { status?: number; code?: string; message: string }
  return { tag: e._tag, status: e.status, code: e.code, message: e.message }
}

/** A connection of `user` in `room`, authorized as the app server would. */
const join = async (s: Session, room: string, user: string): Promise<PeerClient> => {
  const client = await s.connect()
  const auth = await s.sdk.run((sdk) =>
    sdk.authorizeChannel(client.socketId, room, { user_id: user, user_info: { name: user.toUpperCase() } })
  )
  expect(await client.subscribe(room, auth)).toEqual({ ok: true })
  return client
}

/** A presence change as a reader cares about it. */
const change = (item: PresenceHistory.PresenceHistoryItem) => [item.event, item.user_id, item.cause]

/**
 * Waits until the room's presence history holds `n` events, reading with an SDK of its own
 * (not recorded), and returns them oldest first.
 */
const settled = async (s: Session, room: string, n: number, timeoutMs = 10_000) => {
  const quiet = makeSdk(s.peer.baseUrl, apps.test)
  try {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const page = await quiet.run((sdk) => sdk.presenceHistory.list(room, { direction: "oldest_first" }))
      if (page.items.length >= n) return page.items
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${n} presence events in ${room}: ${JSON.stringify(page.items.map(change))}`
        )
      }
      await sleep(25)
    }
  } finally {
    await quiet.dispose()
  }
}

const list = (s: Session, room: string, options?: { readonly limit?: number; readonly cursor?: string }) =>
  s.sdk.run((sdk) => sdk.presenceHistory.list(room, { direction: "oldest_first", ...options }))

differential(peers, "presence history records joins and leaves of real connections", async (s) => {
  const room = `presence-${s.name("room")}`
  const [ada, bob] = [s.name("ada"), s.name("bob")]
  const adaFirst = await join(s, room, ada)
  const bobClient = await join(s, room, bob)
  await settled(s, room, 2)
  // A second connection of a member already present is no change; carol's join is the fence.
  const adaSecond = await join(s, room, ada)
  const carol = s.name("carol")
  await join(s, room, carol)
  await settled(s, room, 3)
  const joined = await list(s, room)
  expect(joined.items.map(change)).toEqual([
    ["member_added", ada, "join"],
    ["member_added", bob, "join"],
    ["member_added", carol, "join"]
  ])
  const first = joined.items[0]!.serial
  expect(joined.items.map((i) => i.serial)).toEqual([first, first + 1, first + 2])
  // With history on, the server keeps presence history in the history store: the stored event
  // carries the key it is deduplicated by rather than its stream id and serial.
  expect(joined.items[0]!.presence_event).toEqual({
    published_at_ms: joined.items[0]!.published_at_ms,
    event: "member_added",
    cause: "join",
    user_id: ada,
    connection_id: adaFirst.socketId,
    user_info: { name: ada.toUpperCase() },
    dead_node_id: null,
    dedupe_key: `member_added:test-app:${room}:${ada}:${adaFirst.socketId}`
  })
  expect(joined.items[0]!.connection_id).toBe(adaFirst.socketId)

  // Bob's only connection closes: he leaves. Ada's first closes, but her second is still in.
  await bobClient.disconnect()
  await settled(s, room, 4)
  await adaFirst.disconnect()
  await adaSecond.unsubscribe(room)
  const all = await settled(s, room, 5)
  expect(all.map(change)).toEqual([
    ["member_added", ada, "join"],
    ["member_added", bob, "join"],
    ["member_added", carol, "join"],
    ["member_removed", bob, "disconnect"],
    ["member_removed", ada, "disconnect"]
  ])
  const read = await list(s, room)
  expect(read.items.map(change)).toEqual(all.map(change))
  expect(read.continuity).toMatchObject({ retained_events: 5, complete: true, degraded: false })
  expect(read.stream_state).toMatchObject({ durable_state: "healthy", continuity_proven: true })
  // Newest first is the default.
  const newest = await s.sdk.run((sdk) => sdk.presenceHistory.list(room, { limit: 2 }))
  expect(newest.items.map(change)).toEqual([
    ["member_removed", ada, "disconnect"],
    ["member_removed", bob, "disconnect"]
  ])
  expect(newest).toMatchObject({ direction: "newest_first", limit: 2, has_more: true })
})

differential(peers, "presenceHistory.stream, state, bounds and a bound cursor", async (s) => {
  const room = `presence-${s.name("paged")}`
  const users = ["u1", "u2", "u3", "u4"].map((u) => s.name(u))
  const clients: Array<PeerClient> = []
  for (const user of users) clients.push(await join(s, room, user))
  // The time bounds below cut between the fourth join and the removal: not in the same millisecond.
  await sleep(10)
  await clients[0]!.disconnect()
  const events = await settled(s, room, 5)

  const before = s.exchanges().length
  const streamed = await s.sdk.run((sdk) =>
    Stream.runCollect(sdk.presenceHistory.stream(room, { limit: 2, direction: "oldest_first" }))
  )
  expect(streamed.map(change)).toEqual([
    ...users.map((u) => ["member_added", u, "join"]),
    ["member_removed", users[0], "disconnect"]
  ])
  expect(streamed.map((i) => i.serial)).toEqual(events.map((i) => i.serial))
  expect(s.exchanges().length - before).toBe(3)

  const [, second, third] = events.map((i) => i.serial)
  const bounded = await s.sdk.run((sdk) =>
    sdk.presenceHistory.list(room, { direction: "oldest_first", startSerial: second, endSerial: third })
  )
  expect(bounded.items.map((i) => i.user_id)).toEqual([users[1], users[2]])
  const times = events.map((i) => i.published_at_ms)
  const byTime = await s.sdk.run((sdk) =>
    sdk.presenceHistory.list(room, { direction: "oldest_first", startTimeMs: times[1]!, endTimeMs: times[3]! })
  )
  expect(byTime.items.map((i) => i.serial)).toEqual(
    events.filter((i) => i.published_at_ms >= times[1]! && i.published_at_ms <= times[3]!).map((i) => i.serial)
  )

  const page = await list(s, room, { limit: 2 })
  expect(
    seen(
      await s.sdk.fail((sdk) =>
        sdk.presenceHistory.list(room, { cursor: page.next_cursor!, direction: "newest_first" })
      )
    )
  ).toMatchObject({ status: 400, code: "invalid_input" })

  const state = await s.sdk.run((sdk) => sdk.presenceHistory.state(room))
  expect(state.channel).toBe(room)
  expect(state.stream.stream_id).toBe(events[0]!.stream_id)
  expect(state.stream.next_serial).toBe(events[4]!.serial + 1)
  expect(state.stream.retained).toMatchObject({
    retained_events: 5,
    oldest_available_serial: events[0]!.serial,
    newest_available_serial: events[4]!.serial
  })
  expect(state.stream.state).toMatchObject({ durable_state: "healthy", reset_required: false })
  // Only presence- channels have presence history: refused before anything is sent.
  expect(seen(await s.sdk.fail((sdk) => sdk.presenceHistory.state(s.name("plain"))))).toMatchObject({
    tag: "SockudoValidationError"
  })
})

differential(peers, "presence snapshots at a serial, at a time and now", async (s) => {
  const room = `presence-${s.name("snap")}`
  const [ada, bob, cid] = [s.name("ada"), s.name("bob"), s.name("cid")]
  const adaClient = await join(s, room, ada)
  await join(s, room, bob)
  await adaClient.disconnect()
  await settled(s, room, 3)
  await join(s, room, cid)
  const events = await settled(s, room, 4)
  expect(events.map(change)).toEqual([
    ["member_added", ada, "join"],
    ["member_added", bob, "join"],
    ["member_removed", ada, "disconnect"],
    ["member_added", cid, "join"]
  ])
  const members = (snapshot: PresenceHistory.PresenceSnapshot) => snapshot.members.map((m) => m.user_id).sort()

  const now = await s.sdk.run((sdk) => sdk.presenceHistory.snapshot(room))
  expect(members(now)).toEqual([bob, cid].sort())
  expect(now).toMatchObject({ channel: room, member_count: 2, events_replayed: 4 })
  expect(now.members.find((m) => m.user_id === cid)).toMatchObject({
    last_event: "member_added",
    last_event_serial: events[3]!.serial,
    last_event_at_ms: events[3]!.published_at_ms
  })

  const atSecond = await s.sdk.run((sdk) => sdk.presenceHistory.snapshot(room, { atSerial: events[1]!.serial }))
  expect(members(atSecond)).toEqual([ada, bob].sort())
  expect(atSecond).toMatchObject({ member_count: 2, events_replayed: 2, snapshot_serial: events[1]!.serial })
  const atThird = await s.sdk.run((sdk) => sdk.presenceHistory.snapshot(room, { atSerial: events[2]!.serial }))
  expect(members(atThird)).toEqual([bob])

  // At a time: every event published up to that millisecond, inclusive.
  const at = events[2]!.published_at_ms
  const byTime = await s.sdk.run((sdk) => sdk.presenceHistory.snapshot(room, { atTimeMs: at }))
  const upTo = events.filter((e) => e.published_at_ms <= at)
  expect(byTime).toMatchObject({ snapshot_time_ms: at, events_replayed: upTo.length })
  const before = await s.sdk.run((sdk) =>
    sdk.presenceHistory.snapshot(room, { atTimeMs: events[0]!.published_at_ms - 1 })
  )
  expect(before).toMatchObject({ members: [], member_count: 0, events_replayed: 0 })
})

differential(peers, "presenceHistory.reset rotates the stream and forgets the events", async (s) => {
  const room = `presence-${s.name("reset")}`
  const ada = s.name("ada")
  const client = await join(s, room, ada)
  await join(s, room, s.name("bob"))
  const events = await settled(s, room, 2)
  const page = await list(s, room, { limit: 1 })
  const reset = await s.sdk.run((sdk) =>
    sdk.presenceHistory.reset(room, { reason: "test: forget", requestedBy: "suite" })
  )
  expect(reset).toMatchObject({
    ok: true,
    operation: "reset",
    channel: room,
    reason: "test: forget",
    requested_by: "suite",
    previous_stream_id: events[0]!.stream_id,
    purged_events: 2
  })
  expect(reset.new_stream_id).not.toBe(events[0]!.stream_id)
  expect(reset.stream).toMatchObject({ stream_id: reset.new_stream_id, retained: { retained_events: 0 } })
  expect((await list(s, room)).items).toEqual([])
  expect(
    seen(
      await s.sdk.fail((sdk) =>
        sdk.presenceHistory.list(room, { direction: "oldest_first", cursor: page.next_cursor! })
      )
    )
  ).toMatchObject({ status: 400, code: "invalid_input" })
  // The members are still there; what happens next is recorded in the new stream.
  expect((await s.sdk.run((sdk) => sdk.presenceHistory.snapshot(room))).members).toEqual([])
  await client.disconnect()
  const after = await settled(s, room, 1)
  expect(after.map((i) => [...change(i), i.stream_id])).toEqual([
    ["member_removed", ada, "disconnect", reset.new_stream_id]
  ])
})
