import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import type { Sockudo } from "../../src/index.ts"
import * as Messages from "../../src/Resources/Messages.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import { streamState } from "../support/history.ts"
import { pagedHandler, signedQuery } from "../support/paging.ts"

const continuity = {
  stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
  oldest_available_serial: 1,
  newest_available_serial: 17,
  oldest_available_published_at_ms: 0,
  newest_available_published_at_ms: 0,
  retained_messages: 17,
  retained_bytes: 4096,
  complete: true,
  truncated_by_retention: false
} as const

const bounds = { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null } as const

const plainItem = {
  stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
  serial: 17,
  published_at_ms: 1710000000000,
  message_id: "m-17",
  event_name: "order.created",
  operation_kind: "append",
  payload_size_bytes: 123,
  message: {
    event: "order.created",
    channel: "orders",
    data: '{"id":1}',
    message_id: "m-17",
    stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
    serial: 17
  }
} as const

const versionedItem = {
  stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
  serial: 12,
  published_at_ms: 1710000000000,
  message_id: null,
  event_name: "sockudo:message.update",
  operation_kind: "message.update",
  payload_size_bytes: 310,
  message: {
    event: "sockudo:message.update",
    channel: "chat",
    data: "edited",
    name: "chat.message",
    serial: 34,
    extras: { headers: { sockudo_action: "message.update", sockudo_message_serial: "00000001710000000000:1:7" } },
    action: "update",
    message_serial: "00000001710000000000:1:00000000000000000007",
    history_serial: 12,
    delivery_serial: 34,
    version: { serial: "00000001710000000100:1:00000000000000000009", client_id: "u1", timestamp_ms: 1710000000100 },
    unknown_future_field: 1
  }
} as const

const page = (items: ReadonlyArray<unknown>, hasMore: boolean, next: string | null) => ({
  items,
  direction: "newest_first",
  limit: 50,
  has_more: hasMore,
  next_cursor: next,
  bounds,
  continuity,
  stream_state: streamState
})

const numbered = (items: ReadonlyArray<number>, hasMore: boolean, next: string | null) =>
  page(
    items.map((i) => ({ ...plainItem, serial: i, message: { ...plainItem.message, serial: i } })),
    hasMore,
    next
  )

const inspection = {
  stream_id: "5f0c6f1e-0000-4000-8000-000000000002",
  next_serial: 1,
  retained: {
    stream_id: "5f0c6f1e-0000-4000-8000-000000000002",
    retained_messages: 0,
    retained_bytes: 0,
    oldest_available_serial: null,
    newest_available_serial: null,
    oldest_available_published_at_ms: null,
    newest_available_published_at_ms: null
  },
  state: streamState
} as const

const resetResult = {
  ok: true,
  operation: "reset",
  channel: "private-chat@eu,x;y=z#u1",
  reason: "corrupt stream",
  requested_by: "ops@example.com",
  previous_stream_id: "5f0c6f1e-0000-4000-8000-000000000001",
  new_stream_id: "5f0c6f1e-0000-4000-8000-000000000002",
  purged_messages: 17,
  purged_bytes: 4096,
  stream: inspection
} as const

const purgeResult = {
  ok: true,
  operation: "purge",
  channel: "orders",
  mode: "before_serial",
  before_serial: 10,
  before_time_ms: null,
  reason: "gdpr",
  requested_by: null,
  purged_messages: 9,
  purged_bytes: 900,
  stream: { ...inspection, next_serial: 18 }
} as const

const channel = "private-chat@eu,x;y=z#u1"
const encodedChannel = "private-chat%40eu%2Cx%3By%3Dz%23u1"

describe("history.list", () => {
  it.effect("GETs one page with every parameter under the server's names, signed", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.history.list(channel, {
        limit: 50,
        direction: "oldest_first",
        cursor: "eyJ2IjoxfQ",
        startSerial: 1,
        endSerial: 9,
        startTimeMs: 1710000000000,
        endTimeMs: 1710000099999
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encodedChannel}/history`)
      assert.strictEqual(request!.body, "")
      assert.strictEqual(
        signedQuery(request!),
        "limit=50&direction=oldest_first&cursor=eyJ2IjoxfQ&start_serial=1&end_serial=9&start_time_ms=1710000000000&end_time_ms=1710000099999"
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([], false, null)))))
  )

  it.effect("sends no parameters without options", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.history.list("orders")
      const [request] = yield* requests
      assert.strictEqual(request!.path, "/apps/app-id/channels/orders/history")
      assert.strictEqual(signedQuery(request!), "")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([], false, null)))))
  )

  it.effect("decodes the reference page: a plain row and a row replaced by its latest version", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.history.list("orders")
      assert.strictEqual(result.has_more, true)
      assert.strictEqual(result.next_cursor, "opaque")
      assert.deepStrictEqual(result.bounds, bounds)
      assert.deepStrictEqual(result.continuity, continuity)
      assert.deepStrictEqual(result.stream_state, streamState)
      const [plain, versioned] = result.items
      assert.deepStrictEqual(plain, plainItem)
      assert.isFalse(Messages.isVersioned(plain!.message))
      assert.isTrue(Messages.isVersioned(versioned!.message))
      // Fields the SDK does not model are kept, at every depth.
      assert.deepStrictEqual(versioned!.message, versionedItem.message)
      assert.strictEqual((result as unknown as Record<string, unknown>).unknown_top_level, true)
      assert.strictEqual(versioned!.operation_kind, "message.update")
      assert.isNull(versioned!.message_id)
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, { ...page([plainItem, versionedItem], true, "opaque"), unknown_top_level: true })
        )
      )
    )
  )

  it.effect("a page of the wrong shape is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.history.list("orders"))
      assert.strictEqual(error._tag, "SockudoDecodeError")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...page([], false, null), has_more: "no" }))))
  )

  it.effect("history disabled (422 feature_disabled) is a SockudoClientError with the server's code", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.history.list("orders"))
      expect(error).toMatchObject({
        _tag: "SockudoClientError",
        status: 422,
        code: "feature_disabled",
        message: "Durable history is disabled by policy for channel 'orders'"
      })
      assert.isFalse(error.isRetryable)
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(422, {
            error: "Durable history is disabled by policy for channel 'orders'",
            code: "feature_disabled",
            status: 422
          })
        )
      )
    )
  )

  it.effect("a read is retried after a 503", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.history.list("orders"))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(sequence(SockudoTest.json(503, { error: "x" }), SockudoTest.json(200, page([], false, null))), {
          retry: everySecond
        })
      )
    )
  )
})

describe("history validation: nothing is sent", () => {
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["an invalid channel", (s) => s.history.list("no spaces"), "channel"],
    ["a limit of 0", (s) => s.history.list("a", { limit: 0 }), "limit"],
    ["a fractional limit", (s) => s.history.list("a", { limit: 1.5 }), "limit"],
    ["an unknown direction", (s) => s.history.list("a", { direction: "backwards" as never }), "direction"],
    ["an empty cursor", (s) => s.history.list("a", { cursor: "" }), "cursor"],
    ["a negative serial", (s) => s.history.list("a", { startSerial: -1 }), "startSerial"],
    ["start after end (serials)", (s) => s.history.list("a", { startSerial: 5, endSerial: 4 }), "startSerial"],
    ["start after end (times)", (s) => s.history.list("a", { startTimeMs: 5, endTimeMs: 4 }), "startTimeMs"],
    ["a fractional time", (s) => s.history.list("a", { endTimeMs: 1.5 }), "endTimeMs"],
    ["state of an invalid channel", (s) => s.history.state(""), "channel"],
    ["a blank reset reason", (s) => s.history.reset("a", { reason: "  " }), "reason"],
    ["a reset without options", (s) => s.history.reset("a", undefined as never), "options"],
    ["a purge with an unknown mode", (s) => s.history.purge("a", { mode: "some", reason: "r" } as never), "mode"],
    ["a blank purge reason", (s) => s.history.purge("a", { mode: "all", reason: "" }), "reason"],
    [
      "purge all with beforeSerial (untyped caller)",
      (s) => s.history.purge("a", { mode: "all", beforeSerial: 3, reason: "r" } as never),
      "beforeSerial"
    ],
    [
      "purge all with beforeTimeMs (untyped caller)",
      (s) => s.history.purge("a", { mode: "all", beforeTimeMs: 3, reason: "r" } as never),
      "beforeTimeMs"
    ],
    [
      "purge before_serial without beforeSerial (untyped caller)",
      (s) => s.history.purge("a", { mode: "before_serial", reason: "r" } as never),
      "beforeSerial"
    ],
    [
      "purge before_serial with beforeTimeMs (untyped caller)",
      (s) => s.history.purge("a", { mode: "before_serial", beforeSerial: 1, beforeTimeMs: 2, reason: "r" } as never),
      "beforeTimeMs"
    ],
    [
      "purge before_time_ms without beforeTimeMs (untyped caller)",
      (s) => s.history.purge("a", { mode: "before_time_ms", reason: "r" } as never),
      "beforeTimeMs"
    ],
    [
      "purge before_time_ms with beforeSerial (untyped caller)",
      (s) => s.history.purge("a", { mode: "before_time_ms", beforeTimeMs: 2, beforeSerial: 1, reason: "r" } as never),
      "beforeSerial"
    ],
    [
      "a negative beforeSerial",
      (s) => s.history.purge("a", { mode: "before_serial", beforeSerial: -1, reason: "r" }),
      "beforeSerial"
    ]
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

  it("the purge options are a discriminated union: wrong combinations fail `npm run check`", () => {
    const typeErrors = (s: Sockudo.Service) => [
      // @ts-expect-error beforeSerial is not accepted with mode "all"
      s.history.purge("a", { mode: "all", beforeSerial: 1, reason: "r" }),
      // @ts-expect-error before_serial needs beforeSerial
      s.history.purge("a", { mode: "before_serial", reason: "r" }),
      // @ts-expect-error before_serial does not take beforeTimeMs
      s.history.purge("a", { mode: "before_serial", beforeSerial: 1, beforeTimeMs: 2, reason: "r" }),
      // @ts-expect-error before_time_ms needs beforeTimeMs
      s.history.purge("a", { mode: "before_time_ms", reason: "r" }),
      // @ts-expect-error a reason is required
      s.history.purge("a", { mode: "all" })
    ]
    assert.isFunction(typeErrors)
  })
})

describe("history.state, reset and purge", () => {
  it.effect("state GETs /history/state and decodes the inspection", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const state = yield* s.history.state(channel)
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encodedChannel}/history/state`)
      assert.strictEqual(signedQuery(request!), "")
      assert.deepStrictEqual(state, { channel, stream: inspection })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channel, stream: inspection }))))
  )

  it.effect("reset POSTs the confirmation fields filled in by the SDK and decodes the result", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.history.reset(channel, { reason: "corrupt stream", requestedBy: "ops@example.com" })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, `/apps/app-id/channels/${encodedChannel}/history/reset`)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.strictEqual(
        request!.body,
        JSON.stringify({
          confirm_channel: channel,
          confirm_operation: "reset",
          reason: "corrupt stream",
          requested_by: "ops@example.com"
        })
      )
      assert.deepStrictEqual(result, resetResult)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, resetResult))))
  )

  it.effect("reset without requestedBy leaves it out", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.history.reset("orders", { reason: "r" })
      assert.strictEqual(
        (yield* requests)[0]!.body,
        '{"confirm_channel":"orders","confirm_operation":"reset","reason":"r"}'
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...resetResult, requested_by: null }))))
  )

  it.effect("reset is not retried after a 503 (a second reset would rotate again), but is after a 429", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const first = yield* withTime(s.history.reset("orders", { reason: "r" }))
      expect(first).toMatchObject({ _tag: "Failure" })
      assert.strictEqual((yield* requests).length, 1)
      const second = yield* withTime(s.history.reset("orders", { reason: "r" }))
      assert.isTrue(Exit.isSuccess(second))
      assert.strictEqual((yield* requests).length, 3)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(503, { error: "x", code: "service_unavailable", status: 503 }),
            SockudoTest.json(429, { error: "Too Many Requests" }),
            SockudoTest.json(200, resetResult)
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("purge sends each mode with exactly its bound", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.history.purge("orders", { mode: "all", reason: "wipe" })
      yield* s.history.purge("orders", {
        mode: "before_serial",
        beforeSerial: 1200,
        reason: "gdpr",
        requestedBy: "dpo"
      })
      yield* s.history.purge("orders", { mode: "before_time_ms", beforeTimeMs: 1710000000000, reason: "old" })
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => [r.method, r.path, r.body]),
        [
          [
            "POST",
            "/apps/app-id/channels/orders/history/purge",
            '{"confirm_channel":"orders","confirm_operation":"purge","mode":"all","reason":"wipe"}'
          ],
          [
            "POST",
            "/apps/app-id/channels/orders/history/purge",
            '{"confirm_channel":"orders","confirm_operation":"purge","mode":"before_serial","before_serial":1200,"reason":"gdpr","requested_by":"dpo"}'
          ],
          [
            "POST",
            "/apps/app-id/channels/orders/history/purge",
            '{"confirm_channel":"orders","confirm_operation":"purge","mode":"before_time_ms","before_time_ms":1710000000000,"reason":"old"}'
          ]
        ]
      )
      for (const r of sent) assert.strictEqual(signedQuery(r), "")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, purgeResult))))
  )

  it.effect("purge decodes the result", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.history.purge("orders", { mode: "before_serial", beforeSerial: 10, reason: "gdpr" })
      assert.deepStrictEqual(result, purgeResult)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, purgeResult))))
  )

  it.effect("a bounded purge is retried after a 503; purge all is not", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const bounded = yield* withTime(
        s.history.purge("orders", { mode: "before_serial", beforeSerial: 10, reason: "r" })
      )
      assert.isTrue(Exit.isSuccess(bounded))
      assert.strictEqual((yield* requests).length, 2)
      const all = yield* withTime(s.history.purge("orders", { mode: "all", reason: "r" }))
      expect(all).toMatchObject({ _tag: "Failure" })
      assert.strictEqual((yield* requests).length, 3)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(503, { error: "x" }),
            SockudoTest.json(200, purgeResult),
            SockudoTest.json(503, { error: "x" })
          ),
          { retry: everySecond }
        )
      )
    )
  )
})

describe("history.stream", () => {
  it.effect("follows next_cursor over 4 pages until has_more is false, repeating direction and bounds", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(
        s.history.stream("orders", { limit: 3, direction: "oldest_first", startSerial: 0, endTimeMs: 99 })
      )
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      )
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => signedQuery(r)),
        [
          "limit=3&direction=oldest_first&start_serial=0&end_time_ms=99",
          "limit=3&direction=oldest_first&cursor=c3&start_serial=0&end_time_ms=99",
          "limit=3&direction=oldest_first&cursor=c6&start_serial=0&end_time_ms=99",
          "limit=3&direction=oldest_first&cursor=c9&start_serial=0&end_time_ms=99"
        ]
      )
    }).pipe(Effect.provide(layer(pagedHandler({ total: 10, pageSize: 3, cursorParam: "cursor", render: numbered }))))
  )

  it.effect("starts from a given cursor", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.history.stream("orders", { cursor: "c8" }))
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        [8, 9]
      )
      assert.strictEqual(signedQuery((yield* requests)[0]!), "cursor=c8")
    }).pipe(Effect.provide(layer(pagedHandler({ total: 10, pageSize: 3, cursorParam: "cursor", render: numbered }))))
  )

  it.effect("take 5 of 1000 requests only the 3 pages holding them", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.history.stream("orders", { limit: 2 }).pipe(Stream.take(5)))
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        [0, 1, 2, 3, 4]
      )
      assert.strictEqual((yield* requests).length, 3)
    }).pipe(
      Effect.provide(layer(pagedHandler({ total: 1000, pageSize: 100, cursorParam: "cursor", render: numbered })))
    )
  )

  it.effect("nothing is requested until the stream is run", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const stream = s.history.stream("orders")
      assert.strictEqual((yield* requests).length, 0)
      yield* Stream.runCollect(stream)
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, page([], false, null)))))
  )

  it.effect("an error on page 2 fails the stream with the typed error, after page 1's items", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const seen: Array<number> = []
      const error = yield* Effect.flip(
        Stream.runForEach(s.history.stream("orders", { limit: 2 }), (item) => Effect.sync(() => seen.push(item.serial)))
      )
      expect(error).toMatchObject({
        _tag: "SockudoClientError",
        status: 400,
        code: "invalid_input",
        message: "Expired history cursor: channel stream changed"
      })
      assert.deepStrictEqual(seen, [0, 1])
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          pagedHandler({
            total: 10,
            pageSize: 2,
            cursorParam: "cursor",
            render: numbered,
            override: (n) =>
              n === 2
                ? SockudoTest.json(400, {
                    error: "Expired history cursor: channel stream changed",
                    code: "invalid_input",
                    status: 400
                  })
                : undefined
          })
        )
      )
    )
  )

  it.effect("a validation error fails the stream before any request", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(Stream.runCollect(s.history.stream("orders", { limit: -1 })))
      expect(error).toMatchObject({ _tag: "SockudoValidationError", field: "limit" })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )

  it.effect("has_more without a cursor is a SockudoDecodeError, not an endless loop", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(Stream.runCollect(s.history.stream("orders")))
      assert.strictEqual(error._tag, "SockudoDecodeError")
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, numbered([0], true, null)))))
  )

  it.effect("a cursor that does not advance is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(Stream.runCollect(s.history.stream("orders")))
      assert.strictEqual(error._tag, "SockudoDecodeError")
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, numbered([0], true, "same")))))
  )
})
