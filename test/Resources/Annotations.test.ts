import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import type { Sockudo } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import { pagedHandler, signedQuery } from "../support/paging.ts"

const channel = "presence-room#1"
const encodedChannel = "presence-room%231"
const serial = "00000001710000000000:node/a:00000000000000000007"
const encodedSerial = "00000001710000000000%3Anode%2Fa%3A00000000000000000007"
const base = `/apps/app-id/channels/${encodedChannel}/messages/${encodedSerial}/annotations`

/** The reference's list item example (§3.11), every optional field present. */
const created = {
  action: "annotation.create",
  id: "7d3c9a8e-0000-4000-8000-000000000001",
  serial: "00000001710000000200:1:00000000000000000011",
  messageSerial: "msg",
  type: "reactions:distinct.v1",
  name: "like",
  clientId: "u1",
  count: 1,
  data: {},
  encoding: "json",
  timestamp: 1710000000000
} as const

/** A delete event: no `id`, absent optionals omitted. */
const deleted = {
  action: "annotation.delete",
  serial: "00000001710000000300:1:00000000000000000012",
  messageSerial: "msg",
  type: "reactions:total.v1",
  timestamp: 1710000000500
} as const

const listPage = (items: ReadonlyArray<unknown>, hasMore: boolean, next: string | null) => ({
  channel: "chat",
  messageSerial: "msg",
  limit: 100,
  hasMore,
  nextCursor: next,
  items
})

const numbered = (items: ReadonlyArray<number>, hasMore: boolean, next: string | null) =>
  listPage(
    items.map((i) => ({ ...created, serial: `a${i}`, count: i + 1 })),
    hasMore,
    next
  )

const serverError = (status: number, code: string, error: string) => SockudoTest.json(status, { error, code, status })

describe("annotations.publish", () => {
  it.effect("POSTs every field camelCase, as the server reads it, on the percent-encoded path", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.annotations.publish(channel, serial, {
        type: "votes:multiple.v1",
        name: "option-a",
        clientId: "u1",
        socketId: "123.456",
        count: 3,
        data: { weight: 2 },
        encoding: "json"
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, base)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.strictEqual(
        request!.body,
        '{"type":"votes:multiple.v1","name":"option-a","clientId":"u1","socketId":"123.456","count":3,"data":{"weight":2},"encoding":"json"}'
      )
      assert.deepStrictEqual(result, { annotationSerial: "a-1", extra: true } as never)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { annotationSerial: "a-1", extra: true }))))
  )

  it.effect("sends only what each summarizer needs", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.annotations.publish("chat", "m", { type: "views:total.v1" })
      yield* s.annotations.publish("chat", "m", { type: "flags:flag.v1", clientId: "u1" })
      yield* s.annotations.publish("chat", "m", { type: "flags:flag.v1", socketId: "1.2" })
      yield* s.annotations.publish("chat", "m", { type: "reactions:distinct.v1", name: "👍", clientId: "u1" })
      yield* s.annotations.publish("chat", "m", { type: "polls:unique.v1", name: "a", clientId: "u2" })
      yield* s.annotations.publish("chat", "m", { type: "votes:multiple.v1", name: "a" })
      yield* s.annotations.publish("chat", "m", { type: "notes:total.v1", data: "text" })
      assert.deepStrictEqual(
        (yield* requests).map((r) => r.body),
        [
          '{"type":"views:total.v1"}',
          '{"type":"flags:flag.v1","clientId":"u1"}',
          '{"type":"flags:flag.v1","socketId":"1.2"}',
          '{"type":"reactions:distinct.v1","name":"👍","clientId":"u1"}',
          '{"type":"polls:unique.v1","name":"a","clientId":"u2"}',
          '{"type":"votes:multiple.v1","name":"a"}',
          '{"type":"notes:total.v1","data":"text"}'
        ]
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { annotationSerial: "a" }))))
  )

  it.effect("is not retried after a 503: exactly one request, a typed error", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.annotations.publish("chat", "m", { type: "views:total.v1" }))
      const error = yield* Effect.flip(exit)
      expect(error).toMatchObject({
        _tag: "SockudoServerError",
        status: 503,
        code: "service_unavailable",
        operation: "annotations.publish",
        request: "POST /apps/app-id/channels/chat/messages/m/annotations"
      })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            serverError(503, "service_unavailable", "Service unavailable"),
            SockudoTest.json(200, { annotationSerial: "a" })
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("is not retried after a transport failure or a 500", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const first = yield* Effect.flip(
        Effect.flatten(withTime(s.annotations.publish("chat", "m", { type: "a:total.v1" })))
      )
      expect(first).toMatchObject({ _tag: "SockudoTransportError", operation: "annotations.publish" })
      assert.strictEqual((yield* requests).length, 1)
      const second = yield* Effect.flip(
        Effect.flatten(withTime(s.annotations.publish("chat", "m", { type: "a:total.v1" })))
      )
      expect(second).toMatchObject({ _tag: "SockudoServerError", status: 500, code: "internal_error" })
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.transportFailure(),
            serverError(500, "internal_error", "Internal server error"),
            SockudoTest.json(200, { annotationSerial: "a" })
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("is retried after a 429 (refused before the server handled it)", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.annotations.publish("chat", "m", { type: "a:total.v1" }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(429, { error: "Too Many Requests" }),
            SockudoTest.json(200, { annotationSerial: "a" })
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("annotations disabled by policy (403 forbidden) and a missing message (404) are typed", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.annotations.publish("chat", "m", { type: "a:total.v1" }))).toMatchObject({
        _tag: "SockudoAuthenticationError",
        status: 403,
        code: "forbidden"
      })
      expect(yield* Effect.flip(s.annotations.publish("chat", "m", { type: "a:total.v1" }))).toMatchObject({
        _tag: "SockudoNotFoundError",
        status: 404,
        code: "not_found"
      })
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            serverError(403, "forbidden", "Annotations are disabled for this channel"),
            serverError(404, "not_found", "Message not found")
          )
        )
      )
    )
  )

  const malformed: ReadonlyArray<readonly [string, SockudoTest.Reply]> = [
    ["no annotationSerial", SockudoTest.json(200, {})],
    ["a snake_case annotation_serial", SockudoTest.json(200, { annotation_serial: "a" })],
    ["a numeric annotationSerial", SockudoTest.json(200, { annotationSerial: 1 })],
    ["a body that is not JSON", SockudoTest.text(200, "ok")]
  ]
  for (const [what, reply] of malformed) {
    it.effect(`a publish response with ${what} is a SockudoDecodeError`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.annotations.publish("chat", "m", { type: "a:total.v1" }))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "annotations.publish", status: 200 })
      }).pipe(Effect.provide(layer(() => reply)))
    )
  }
})

describe("annotations.publish validation: nothing is sent", () => {
  const publish = (options: Record<string, unknown>) => (s: Sockudo.Service) =>
    s.annotations.publish("chat", "m", options as never)
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["a missing type", publish({}), "type"],
    ["a type without namespace", publish({ type: "distinct.v1" }), "type"],
    ["an empty namespace", publish({ type: ":distinct.v1" }), "type"],
    ["a type without version", publish({ type: "reactions:distinct" }), "type"],
    ["version 2", publish({ type: "reactions:distinct.v2", name: "a", clientId: "u" }), "type"],
    ["version 01", publish({ type: "reactions:total.v01" }), "type"],
    ["an unknown summarizer", publish({ type: "reactions:likes.v1" }), "type"],
    ["a type with whitespace", publish({ type: "my reactions:total.v1" }), "type"],
    ["a type over 256 bytes", publish({ type: `${"n".repeat(248)}:total.v1` }), "type"],
    ["distinct without name", publish({ type: "r:distinct.v1", clientId: "u1" }), "name"],
    ["unique with a blank name", publish({ type: "r:unique.v1", name: "  ", clientId: "u1" }), "name"],
    ["multiple without name", publish({ type: "r:multiple.v1", clientId: "u1" }), "name"],
    ["flag without clientId", publish({ type: "r:flag.v1" }), "clientId"],
    ["distinct without clientId", publish({ type: "r:distinct.v1", name: "a" }), "clientId"],
    ["unique with a blank clientId", publish({ type: "r:unique.v1", name: "a", clientId: " " }), "clientId"],
    ["a count of 0", publish({ type: "r:multiple.v1", name: "a", count: 0 }), "count"],
    ["a fractional count", publish({ type: "r:multiple.v1", name: "a", count: 1.5 }), "count"],
    ["a malformed socketId", publish({ type: "r:total.v1", socketId: "x" }), "socketId"],
    ["a numeric name", publish({ type: "r:total.v1", name: 1 }), "name"],
    ["a numeric encoding", publish({ type: "r:total.v1", encoding: 1 }), "encoding"],
    ["data with no JSON form", publish({ type: "r:total.v1", data: 1n }), "data"],
    ["no options", (s) => s.annotations.publish("chat", "m", undefined as never), "options"],
    ["an invalid channel", (s) => s.annotations.publish("a b", "m", { type: "r:total.v1" }), "channel"],
    ["a blank serial", (s) => s.annotations.publish("chat", "", { type: "r:total.v1" }), "serial"]
  ]
  for (const [what, call, field] of cases) {
    it.effect(`rejects ${what} (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        expect(yield* Effect.flip(call(s))).toMatchObject({
          _tag: "SockudoValidationError",
          operation: "annotations.publish",
          field
        })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }

  it.effect("a type of exactly 256 bytes is accepted", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const type = `${"n".repeat(247)}:total.v1` as const
      assert.strictEqual(type.length, 256)
      yield* s.annotations.publish("chat", "m", { type })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { annotationSerial: "a" }))))
  )
})

describe("annotations.list", () => {
  it.effect("GETs one page with type, limit, from_serial and socket_id, snake_case", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.annotations.list(channel, serial, {
        type: "reactions:distinct.v1",
        limit: 20,
        fromSerial: "00000001710000000200:1:00000000000000000011",
        socketId: "123.456"
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, base)
      assert.strictEqual(request!.body, "")
      assert.strictEqual(
        signedQuery(request!),
        "type=reactions%3Adistinct.v1&limit=20&from_serial=00000001710000000200%3A1%3A00000000000000000011&socket_id=123.456"
      )
      assert.deepStrictEqual<unknown>(result, { ...listPage([created, { ...deleted, future: 1 }], false, null), x: 1 })
    }).pipe(
      Effect.provide(
        layer(() => SockudoTest.json(200, { ...listPage([created, { ...deleted, future: 1 }], false, null), x: 1 }))
      )
    )
  )

  it.effect("sends no parameters without options; decodes a page without nextCursor", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.annotations.list("chat", "m")
      assert.strictEqual(signedQuery((yield* requests)[0]!), "")
      assert.isFalse("nextCursor" in result)
      assert.strictEqual(result.hasMore, true)
      assert.strictEqual(result.items.length, 0)
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, { channel: "chat", messageSerial: "m", limit: 100, hasMore: true, items: [] })
        )
      )
    )
  )

  const malformed: ReadonlyArray<readonly [string, unknown]> = [
    ["the snake_case envelope of other routes", { ...listPage([], false, null), hasMore: undefined, has_more: false }],
    ["an item without timestamp", listPage([{ ...created, timestamp: undefined }], false, null)],
    ["a string count", listPage([{ ...created, count: "1" }], false, null)]
  ]
  for (const [what, body] of malformed) {
    it.effect(`a page with ${what} is a SockudoDecodeError`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.annotations.list("chat", "m"))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "annotations.list" })
      }).pipe(Effect.provide(layer(() => SockudoTest.json(200, body))))
    )
  }

  const invalid: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["an invalid type filter", (s) => s.annotations.list("chat", "m", { type: "likes" as never }), "type"],
    ["a limit of 0", (s) => s.annotations.list("chat", "m", { limit: 0 }), "limit"],
    ["an empty fromSerial", (s) => s.annotations.list("chat", "m", { fromSerial: "" }), "fromSerial"],
    ["a malformed socketId", (s) => s.annotations.list("chat", "m", { socketId: "1" }), "socketId"],
    ["a stream with a limit of 0", (s) => Stream.runCollect(s.annotations.stream("chat", "m", { limit: 0 })), "limit"]
  ]
  for (const [what, call, field] of invalid) {
    it.effect(`rejects ${what} before sending (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        expect(yield* Effect.flip(call(s))).toMatchObject({ _tag: "SockudoValidationError", field })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }
})

describe("annotations.stream", () => {
  it.effect("follows nextCursor as from_serial over 4 pages until hasMore is false", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(
        s.annotations.stream(channel, serial, { type: "reactions:distinct.v1", limit: 3 })
      )
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"]
      )
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => [r.path, signedQuery(r)]),
        [
          [base, "type=reactions%3Adistinct.v1&limit=3"],
          [base, "type=reactions%3Adistinct.v1&limit=3&from_serial=c3"],
          [base, "type=reactions%3Adistinct.v1&limit=3&from_serial=c6"],
          [base, "type=reactions%3Adistinct.v1&limit=3&from_serial=c9"]
        ]
      )
    }).pipe(
      Effect.provide(layer(pagedHandler({ total: 10, pageSize: 3, cursorParam: "from_serial", render: numbered })))
    )
  )

  it.effect("starts after a given fromSerial", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.annotations.stream("chat", "m", { fromSerial: "c7" }))
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        ["a7", "a8", "a9"]
      )
      assert.strictEqual(signedQuery((yield* requests)[0]!), "from_serial=c7")
    }).pipe(
      Effect.provide(layer(pagedHandler({ total: 10, pageSize: 5, cursorParam: "from_serial", render: numbered })))
    )
  )

  it.effect("take 5 of 1000 requests only the 3 pages holding them", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.annotations.stream("chat", "m", { limit: 2 }).pipe(Stream.take(5)))
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        ["a0", "a1", "a2", "a3", "a4"]
      )
      assert.strictEqual((yield* requests).length, 3)
    }).pipe(
      Effect.provide(layer(pagedHandler({ total: 1000, pageSize: 100, cursorParam: "from_serial", render: numbered })))
    )
  )

  it.effect("an error on page 2 fails the stream with the typed error, after page 1's items", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const seen: Array<string> = []
      const error = yield* Effect.flip(
        Stream.runForEach(s.annotations.stream("chat", "m", { limit: 2 }), (item) =>
          Effect.sync(() => seen.push(item.serial))
        )
      )
      expect(error).toMatchObject({ _tag: "SockudoClientError", status: 400, code: "invalid_input" })
      assert.deepStrictEqual(seen, ["a0", "a1"])
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          pagedHandler({
            total: 10,
            pageSize: 2,
            cursorParam: "from_serial",
            render: numbered,
            override: (n) => (n === 2 ? serverError(400, "invalid_input", "invalid annotation serial") : undefined)
          })
        )
      )
    )
  )

  it.effect("a read is retried after a 503 inside the stream", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(Stream.runCollect(s.annotations.stream("chat", "m", { limit: 5 })))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(Exit.isSuccess(exit) ? exit.value.length : -1, 10)
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => r.query.get("from_serial")),
        [null, "c5", "c5"]
      )
    }).pipe(
      Effect.provide(
        layer(
          pagedHandler({
            total: 10,
            pageSize: 5,
            cursorParam: "from_serial",
            render: numbered,
            override: (n) => (n === 2 ? serverError(503, "service_unavailable", "x") : undefined)
          }),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("hasMore without a nextCursor is a SockudoDecodeError, not an endless loop", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(Stream.runCollect(s.annotations.stream("chat", "m")))
      expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "annotations.list" })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, numbered([0], true, null)))))
  )
})

describe("annotations.delete", () => {
  it.effect("DELETEs the percent-encoded annotation path with socket_id, no body_md5", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.annotations.delete(channel, serial, "0001:n/1:0002", { socketId: "123.456" })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "DELETE")
      assert.strictEqual(request!.path, `${base}/0001%3An%2F1%3A0002`)
      assert.strictEqual(request!.body, "")
      assert.strictEqual(signedQuery(request!), "socket_id=123.456")
      assert.deepStrictEqual(result, { annotationSerial: "0003", deletedAnnotationSerial: "0001:n/1:0002" })
    }).pipe(
      Effect.provide(
        layer(() => SockudoTest.json(200, { annotationSerial: "0003", deletedAnnotationSerial: "0001:n/1:0002" }))
      )
    )
  )

  it.effect("without options sends no parameters; an already-deleted annotation answers both serials equal", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.annotations.delete("chat", "m", "a1")
      assert.strictEqual(signedQuery((yield* requests)[0]!), "")
      assert.deepStrictEqual(result, { annotationSerial: "a1", deletedAnnotationSerial: "a1" })
    }).pipe(
      Effect.provide(layer(() => SockudoTest.json(200, { annotationSerial: "a1", deletedAnnotationSerial: "a1" })))
    )
  )

  it.effect("a response without deletedAnnotationSerial is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.annotations.delete("chat", "m", "a1"))
      expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "annotations.delete" })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { annotationSerial: "a1" }))))
  )

  it.effect("a target that is not a create of that message (404) is a SockudoNotFoundError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.annotations.delete("chat", "m", "a1"))).toMatchObject({
        _tag: "SockudoNotFoundError",
        code: "not_found",
        request: "DELETE /apps/app-id/channels/chat/messages/m/annotations/a1"
      })
    }).pipe(Effect.provide(layer(() => serverError(404, "not_found", "Annotation not found"))))
  )

  const invalid: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["an empty annotation serial", (s) => s.annotations.delete("chat", "m", ""), "annotationSerial"],
    ["an annotation serial with whitespace", (s) => s.annotations.delete("chat", "m", "a 1"), "annotationSerial"],
    ["a malformed socketId", (s) => s.annotations.delete("chat", "m", "a1", { socketId: "x.y" }), "socketId"],
    ["an invalid channel", (s) => s.annotations.delete("", "m", "a1"), "channel"]
  ]
  for (const [what, call, field] of invalid) {
    it.effect(`rejects ${what} before sending (field ${field})`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        expect(yield* Effect.flip(call(s))).toMatchObject({ _tag: "SockudoValidationError", field })
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(layer()))
    )
  }
})
