import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import type { Sockudo } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import { pagedHandler, signedQuery } from "../support/paging.ts"

const streamState = {
  stream_id: "7a1e0000-0000-4000-8000-000000000001",
  durable_state: "degraded",
  continuity_proven: false,
  reset_required: false,
  reason: "backend lagging",
  node_id: "node-a",
  last_transition_at_ms: 1710000000050,
  authoritative_source: "redis",
  observed_source: "memory"
} as const

const retained = {
  stream_id: "7a1e0000-0000-4000-8000-000000000001",
  oldest_available_serial: 1,
  newest_available_serial: 5,
  oldest_available_published_at_ms: 1709999999000,
  newest_available_published_at_ms: 1710000000000,
  retained_events: 5,
  retained_bytes: 800
} as const

const item = {
  stream_id: "7a1e0000-0000-4000-8000-000000000001",
  serial: 5,
  published_at_ms: 1710000000000,
  event: "member_added",
  cause: "join",
  user_id: "u1",
  connection_id: "123.456",
  dead_node_id: null,
  payload_size_bytes: 160,
  presence_event: {
    stream_id: "7a1e0000-0000-4000-8000-000000000001",
    serial: 5,
    published_at_ms: 1710000000000,
    event: "member_added",
    cause: "join",
    user_id: "u1",
    connection_id: "123.456",
    user_info: { name: "Ada" },
    dead_node_id: null
  }
} as const

const removedByCleanup = {
  ...item,
  serial: 6,
  event: "member_removed",
  cause: "orphan_cleanup",
  connection_id: null,
  dead_node_id: "node-b",
  presence_event: {
    ...item.presence_event,
    serial: 6,
    event: "member_removed",
    cause: "orphan_cleanup",
    connection_id: null,
    user_info: null,
    dead_node_id: "node-b"
  }
} as const

const { stream_id: _streamId, serial: _serial, ...storedEvent } = item.presence_event

/** A row as Sockudo 5.0.1 answers when presence history lives in the durable history store. */
const durable = {
  ...item,
  presence_event: { ...storedEvent, dedupe_key: "member_added:app-id:presence-room:u1:123.456" }
} as const

const page = (items: ReadonlyArray<unknown>, hasMore: boolean, next: string | null) => ({
  items,
  direction: "newest_first",
  limit: 100,
  has_more: hasMore,
  next_cursor: next,
  bounds: { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null },
  continuity: { ...retained, degraded: true, complete: true, truncated_by_retention: false },
  stream_state: streamState
})

const numbered = (serials: ReadonlyArray<number>, hasMore: boolean, next: string | null) =>
  page(
    serials.map((serial) => ({ ...item, serial, presence_event: { ...item.presence_event, serial } })),
    hasMore,
    next
  )

const inspection = { stream_id: retained.stream_id, next_serial: 6, retained, state: streamState } as const

const snapshot = {
  channel: "presence-room",
  members: [{ user_id: "u1", last_event: "member_added", last_event_serial: 3, last_event_at_ms: 1710000000000 }],
  member_count: 1,
  events_replayed: 4,
  snapshot_serial: 4,
  snapshot_time_ms: 1710000000100,
  continuity: {
    stream_id: retained.stream_id,
    oldest_available_serial: 1,
    newest_available_serial: 5,
    oldest_available_published_at_ms: 1709999999000,
    newest_available_published_at_ms: 1710000000000,
    retained_events: 5,
    retained_bytes: 800,
    complete: true,
    truncated_by_retention: false
  }
} as const

const channel = "presence-room@eu,x;y=z#u1"
const encoded = "presence-room%40eu%2Cx%3By%3Dz%23u1"

const resetResult = {
  ok: true,
  operation: "reset",
  channel,
  reason: "audit",
  requested_by: "ops",
  previous_stream_id: retained.stream_id,
  new_stream_id: "7a1e0000-0000-4000-8000-000000000002",
  purged_events: 5,
  purged_bytes: 800,
  stream: inspection
} as const

describe("presenceHistory.list", () => {
  it.effect("GETs /presence/history with the history query names, signed", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.presenceHistory.list(channel, {
        limit: 10,
        direction: "newest_first",
        cursor: "abc_-",
        startSerial: 2,
        endSerial: 3,
        startTimeMs: 4,
        endTimeMs: 5
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encoded}/presence/history`)
      assert.strictEqual(
        signedQuery(request!),
        "limit=10&direction=newest_first&cursor=abc_-&start_serial=2&end_serial=3&start_time_ms=4&end_time_ms=5"
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([], false, null)))))
  )

  it.effect("decodes the reference items, degraded continuity and continuity_proven state", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.presenceHistory.list("presence-room")
      assert.deepStrictEqual(result.items, [item, removedByCleanup])
      assert.deepStrictEqual(result.continuity, {
        ...retained,
        degraded: true,
        complete: true,
        truncated_by_retention: false
      })
      assert.deepStrictEqual(result.stream_state, streamState)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([item, removedByCleanup], false, null)))))
  )

  it.effect("decodes the durable store's presence_event: no stream_id or serial, a dedupe_key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.presenceHistory.list("presence-room")
      assert.deepStrictEqual(result.items, [durable])
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([durable], false, null)))))
  )

  it.effect("presence history disabled (422) is a SockudoClientError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.presenceHistory.list("presence-room"))).toMatchObject({
        _tag: "SockudoClientError",
        status: 422,
        code: "feature_disabled"
      })
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(422, {
            error: "Presence history is disabled by policy for channel 'presence-room'",
            code: "feature_disabled",
            status: 422
          })
        )
      )
    )
  )
})

describe("presenceHistory.stream", () => {
  it.effect("follows the cursor over 3 pages, then stops when has_more is false", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.presenceHistory.stream("presence-room", { limit: 2, endSerial: 50 }))
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        [0, 1, 2, 3, 4]
      )
      assert.deepStrictEqual(
        (yield* requests).map((r) => signedQuery(r)),
        ["limit=2&end_serial=50", "limit=2&cursor=c2&end_serial=50", "limit=2&cursor=c4&end_serial=50"]
      )
    }).pipe(Effect.provide(layer(pagedHandler({ total: 5, pageSize: 2, cursorParam: "cursor", render: numbered }))))
  )

  it.effect("take 5 of 1000 requests 3 pages; a failing page 2 surfaces its typed error", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const first = yield* Stream.runCollect(
        s.presenceHistory.stream("presence-room", { limit: 2 }).pipe(Stream.take(5))
      )
      assert.strictEqual(first.length, 5)
      assert.strictEqual((yield* requests).length, 3)
      const error = yield* Effect.flip(Stream.runCollect(s.presenceHistory.stream("presence-room", { limit: 2 })))
      expect(error).toMatchObject({ _tag: "SockudoNotFoundError", status: 404 })
      assert.strictEqual((yield* requests).length, 5)
    }).pipe(
      Effect.provide(
        layer(
          pagedHandler({
            total: 1000,
            pageSize: 2,
            cursorParam: "cursor",
            render: numbered,
            override: (n) =>
              n === 5 ? SockudoTest.json(404, { error: "gone", code: "not_found", status: 404 }) : undefined
          })
        )
      )
    )
  )
})

describe("presenceHistory.state, reset and snapshot", () => {
  it.effect("state GETs /presence/history/state and decodes retained_events", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const state = yield* s.presenceHistory.state(channel)
      const [request] = yield* requests
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encoded}/presence/history/state`)
      assert.strictEqual(signedQuery(request!), "")
      assert.deepStrictEqual(state, { channel, stream: inspection })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channel, stream: inspection }))))
  )

  it.effect("reset POSTs the confirmation and decodes purged_events; a 503 is not retried", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.presenceHistory.reset(channel, { reason: "audit", requestedBy: "ops" })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encoded}/presence/history/reset`)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(
        request!.body,
        JSON.stringify({ confirm_channel: channel, confirm_operation: "reset", reason: "audit", requested_by: "ops" })
      )
      assert.deepStrictEqual(result, resetResult)
      const exit = yield* withTime(s.presenceHistory.reset(channel, { reason: "audit" }))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(sequence(SockudoTest.json(200, resetResult), SockudoTest.json(503, { error: "x" })), {
          retry: everySecond
        })
      )
    )
  )

  it.effect("snapshot sends at_serial and at_time_ms, or nothing, and decodes the members", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.presenceHistory.snapshot(channel, { atSerial: 4, atTimeMs: 1710000000100 })
      yield* s.presenceHistory.snapshot(channel)
      const [at, now] = yield* requests
      assert.strictEqual(at!.method, "GET")
      assert.strictEqual(at!.path, `/apps/app-id/channels/${encoded}/presence/history/snapshot`)
      assert.strictEqual(signedQuery(at!), "at_serial=4&at_time_ms=1710000000100")
      assert.strictEqual(signedQuery(now!), "")
      assert.deepStrictEqual(result, snapshot)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, snapshot))))
  )

  it.effect("an empty snapshot has null serial and time", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.presenceHistory.snapshot("presence-room")
      assert.deepStrictEqual(result.members, [])
      assert.isNull(result.snapshot_serial)
      assert.isNull(result.snapshot_time_ms)
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            ...snapshot,
            members: [],
            member_count: 0,
            events_replayed: 0,
            snapshot_serial: null,
            snapshot_time_ms: null
          })
        )
      )
    )
  )
})

describe("presence history validation: nothing is sent", () => {
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["list on a private- channel", (s) => s.presenceHistory.list("private-room"), "channel"],
    ["state on a public channel", (s) => s.presenceHistory.state("room"), "channel"],
    ["reset on a public channel", (s) => s.presenceHistory.reset("room", { reason: "r" }), "channel"],
    ["snapshot on a public channel", (s) => s.presenceHistory.snapshot("room"), "channel"],
    ["an invalid presence channel name", (s) => s.presenceHistory.list("presence-a b"), "channel"],
    ["a limit of 0", (s) => s.presenceHistory.list("presence-room", { limit: 0 }), "limit"],
    [
      "start after end",
      (s) => s.presenceHistory.list("presence-room", { startSerial: 2, endSerial: 1 }),
      "startSerial"
    ],
    ["a blank reset reason", (s) => s.presenceHistory.reset("presence-room", { reason: "" }), "reason"],
    ["a negative atSerial", (s) => s.presenceHistory.snapshot("presence-room", { atSerial: -1 }), "atSerial"],
    ["a fractional atTimeMs", (s) => s.presenceHistory.snapshot("presence-room", { atTimeMs: 0.5 }), "atTimeMs"]
  ]
  for (const [what, call, field] of cases) {
    it.effect(`rejects ${what} (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        expect(yield* Effect.flip(call(s))).toMatchObject({ _tag: "SockudoValidationError", field })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }

  it.effect("a stream on a non-presence channel fails before any request", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(Stream.runCollect(s.presenceHistory.stream("orders")))).toMatchObject({
        _tag: "SockudoValidationError",
        field: "channel",
        message: "channel must be a presence- channel"
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )
})
