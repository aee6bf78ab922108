import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted, Stream } from "effect"
import { type Sockudo, SockudoConfig } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "../support/harness.ts"
import { pagedHandler, signedQuery } from "../support/paging.ts"

// A serial with the characters that must be escaped in a path segment, on a channel with '#'.
const channel = "presence-room#1"
const encodedChannel = "presence-room%231"
const serial = "00000001710000000000:node/a:00000000000000000007"
const encodedSerial = "00000001710000000000%3Anode%2Fa%3A00000000000000000007"
const base = `/apps/app-id/channels/${encodedChannel}/messages/${encodedSerial}`

/** The reference's `VersionedRealtimeMessage` example (§10.3), every optional field present. */
const versioned = {
  event: "sockudo:message.update",
  channel: "chat",
  data: "edited",
  name: "original-event-name",
  serial: 34,
  extras: { headers: { sockudo_action: "message.update", sockudo_message_serial: "m-1" } },
  action: "update",
  message_serial: "00000001710000000000:1:00000000000000000007",
  history_serial: 12,
  delivery_serial: 34,
  version: {
    serial: "00000001710000000100:1:00000000000000000009",
    client_id: "u1",
    timestamp_ms: 1710000000000,
    description: "fix typo",
    metadata: { reason: "typo", n: 1 }
  }
} as const

/** A create with every optional field omitted, as the server omits absent optionals. */
const minimalCreate = {
  event: "sockudo:message.create",
  channel: "chat",
  action: "create",
  message_serial: "00000001710000000000:1:00000000000000000007"
} as const

/** The reference's mutation response example (§3.10). */
const mutation = {
  channel: "chat",
  message_serial: serial,
  action: "update",
  accepted: true,
  version_serial: "00000001710000000000:node:00000000000000000007",
  history_serial: 12,
  delivery_serial: 34,
  status: "applied"
} as const

const versionsPage = (items: ReadonlyArray<unknown>, hasMore: boolean, next: string | null) => ({
  channel,
  direction: "newest_first",
  limit: 100,
  has_more: hasMore,
  ...(next === null ? {} : { next_cursor: next }),
  items
})

const numbered = (items: ReadonlyArray<number>, hasMore: boolean, next: string | null) =>
  versionsPage(
    items.map((i) => ({ ...versioned, serial: i, delivery_serial: i })),
    hasMore,
    next
  )

const masterKey = Redacted.make(Buffer.alloc(32, 7).toString("base64"))

const serverError = (status: number, code: string, error: string, headers: Record<string, string> = {}) =>
  SockudoTest.json(status, { error, code, status }, headers)

const unavailable = serverError(503, "service_unavailable", "Service unavailable")

describe("messages.get", () => {
  it.effect("GETs the percent-encoded message path, signed, without parameters", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.get(channel, serial)
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, base)
      assert.strictEqual(request!.body, "")
      assert.strictEqual(signedQuery(request!), "")
      assert.deepStrictEqual(result, { channel: "chat", item: versioned, extra: 1 } as never)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channel: "chat", item: versioned, extra: 1 }))))
  )

  it.effect("decodes a version with every optional field omitted, keeping unknown fields", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.get("chat", "m-1")
      assert.deepStrictEqual(result.item, { ...minimalCreate, future_field: [1] } as never)
    }).pipe(
      Effect.provide(
        layer(() => SockudoTest.json(200, { channel: "chat", item: { ...minimalCreate, future_field: [1] } }))
      )
    )
  )

  it.effect("an unknown serial (404 not_found) is a SockudoNotFoundError; not retried", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.messages.get("chat", "missing"))
      expect(error).toMatchObject({
        _tag: "SockudoNotFoundError",
        status: 404,
        code: "not_found",
        message: "Message not found",
        operation: "messages.get",
        request: "GET /apps/app-id/channels/chat/messages/missing"
      })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => serverError(404, "not_found", "Message not found"))))
  )

  it.effect("versioned messages disabled (422) and not permitted (403) carry the server's code", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.messages.get("chat", "m"))).toMatchObject({
        _tag: "SockudoClientError",
        status: 422,
        code: "feature_disabled"
      })
      expect(yield* Effect.flip(s.messages.get("chat", "m"))).toMatchObject({
        _tag: "SockudoAuthenticationError",
        status: 403,
        code: "mutable_not_permitted"
      })
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            serverError(422, "feature_disabled", "Versioned messages are disabled for channel 'chat'"),
            SockudoTest.json(403, {
              error: "not permitted",
              code: "mutable_not_permitted",
              status: 403,
              ai_code: 93002
            })
          )
        )
      )
    )
  )

  const malformed: ReadonlyArray<readonly [string, SockudoTest.Reply]> = [
    ["no item", SockudoTest.json(200, { channel: "chat" })],
    ["a serial as a string", SockudoTest.json(200, { channel: "chat", item: { ...versioned, serial: "34" } })],
    [
      "a version without serial",
      SockudoTest.json(200, { channel: "chat", item: { ...versioned, version: { timestamp_ms: 1 } } })
    ],
    ["a body that is not JSON", SockudoTest.text(200, "<html>proxy</html>")],
    ["an empty body", SockudoTest.text(200, "")]
  ]
  for (const [what, reply] of malformed) {
    it.effect(`a response with ${what} is a SockudoDecodeError`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.messages.get("chat", "m"))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "messages.get", status: 200 })
        assert.strictEqual((yield* requests).length, 1)
      }).pipe(Effect.provide(layer(() => reply)))
    )
  }
})

describe("messages.versions", () => {
  it.effect("GETs one page with limit, direction and cursor under the server's names", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const cursor = "00000001710000000100:1:00000000000000000009"
      const result = yield* s.messages.versions(channel, serial, { limit: 2, direction: "oldest_first", cursor })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "GET")
      assert.strictEqual(request!.path, `${base}/versions`)
      assert.strictEqual(
        signedQuery(request!),
        "limit=2&direction=oldest_first&cursor=00000001710000000100%3A1%3A00000000000000000009"
      )
      assert.strictEqual(request!.query.get("cursor"), cursor)
      assert.deepStrictEqual<unknown>(result, versionsPage([versioned, minimalCreate], true, "v-2"))
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, versionsPage([versioned, minimalCreate], true, "v-2")))))
  )

  it.effect("sends no parameters without options; decodes a last page without next_cursor", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.versions("chat", "m-1")
      assert.strictEqual(signedQuery((yield* requests)[0]!), "")
      assert.strictEqual(result.has_more, false)
      assert.isFalse("next_cursor" in result)
      assert.deepStrictEqual(result.items, [])
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, versionsPage([], false, null)))))
  )

  it.effect("decodes next_cursor: null and an append version carrying only its fragment", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.versions("chat", "m-1")
      assert.isNull(result.next_cursor)
      assert.strictEqual(result.items[0]!.action, "append")
      assert.strictEqual(result.items[0]!.data, " world")
      assert.strictEqual(result.items[0]!.event, "sockudo:message.append")
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            ...versionsPage(
              [{ ...versioned, event: "sockudo:message.append", action: "append", data: " world" }],
              false,
              null
            ),
            next_cursor: null
          })
        )
      )
    )
  )

  it.effect("a page with an unknown direction or has_more as a string is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.messages.versions("chat", "m"))).toMatchObject({
        _tag: "SockudoDecodeError",
        operation: "messages.versions"
      })
      expect(yield* Effect.flip(s.messages.versions("chat", "m"))).toMatchObject({ _tag: "SockudoDecodeError" })
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(200, { ...versionsPage([], false, null), direction: "backwards" }),
            SockudoTest.json(200, { ...versionsPage([], false, null), has_more: "false" })
          )
        )
      )
    )
  )

  it.effect("a read is retried after a 503", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.messages.versions("chat", "m"))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(sequence(unavailable, SockudoTest.json(200, versionsPage([], false, null))), { retry: everySecond })
      )
    )
  )
})

describe("messages.versionsStream", () => {
  it.effect("follows next_cursor over 4 pages until has_more is false, keeping limit and direction", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(
        s.messages.versionsStream(channel, serial, { limit: 3, direction: "oldest_first" })
      )
      assert.deepStrictEqual(
        items.map((i) => i.serial),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
      )
      const sent = yield* requests
      assert.deepStrictEqual(
        sent.map((r) => [r.path, signedQuery(r)]),
        [
          [`${base}/versions`, "limit=3&direction=oldest_first"],
          [`${base}/versions`, "limit=3&direction=oldest_first&cursor=c3"],
          [`${base}/versions`, "limit=3&direction=oldest_first&cursor=c6"],
          [`${base}/versions`, "limit=3&direction=oldest_first&cursor=c9"]
        ]
      )
    }).pipe(Effect.provide(layer(pagedHandler({ total: 10, pageSize: 3, cursorParam: "cursor", render: numbered }))))
  )

  it.effect("starts from a given cursor", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const items = yield* Stream.runCollect(s.messages.versionsStream("chat", "m", { cursor: "c8" }))
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
      const items = yield* Stream.runCollect(s.messages.versionsStream("chat", "m", { limit: 2 }).pipe(Stream.take(5)))
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
      const stream = s.messages.versionsStream("chat", "m")
      assert.strictEqual((yield* requests).length, 0)
      yield* Stream.runCollect(stream)
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, versionsPage([], false, null)))))
  )

  it.effect("an error on page 2 fails the stream with the typed error, after page 1's items", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const seen: Array<number | undefined> = []
      const error = yield* Effect.flip(
        Stream.runForEach(s.messages.versionsStream("chat", "m", { limit: 2 }), (item) =>
          Effect.sync(() => seen.push(item.serial))
        )
      )
      expect(error).toMatchObject({ _tag: "SockudoNotFoundError", status: 404, code: "not_found" })
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
            override: (n) => (n === 2 ? serverError(404, "not_found", "Message not found") : undefined)
          })
        )
      )
    )
  )

  it.effect("a malformed page 2 fails the stream with a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(Stream.runCollect(s.messages.versionsStream("chat", "m", { limit: 2 })))
      expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "messages.versions" })
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          pagedHandler({
            total: 10,
            pageSize: 2,
            cursorParam: "cursor",
            render: numbered,
            override: (n) => (n === 2 ? SockudoTest.json(200, { items: "nope" }) : undefined)
          })
        )
      )
    )
  )

  it.effect("has_more without a cursor, or with the same cursor, is a SockudoDecodeError", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(Stream.runCollect(s.messages.versionsStream("chat", "m")))).toMatchObject({
        _tag: "SockudoDecodeError"
      })
      assert.strictEqual((yield* requests).length, 1)
      expect(yield* Effect.flip(Stream.runCollect(s.messages.versionsStream("chat", "m")))).toMatchObject({
        _tag: "SockudoDecodeError"
      })
      assert.strictEqual((yield* requests).length, 3)
    }).pipe(
      Effect.provide(
        layer(
          sequence(SockudoTest.json(200, numbered([0], true, null)), SockudoTest.json(200, numbered([0], true, "same")))
        )
      )
    )
  )
})

describe("messages.update", () => {
  it.effect("POSTs every option under the server's snake_case names, data as JSON text", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.update(channel, serial, {
        name: "renamed",
        data: { text: "edited" },
        clearFields: ["extras"],
        clientId: "u1",
        socketId: "123.456",
        description: "fix typo",
        metadata: { reason: "typo" },
        opId: "edit-1"
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, `${base}/update`)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.strictEqual(
        request!.body,
        JSON.stringify({
          name: "renamed",
          data: '{"text":"edited"}',
          clear_fields: ["extras"],
          client_id: "u1",
          socket_id: "123.456",
          description: "fix typo",
          metadata: { reason: "typo" },
          op_id: "edit-1"
        })
      )
      assert.deepStrictEqual(result, { ...mutation, opId: "edit-1" })
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )

  it.effect("sends a string as is, extras camelCase, and clear_fields for the fields not replaced", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.update("chat", "m-1", {
        data: "plain",
        extras: { headers: { lang: "en", n: 1, ok: true }, idempotencyKey: "x" },
        clearFields: ["name"],
        opId: "o"
      })
      assert.strictEqual(
        (yield* requests)[0]!.body,
        '{"data":"plain","extras":{"headers":{"lang":"en","n":1,"ok":true},"idempotencyKey":"x"},"clear_fields":["name"],"op_id":"o"}'
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )

  it.effect("with autoIdempotency on, a generated op_id is sent and returned", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.update("chat", "m-1", { description: "d" })
      const json = (yield* requests)[0]!.json as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(json), ["description", "op_id"])
      assert.match(String(json.op_id), /^[0-9a-f-]{36}$/)
      assert.strictEqual(result.opId, json.op_id)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )

  it.effect("with autoIdempotency off and no opId, no op_id is sent and opId is undefined", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.update("chat", "m-1", { name: "n" })
      assert.strictEqual((yield* requests)[0]!.body, '{"name":"n"}')
      assert.isUndefined(result.opId)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation), { autoIdempotency: false })))
  )

  it.effect("a replayed op_id is answered with status 'duplicate'", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.update("chat", "m-1", { name: "n", opId: "edit-1" })
      assert.strictEqual(result.status, "duplicate")
      assert.strictEqual(result.opId, "edit-1")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...mutation, status: "duplicate" }))))
  )

  it.effect("a null metadata counts as a change and is sent as null", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.update("chat", "m-1", { metadata: null, opId: "o" })
      assert.strictEqual((yield* requests)[0]!.body, '{"metadata":null,"op_id":"o"}')
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )

  it.effect("a data change on a private-encrypted channel is sealed with the channel's key", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.update("private-encrypted-chat", "m-1", { data: { text: "secret" }, opId: "o" })
      const json = (yield* requests)[0]!.json as { data: string }
      const sealed = JSON.parse(json.data) as { nonce: string; ciphertext: string }
      assert.isString(sealed.nonce)
      assert.isString(sealed.ciphertext)
      assert.notInclude(json.data, "secret")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation), { encryptionMasterKeyBase64: masterKey })))
  )

  it.effect("without a master key, an encrypted channel's data change fails before sending", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const error = yield* Effect.flip(s.messages.update("private-encrypted-chat", "m-1", { data: "x" }))
      assert.strictEqual(error._tag, "SockudoEncryptionError")
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )
})

describe("messages.delete and messages.append", () => {
  it.effect("delete POSTs an empty patch as {} without autoIdempotency", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.delete(channel, serial)
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, `${base}/delete`)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(request!.body, "{}")
      assert.deepStrictEqual(result, { ...mutation, action: "delete", opId: undefined })
    }).pipe(
      Effect.provide(layer(() => SockudoTest.json(200, { ...mutation, action: "delete" }), { autoIdempotency: false }))
    )
  )

  it.effect("delete sends data, extras, clear_fields and the mutation options", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.delete("chat", "m-1", {
        data: "[deleted]",
        clearFields: ["extras"],
        clientId: "mod",
        description: "spam",
        metadata: { by: "mod" },
        opId: "del-1"
      })
      assert.strictEqual(
        (yield* requests)[0]!.body,
        '{"data":"[deleted]","clear_fields":["extras"],"client_id":"mod","description":"spam","metadata":{"by":"mod"},"op_id":"del-1"}'
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...mutation, action: "delete" }))))
  )

  it.effect("append POSTs the fragment as data, with extras and options", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.append(channel, serial, " world", {
        extras: { headers: { part: 2 } },
        clientId: "bot",
        socketId: "1.2",
        description: "token",
        metadata: [1],
        opId: "app-2"
      })
      const [request] = yield* requests
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.path, `${base}/append`)
      assert.strictEqual(signedQuery(request!), "")
      assert.strictEqual(
        request!.body,
        '{"data":" world","extras":{"headers":{"part":2}},"client_id":"bot","socket_id":"1.2","description":"token","metadata":[1],"op_id":"app-2"}'
      )
      assert.strictEqual(result.action, "append")
      assert.strictEqual(result.status, "applied")
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...mutation, action: "append" }))))
  )

  it.effect("an empty append that closes an AI stream is sent", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.append("chat", "m-1", "", { extras: { ai: { transport: { status: "complete" } } }, opId: "o" })
      yield* s.messages.append("chat", "m-1", "", { extras: { ai: { codec: { status: "cancelled" } } }, opId: "p" })
      assert.deepStrictEqual(
        (yield* requests).map((r) => r.body),
        [
          '{"data":"","extras":{"ai":{"transport":{"status":"complete"}}},"op_id":"o"}',
          '{"data":"","extras":{"ai":{"codec":{"status":"cancelled"}}},"op_id":"p"}'
        ]
      )
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ...mutation, action: "append" }))))
  )

  const malformed: ReadonlyArray<readonly [string, unknown]> = [
    ["no status", { ...mutation, status: undefined }],
    ["accepted as a string", { ...mutation, accepted: "true" }]
  ]
  for (const [what, body] of malformed) {
    it.effect(`a mutation response with ${what} is a SockudoDecodeError`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const error = yield* Effect.flip(s.messages.append("chat", "m-1", "x", { opId: "o" }))
        expect(error).toMatchObject({ _tag: "SockudoDecodeError", operation: "messages.append", status: 200 })
        assert.strictEqual((yield* requests).length, 1)
      }).pipe(Effect.provide(layer(() => SockudoTest.json(200, body))))
    )
  }

  it.effect("a mutation response without the optional serials decodes", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const result = yield* s.messages.delete("chat", "m-1", { opId: "o" })
      assert.deepStrictEqual(result, {
        channel: "chat",
        message_serial: "m-1",
        action: "delete",
        accepted: true,
        status: "applied",
        opId: "o"
      })
    }).pipe(
      Effect.provide(
        layer(() =>
          SockudoTest.json(200, {
            channel: "chat",
            message_serial: "m-1",
            action: "delete",
            accepted: true,
            status: "applied"
          })
        )
      )
    )
  )

  it.effect("op_id reused with other content (400) is a SockudoClientError, not retried", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.messages.update("chat", "m-1", { name: "n", opId: "o" }))
      expect(exit).toMatchObject({ _tag: "Failure" })
      const error = yield* Effect.flip(exit)
      expect(error).toMatchObject({
        _tag: "SockudoClientError",
        status: 400,
        code: "invalid_input",
        message: "idempotency key was already used with a different payload"
      })
      assert.strictEqual((yield* requests).length, 1)
    }).pipe(
      Effect.provide(
        layer(() => serverError(400, "invalid_input", "idempotency key was already used with a different payload"), {
          retry: everySecond
        })
      )
    )
  )
})

describe("mutation retries and op_id", () => {
  const mutations: ReadonlyArray<
    readonly [string, (s: Sockudo.Service, opId?: string) => Effect.Effect<unknown, unknown>]
  > = [
    ["update", (s, opId) => s.messages.update("chat", "m-1", { name: "n", ...(opId ? { opId } : {}) })],
    ["delete", (s, opId) => s.messages.delete("chat", "m-1", opId ? { opId } : undefined)],
    ["append", (s, opId) => s.messages.append("chat", "m-1", "x", opId ? { opId } : undefined)]
  ]

  for (const [action, call] of mutations) {
    it.effect(`${action}: a generated op_id survives the SDK's retries after 503s, re-signed each time`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const exit = yield* withTime(call(s))
        assert.isTrue(Exit.isSuccess(exit))
        const sent = yield* requests
        assert.strictEqual(sent.length, 3)
        const opIds = sent.map((r) => (r.json as { op_id?: string }).op_id)
        assert.isString(opIds[0])
        assert.deepStrictEqual(opIds, [opIds[0], opIds[0], opIds[0]])
        assert.deepStrictEqual(
          sent.map((r) => r.body),
          [sent[0]!.body, sent[0]!.body, sent[0]!.body]
        )
        for (const r of sent) signedQuery(r)
        const stamps = new Set(sent.map((r) => r.query.get("auth_timestamp")))
        assert.strictEqual(stamps.size, 3)
        assert.strictEqual((exit as Exit.Success<{ opId: string }>).value.opId, opIds[0])
      }).pipe(
        Effect.provide(
          layer(sequence(unavailable, SockudoTest.transportFailure(), SockudoTest.json(200, { ...mutation, action })), {
            retry: everySecond
          })
        )
      )
    )

    it.effect(`${action}: a given opId is retried after a 503 even with autoIdempotency off`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const exit = yield* withTime(call(s, "op-given"))
        assert.isTrue(Exit.isSuccess(exit))
        const sent = yield* requests
        assert.deepStrictEqual(
          sent.map((r) => (r.json as { op_id?: string }).op_id),
          ["op-given", "op-given"]
        )
      }).pipe(
        Effect.provide(
          layer(sequence(unavailable, SockudoTest.json(200, { ...mutation, action })), {
            retry: everySecond,
            autoIdempotency: false
          })
        )
      )
    )

    it.effect(`${action}: without an op_id, a 503 or a transport failure is not retried`, () =>
      Effect.gen(function* () {
        const s = yield* sockudo
        const first = yield* Effect.flip(withTime(call(s)).pipe(Effect.flatten))
        expect(first).toMatchObject({ _tag: "SockudoServerError", status: 503, operation: `messages.${action}` })
        assert.strictEqual((yield* requests).length, 1)
        assert.isUndefined(((yield* requests)[0]!.json as { op_id?: string }).op_id)
        const second = yield* Effect.flip(withTime(call(s)).pipe(Effect.flatten))
        expect(second).toMatchObject({ _tag: "SockudoTransportError", timeout: false })
        assert.strictEqual((yield* requests).length, 2)
      }).pipe(
        Effect.provide(
          layer(sequence(unavailable, SockudoTest.transportFailure(), SockudoTest.json(200, mutation)), {
            retry: everySecond,
            autoIdempotency: false
          })
        )
      )
    )
  }

  it.effect("without an op_id, a 429 (refused before handling) is retried after Retry-After", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(s.messages.append("chat", "m-1", "x"))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual((yield* requests).length, 2)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(429, { error: "Too Many Requests" }, { "retry-after": "2" }),
            SockudoTest.json(200, { ...mutation, action: "append" })
          ),
          { retry: everySecond, autoIdempotency: false }
        )
      )
    )
  )

  it.effect("the SDK's retries inside a user's Effect.retry all send one op_id", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const exit = yield* withTime(Effect.retry(s.messages.append("chat", "m-1", "x"), { times: 1 }))
      assert.isTrue(Exit.isSuccess(exit))
      const sent = yield* requests
      // 4 attempts from the SDK (3 retries), all 503; then the user's retry, whose first attempt succeeds.
      assert.strictEqual(sent.length, 5)
      assert.strictEqual(new Set(sent.map((r) => r.body)).size, 1)
      assert.isString((sent[0]!.json as { op_id?: string }).op_id)
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            unavailable,
            unavailable,
            unavailable,
            unavailable,
            SockudoTest.json(200, { ...mutation, action: "append", status: "duplicate" })
          ),
          { retry: everySecond }
        )
      )
    )
  )

  it.effect("Effect.retry around a mutation re-sends the same op_id; a new call uses a new one", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      const edit = s.messages.update("chat", "m-1", { name: "n" })
      const result = yield* Effect.retry(edit, { times: 2 })
      yield* s.messages.update("chat", "m-1", { name: "n" })
      const opIds = (yield* requests).map((r) => (r.json as { op_id: string }).op_id)
      assert.strictEqual(opIds.length, 4)
      assert.strictEqual(opIds[0], opIds[1])
      assert.strictEqual(opIds[1], opIds[2])
      assert.notStrictEqual(opIds[2], opIds[3])
      assert.strictEqual(result.opId, opIds[0])
      assert.strictEqual(result.status, "duplicate")
    }).pipe(
      Effect.provide(
        layer(
          sequence(
            unavailable,
            SockudoTest.transportFailure(),
            SockudoTest.json(200, { ...mutation, status: "duplicate" }),
            SockudoTest.json(200, mutation)
          ),
          { retry: SockudoConfig.noRetries }
        )
      )
    )
  )
})

describe("messages validation: nothing is sent", () => {
  const cases: ReadonlyArray<readonly [string, (s: Sockudo.Service) => Effect.Effect<unknown, unknown>, string]> = [
    ["an update with no options", (s) => s.messages.update("chat", "m", {}), "options"],
    ["an update with only an opId", (s) => s.messages.update("chat", "m", { opId: "o" }), "options"],
    ["an update with only a socketId", (s) => s.messages.update("chat", "m", { socketId: "1.2" }), "options"],
    ["an update with an empty clearFields", (s) => s.messages.update("chat", "m", { clearFields: [] }), "options"],
    [
      "an update without options (untyped caller)",
      (s) => s.messages.update("chat", "m", undefined as never),
      "options"
    ],
    ["an invalid channel", (s) => s.messages.get("no spaces", "m"), "channel"],
    ["an empty serial", (s) => s.messages.get("chat", ""), "serial"],
    ["a serial with whitespace", (s) => s.messages.update("chat", "a b", { name: "n" }), "serial"],
    ["a serial over 128 bytes", (s) => s.messages.delete("chat", "é".repeat(65)), "serial"],
    ["a limit of 0", (s) => s.messages.versions("chat", "m", { limit: 0 }), "limit"],
    ["an unknown direction", (s) => s.messages.versions("chat", "m", { direction: "backwards" as never }), "direction"],
    ["a cursor with whitespace", (s) => s.messages.versions("chat", "m", { cursor: "a b" }), "cursor"],
    ["an empty name", (s) => s.messages.update("chat", "m", { name: "" }), "name"],
    [
      "a reserved extras header",
      (s) => s.messages.update("chat", "m", { extras: { headers: { sockudo_x: "1" } } }),
      "extras.headers.sockudo_x"
    ],
    [
      "a nested extras header",
      (s) => s.messages.update("chat", "m", { extras: { headers: { h: { a: 1 } as never } } }),
      "extras.headers.h"
    ],
    [
      "an unknown clear field",
      (s) => s.messages.update("chat", "m", { clearFields: ["tags" as never] }),
      "clearFields"
    ],
    [
      "a clear field listed twice",
      (s) => s.messages.update("chat", "m", { clearFields: ["name", "name"] }),
      "clearFields"
    ],
    [
      "a field both replaced and cleared",
      (s) => s.messages.update("chat", "m", { data: "x", clearFields: ["data"] }),
      "clearFields"
    ],
    ["data with no JSON form", (s) => s.messages.update("chat", "m", { data: 1n }), "data"],
    ["an empty clientId", (s) => s.messages.update("chat", "m", { clientId: "" }), "clientId"],
    ["a malformed socketId", (s) => s.messages.update("chat", "m", { name: "n", socketId: "abc" }), "socketId"],
    ["an empty opId", (s) => s.messages.update("chat", "m", { name: "n", opId: "" }), "opId"],
    ["an opId over 64 bytes", (s) => s.messages.update("chat", "m", { name: "n", opId: "x".repeat(65) }), "opId"],
    ["a cyclic metadata", (s) => s.messages.update("chat", "m", { metadata: cyclic() }), "metadata"],
    ["an empty append", (s) => s.messages.append("chat", "m", ""), "data"],
    ["a non-string append (untyped caller)", (s) => s.messages.append("chat", "m", 1 as never), "data"],
    ["an append on an encrypted channel", (s) => s.messages.append("private-encrypted-c", "m", "x"), "channel"]
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

  it.effect("accepts an opId of exactly 64 bytes and a serial of exactly 128 bytes", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.messages.update("chat", "s".repeat(128), { name: "n", opId: "x".repeat(64) })
      const [request] = yield* requests
      assert.strictEqual(request!.path, `/apps/app-id/channels/chat/messages/${"s".repeat(128)}/update`)
      assert.strictEqual((request!.json as { op_id: string }).op_id, "x".repeat(64))
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, mutation))))
  )
})

const cyclic = () => {
  const o: Record<string, unknown> = {}
  o.self = o
  return o
}
