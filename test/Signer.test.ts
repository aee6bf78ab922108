/**
 * Conformance of everything the SDK signs, against two independent judges:
 * - the official `pusher` package (test oracle only), wherever pusher follows the server;
 * - `support/serverVerifier.ts`, a model of the server's checks written from its reference.
 * Where pusher and the server disagree (server reference §2.3, §7.1; peer-sdks.md D1-D4, D28),
 * the tests assert that the SDK follows the server.
 */
import { createRequire } from "node:module"
import { assert, describe, expect, it, vi } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import Pusher from "pusher"
import { Signer } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"
import * as G from "./support/generators.ts"
import { layer, requests, sockudo } from "./support/harness.ts"
import * as Server from "./support/serverVerifier.ts"

// ---------------------------------------------------------------------------------------------
// Oracles

interface PusherChannelAuth {
  readonly auth: string
  readonly channel_data?: string
  readonly shared_secret?: string
}

/** pusher's own signing step behind `authorizeChannel`, for names its validation refuses (`:`, `#`). */
const pusherAuthModule = createRequire(import.meta.url)("pusher/lib/auth.js") as {
  readonly getSocketSignature: (
    pusher: Pusher,
    token: unknown,
    channel: string,
    socketId: string,
    data?: unknown
  ) => PusherChannelAuth
}

interface Credentials {
  readonly appId: string
  readonly key: string
  readonly secret: string
  readonly masterKeyBase64: string
}

const makePusher = (credentials: Credentials) =>
  new Pusher({
    appId: credentials.appId,
    key: credentials.key,
    secret: credentials.secret,
    host: "sockudo.test",
    encryptionMasterKeyBase64: credentials.masterKeyBase64
  })

/** pusher's channel authorization: its public method where it accepts the name, else its signing step. */
const pusherAuthorize = (pusher: Pusher, socketId: string, channel: string, data?: Pusher.PresenceChannelData) =>
  G.pusherAcceptsChannel(channel)
    ? (pusher.authorizeChannel(socketId, channel, data) as PusherChannelAuth)
    : pusherAuthModule.getSocketSignature(
        pusher,
        (pusher as unknown as { config: { token: unknown } }).config.token,
        channel,
        socketId,
        data
      )

/** pusher's signed query string at a pinned clock (it reads `Date.now()`). */
const pusherSignedQuery = (pusher: Pusher, seconds: number, options: Pusher.SignedQueryStringOptions): string => {
  const now = vi.spyOn(Date, "now").mockReturnValue(seconds * 1000 + 999)
  try {
    return pusher.createSignedQueryString(options)
  } finally {
    now.mockRestore()
  }
}

/**
 * The URL pusher's `requests.send` would request: `/apps/<id>` + the path as given (unencoded),
 * then its signed query (values unencoded).
 */
const pusherUrl = (
  pusher: Pusher,
  seconds: number,
  method: string,
  path: string,
  params?: Record<string, unknown>,
  body?: string
) => {
  const config = (pusher as unknown as { config: { prefixPath: (p: string) => string } }).config
  const full = config.prefixPath(path)
  const query = pusherSignedQuery(pusher, seconds, {
    method,
    path: full,
    ...(params === undefined ? {} : { params }),
    ...(body === undefined ? {} : { body })
  })
  return `http://sockudo.test${full}?${query}`
}

const credentials = (gen: G.Gen): Credentials => ({
  appId: G.appKey(gen),
  key: G.appKey(gen),
  secret: G.appSecret(gen),
  masterKeyBase64: Buffer.from(gen.bytes(32)).toString("base64")
})

/** The SDK's test layer for generated credentials. */
const layerFor = (c: Credentials) =>
  layer(undefined, {
    appId: c.appId,
    key: c.key,
    secret: Redacted.make(c.secret),
    encryptionMasterKeyBase64: Redacted.make(c.masterKeyBase64)
  })

const serverApp = (c: Credentials): Server.App => ({ id: c.appId, key: c.key, secret: c.secret })

/** The test layer's app, as the server knows it. */
const testApp: Server.App = { id: "app-id", key: "app-key", secret: "app-secret" }

const received = (request: SockudoTest.RecordedRequest): Server.ReceivedRequest => ({
  method: request.method,
  path: request.path,
  query: request.url.href.includes("?") ? request.rawQuery : undefined,
  body: request.body
})

const NOW_MS = 1_700_000_000_000
const NOW = NOW_MS / 1000

const signatureOf = (query: string) => new Map(Server.formDecode(query)).get("auth_signature")

// ---------------------------------------------------------------------------------------------

describe("channel authorization agrees with pusher and with the server", () => {
  it.effect("private- and private-encrypted- channels, no channel data: 300 generated cases", () =>
    Effect.gen(function* () {
      for (const [i, c] of G.cases(1001, 300, (gen) => ({
        credentials: credentials(gen),
        socketId: G.socketId(gen),
        channel: G.channelName(gen, gen.pick(["private-", "private-encrypted-"]))
      })).entries()) {
        const ours = yield* Effect.provide(
          Effect.flatMap(sockudo, (s) => s.authorizeChannel(c.socketId, c.channel)),
          layerFor(c.credentials)
        )
        const theirs = pusherAuthorize(makePusher(c.credentials), c.socketId, c.channel)
        assert.deepStrictEqual(ours, theirs, `case ${i}: ${c.channel}`)
        assert.isTrue(
          Server.verifyChannelAuth(serverApp(c.credentials), { ...c, auth: ours.auth }),
          `case ${i}: server check`
        )
      }
    })
  )

  it.effect("presence- channels sign the exact channel_data they return: 300 generated cases", () =>
    Effect.gen(function* () {
      for (const [i, c] of G.cases(1002, 300, (gen) => ({
        credentials: credentials(gen),
        socketId: G.socketId(gen),
        channel: G.channelName(gen, "presence-"),
        member: G.presenceMember(gen)
      })).entries()) {
        const ours = yield* Effect.provide(
          Effect.flatMap(sockudo, (s) => s.authorizeChannel(c.socketId, c.channel, c.member)),
          layerFor(c.credentials)
        )
        const theirs = pusherAuthorize(makePusher(c.credentials), c.socketId, c.channel, c.member)
        assert.deepStrictEqual(ours, theirs, `case ${i}: ${c.channel}`)
        assert.strictEqual(ours.channel_data, JSON.stringify(c.member))
        assert.isTrue(
          Server.verifyChannelAuth(serverApp(c.credentials), {
            socketId: c.socketId,
            channel: c.channel,
            auth: ours.auth,
            channelData: ours.channel_data
          }),
          `case ${i}: server check`
        )
      }
    })
  )

  it.effect("member data on a private channel is refused: the server never signs it there, pusher does", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      for (const [i, c] of G.cases(1003, 50, (gen) => ({
        socketId: G.socketId(gen),
        channel: G.channelName(gen, gen.pick(["private-", "private-encrypted-"])),
        member: G.presenceMember(gen)
      })).entries()) {
        const error = yield* Effect.flip(s.authorizeChannel(c.socketId, c.channel, c.member))
        expect(error, `case ${i}`).toMatchObject({ _tag: "SockudoValidationError", field: "presenceMember" })

        // pusher signs the data; a client forwarding that channel_data is refused by the server.
        const pusher = makePusher({
          ...testApp,
          appId: testApp.id,
          masterKeyBase64: Buffer.alloc(32).toString("base64")
        })
        const theirs = pusherAuthorize(pusher, c.socketId, c.channel, c.member)
        assert.isFalse(
          Server.verifyChannelAuth(testApp, { ...c, auth: theirs.auth, channelData: theirs.channel_data }),
          `case ${i}: pusher's private-channel signature over channel data`
        )
      }
    }).pipe(
      Effect.provide(
        layer(undefined, { encryptionMasterKeyBase64: Redacted.make(Buffer.alloc(32).toString("base64")) })
      )
    )
  )

  it("the Signer ignores channel data on every channel but presence-", () => {
    const signer = Signer.makeUnsafe("app-key", Redacted.make("app-secret"))
    const data = '{"user_id":"u1"}'
    for (const channel of ["private-a", "private-encrypted-a", "a", "private-presence-a"]) {
      assert.strictEqual(signer.authorizeChannel("1.2", channel, data), signer.authorizeChannel("1.2", channel))
      assert.isTrue(
        Server.verifyChannelAuth(testApp, {
          socketId: "1.2",
          channel,
          auth: signer.authorizeChannel("1.2", channel, data),
          channelData: data
        })
      )
    }
    assert.notStrictEqual(
      signer.authorizeChannel("1.2", "presence-a", data),
      signer.authorizeChannel("1.2", "presence-a")
    )
  })
})

describe("user authentication agrees with pusher and with the server", () => {
  it.effect("authenticateUser: 300 generated cases with unicode user data", () =>
    Effect.gen(function* () {
      for (const [i, c] of G.cases(1004, 300, (gen) => ({
        credentials: credentials(gen),
        socketId: G.socketId(gen),
        userData: G.userData(gen)
      })).entries()) {
        const ours = yield* Effect.provide(
          Effect.flatMap(sockudo, (s) => s.authenticateUser(c.socketId, c.userData)),
          layerFor(c.credentials)
        )
        const theirs = makePusher(c.credentials).authenticateUser(c.socketId, c.userData)
        assert.deepStrictEqual(ours, theirs, `case ${i}`)
        assert.isTrue(
          Server.verifySignin(serverApp(c.credentials), {
            socketId: c.socketId,
            auth: ours.auth,
            userData: ours.user_data
          }),
          `case ${i}: server check`
        )
      }
    })
  )
})

describe("REST request signing", () => {
  it("agrees with pusher where pusher follows the server: 300 generated cases", () => {
    // Lower-case keys and paths without characters to encode: pusher signs these as the server does.
    for (const [i, c] of G.cases(1005, 300, (gen) => ({
      credentials: credentials(gen),
      method: gen.pick(["GET", "POST"] as const),
      path: `/apps/${gen.string("abc123", 1, 6)}/${Array.from({ length: gen.int(1, 3) }, () => gen.string(`${G.userLimitAlphabet}~`, 1, 12)).join("/")}`,
      params: G.queryParams(gen, { lowerCaseKeys: true }),
      body: JSON.stringify(G.jsonObject(gen, 2)),
      seconds: gen.int(1_000_000_000, 2_000_000_000)
    })).entries()) {
      const signer = Signer.makeUnsafe(c.credentials.key, Redacted.make(c.credentials.secret))
      const ours = signer.signQuery(
        c.method,
        c.path,
        c.params,
        c.method === "POST" ? Signer.md5Hex(c.body) : undefined,
        c.seconds
      )
      const theirs = pusherSignedQuery(makePusher(c.credentials), c.seconds, {
        method: c.method,
        path: c.path,
        params: Object.fromEntries(c.params),
        ...(c.method === "POST" ? { body: c.body } : {})
      })
      // pusher sends values unencoded, so only its trailing signature can be read reliably.
      assert.strictEqual(signatureOf(ours), theirs.slice(theirs.lastIndexOf("&auth_signature=") + 16), `case ${i}`)
    }
  })

  it("every request the Signer signs is accepted by the server model: 400 generated cases", () => {
    // Any app id, path segments and query values (lone surrogates included), keys in any case.
    for (const [i, c] of G.cases(1006, 400, (gen) => {
      const method = gen.pick(["GET", "POST", "DELETE"] as const)
      return {
        credentials: credentials(gen),
        method,
        segments: Array.from({ length: gen.int(0, 3) }, () => G.pathSegment(gen, { loneSurrogates: true })),
        params: G.queryParams(gen, { loneSurrogates: true }),
        body: method === "POST" && gen.chance(0.8) ? JSON.stringify(G.jsonValue(gen)) : "",
        seconds: gen.int(1_000_000_000, 2_000_000_000),
        skew: gen.int(-600, 600)
      }
    }).entries()) {
      const signer = Signer.makeUnsafe(c.credentials.key, Redacted.make(c.credentials.secret))
      const path = `/apps/${Signer.encode(c.credentials.appId)}${c.segments.map((s) => `/${Signer.encode(s)}`).join("")}`
      const query = signer.signQuery(
        c.method,
        path,
        c.params,
        c.method === "POST" ? Signer.md5Hex(c.body) : undefined,
        c.seconds
      )
      const verdict = Server.verifyRequest(
        { method: c.method, path, query, body: c.body },
        [serverApp(c.credentials)],
        c.seconds + c.skew
      )
      assert.deepStrictEqual(verdict, { ok: true }, `case ${i}: ${c.method} ${path}?${query}`)
    }
  })

  describe("where pusher differs from the server, the SDK follows the server", () => {
    const pusher = makePusher({ ...testApp, appId: testApp.id, masterKeyBase64: Buffer.alloc(32).toString("base64") })

    it.effect("query keys are lower-cased for signing; pusher signs `deviceId` as given (peer-sdks D4)", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW_MS)
        const s = yield* sockudo
        const url = yield* s.signedUrl("GET", "/push/channelSubscriptions", { deviceId: "device-1", limit: 10 })
        assert.include(url, "deviceId=device-1")
        assert.deepStrictEqual(Server.verifyRequest(Server.fromUrl("GET", url), [testApp], NOW), { ok: true })

        const theirs = pusherUrl(pusher, NOW, "GET", "/push/channelSubscriptions", { deviceId: "device-1", limit: 10 })
        expect(Server.verifyRequest(Server.fromUrl("GET", theirs), [testApp], NOW)).toMatchObject({
          status: 401,
          error: "Invalid API signature"
        })
      }).pipe(Effect.provide(layer()))
    )

    it.effect("a GET never carries body_md5; pusher signs one whenever given a body (D3)", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW_MS)
        const s = yield* sockudo
        yield* s.channels.list({ filterByPrefix: "presence-" })
        const [request] = yield* requests
        assert.isFalse(request!.query.has("body_md5"))
        assert.deepStrictEqual(Server.verifyRequest(received(request!), [testApp], NOW), { ok: true })

        const theirs = pusherUrl(pusher, NOW, "GET", "/channels", { filter_by_prefix: "presence-" }, "example body")
        assert.deepStrictEqual(Server.verifyRequest(Server.fromUrl("GET", theirs), [testApp], NOW), {
          ok: false,
          status: 401,
          code: "auth_failed",
          error: "body_md5 must not be present in query parameters for GET requests"
        })
      }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channels: {} }))))
    )

    it.effect("a POST without payload signs the MD5 of the empty body; pusher signs none", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(NOW_MS)
        const s = yield* sockudo
        const ours = yield* s.signedUrl("POST", "/users/u1/force_reconnect")
        assert.strictEqual(new URL(ours).searchParams.get("body_md5"), "d41d8cd98f00b204e9800998ecf8427e")
        assert.deepStrictEqual(Server.verifyRequest(Server.fromUrl("POST", ours), [testApp], NOW), { ok: true })

        const theirs = pusherUrl(pusher, NOW, "POST", "/users/u1/force_reconnect")
        expect(Server.verifyRequest(Server.fromUrl("POST", theirs), [testApp], NOW)).toMatchObject({
          status: 401,
          error:
            "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
        })
      }).pipe(Effect.provide(layer()))
    )

    it.effect(
      "path segments are percent-encoded and signed encoded; pusher's raw `#` and `?` lose the query (D2)",
      () =>
        Effect.gen(function* () {
          yield* TestClock.setTime(NOW_MS)
          const s = yield* sockudo
          yield* s.channels.users("presence-room#1")
          yield* s.users.terminateConnections("user?1")
          const [users, terminate] = yield* requests
          assert.strictEqual(users!.path, "/apps/app-id/channels/presence-room%231/users")
          assert.strictEqual(terminate!.path, "/apps/app-id/users/user%3F1/terminate_connections")
          for (const request of [users!, terminate!]) {
            assert.deepStrictEqual(Server.verifyRequest(received(request), [testApp], NOW), { ok: true })
          }

          // pusher's URL for the same channel: everything after `#` is a fragment, never sent.
          const theirUsers = Server.fromUrl("GET", pusherUrl(pusher, NOW, "GET", "/channels/presence-room#1/users"))
          assert.strictEqual(theirUsers.path, "/apps/app-id/channels/presence-room")
          expect(Server.verifyRequest(theirUsers, [testApp], NOW)).toMatchObject({
            status: 400,
            error: "Missing authentication query parameters"
          })
          // ...and for the user id: the path ends at `?`, the auth parameters are mangled.
          const theirTerminate = Server.fromUrl(
            "POST",
            pusherUrl(pusher, NOW, "POST", "/users/user?1/terminate_connections", undefined, "{}"),
            "{}"
          )
          assert.strictEqual(theirTerminate.path, "/apps/app-id/users/user")
          assert.isFalse(Server.verifyRequest(theirTerminate, [testApp], NOW).ok)
        }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { users: [], ok: true }))))
    )

    it.effect(
      "query values are percent-encoded on the wire and signed decoded; pusher sends `+` and `&` raw (D1)",
      () =>
        Effect.gen(function* () {
          yield* TestClock.setTime(NOW_MS)
          const s = yield* sockudo
          const prefix = "presence-a+b c&d=e%"
          yield* s.channels.list({ filterByPrefix: prefix })
          const [request] = yield* requests
          assert.strictEqual(request!.query.get("filter_by_prefix"), prefix)
          assert.deepStrictEqual(Server.verifyRequest(received(request!), [testApp], NOW), { ok: true })

          const theirs = pusherUrl(pusher, NOW, "GET", "/channels", { filter_by_prefix: prefix })
          assert.isFalse(Server.verifyRequest(Server.fromUrl("GET", theirs), [testApp], NOW).ok)
        }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { channels: {} }))))
    )
  })
})

describe("every request the SDK sends is accepted by the server model", () => {
  it.effect("publishing, channel state, user control and signed URLs, with awkward names", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      const s = yield* sockudo
      yield* s.trigger("a@b,c;d=e", "order.créé", { text: "ü😀\u2028" }, { idempotencyKey: "k-1" })
      yield* s.trigger(["presence-room#1", "private-x:y.z"], "ev", "raw", {
        socketId: "1.2",
        info: ["subscription_count"]
      })
      yield* s.triggerBatch([
        { channel: "presence-room#u1,u2", name: "a", data: 1 },
        { channel: "a=b", name: "b", data: { é: "ß" }, idempotencyKey: "item-1" }
      ])
      yield* s.sendToUser("user=1@x.y", "notice", { body: "hi" })
      yield* s.channels.list()
      yield* s.channels.list({ filterByPrefix: "presence-", info: ["user_count", "subscription_count"] })
      yield* s.channels.get("presence-room#1", { info: ["user_count", "subscription_count"] })
      yield* s.channels.get("a@b,c;d=e:f")
      yield* s.channels.users("presence-room#1")
      yield* s.users.terminateConnections("user/with spaces?&#%é😀")
      yield* s.users.forceReconnect("user/with spaces?&#%é😀")
      const sent = yield* requests
      assert.strictEqual(sent.length, 11)
      for (const request of sent) {
        assert.deepStrictEqual(
          Server.verifyRequest(received(request), [testApp], NOW),
          { ok: true },
          `${request.method} ${request.url.href}`
        )
      }

      const signed = [
        [
          "GET",
          yield* s.signedUrl("GET", "/channels", { filter_by_prefix: "presence-a+b c&d", info: "user_count" }),
          ""
        ],
        [
          "GET",
          yield* s.signedUrl("GET", "/channels/presence-room%231/history", { limit: 50, direction: "newest_first" }),
          ""
        ],
        [
          "POST",
          yield* s.signedUrl("POST", "/events", undefined, { name: "e", channels: ["a"], data: "ü" }),
          JSON.stringify({ name: "e", channels: ["a"], data: "ü" })
        ],
        [
          "POST",
          yield* s.signedUrl("POST", "/events", undefined, '{"name":"e","channel":"a","data":"x"}'),
          '{"name":"e","channel":"a","data":"x"}'
        ],
        ["POST", yield* s.signedUrl("POST", "/users/u%201/terminate_connections"), ""],
        ["DELETE", yield* s.signedUrl("DELETE", "/push/deviceRegistrations/d%2F1", { deviceId: "d 1" }), ""]
      ] as const
      for (const [method, url, body] of signed) {
        assert.deepStrictEqual(
          Server.verifyRequest(Server.fromUrl(method, url, body), [testApp], NOW),
          { ok: true },
          url
        )
      }
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { ok: true, channels: {}, occupied: true, users: [] }))))
  )

  it.effect("users.terminateConnections: 200 generated user ids, each decoding back from the path", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      const s = yield* sockudo
      const ids = G.cases(1007, 200, (gen) => G.pathSegment(gen, { loneSurrogates: true }))
      for (const id of ids) yield* s.users.terminateConnections(id)
      const sent = yield* requests
      for (const [i, request] of sent.entries()) {
        assert.deepStrictEqual(Server.verifyRequest(received(request), [testApp], NOW), { ok: true }, `case ${i}`)
        const segment = request.path.split("/")[4]!
        // The server's router percent-decodes the segment into the user id (UTF-8, so a lone
        // surrogate arrives as U+FFFD, the only form such an id can take on the server).
        assert.strictEqual(
          Server.formDecode(`x=${segment}`)[0]![1],
          Buffer.from(ids[i]!, "utf8").toString("utf8"),
          `case ${i}`
        )
      }
    }).pipe(Effect.provide(layer()))
  )

  it.effect("channels.get and channels.users: 200 generated channel names, each decoding back from the path", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      const s = yield* sockudo
      const channels = G.cases(1008, 200, (gen) => G.channelName(gen, gen.pick(["", "private-", "presence-"])))
      for (const channel of channels) {
        if (channel.startsWith("presence-")) yield* s.channels.users(channel)
        else yield* s.channels.get(channel)
      }
      const sent = yield* requests
      for (const [i, request] of sent.entries()) {
        assert.deepStrictEqual(Server.verifyRequest(received(request), [testApp], NOW), { ok: true }, `case ${i}`)
        assert.strictEqual(Server.formDecode(`x=${request.path.split("/")[4]!}`)[0]![1], channels[i], `case ${i}`)
      }
    }).pipe(Effect.provide(layer(() => SockudoTest.json(200, { occupied: false, users: [] }))))
  )
})

describe("tampered requests are rejected with the server's error", () => {
  /** A signed POST (trigger) and GET (channels.list) as the SDK sent them at NOW. */
  const captured = Effect.gen(function* () {
    yield* TestClock.setTime(NOW_MS)
    const s = yield* sockudo
    yield* s.trigger("orders", "order.created", { id: 1 }, { idempotencyKey: "k-1" })
    yield* s.channels.list({ filterByPrefix: "presence-" })
    const [post, get] = (yield* requests).map(received)
    return { post: post!, get: get! }
  })

  const listLayer = (config?: Parameters<typeof layer>[1]) =>
    layer(() => SockudoTest.json(200, { ok: true, channels: {} }), config)

  const withQuery = (request: Server.ReceivedRequest, edit: (pairs: Array<[string, string]>) => void) => {
    const pairs = request.query!.split("&").map((p) => p.split("=") as [string, string])
    edit(pairs)
    return { ...request, query: pairs.map((p) => p.join("=")).join("&") }
  }
  const setParam = (key: string, value: string) => (pairs: Array<[string, string]>) => {
    pairs.find((p) => p[0] === key)![1] = value
  }

  const cases: ReadonlyArray<
    readonly [
      string,
      "post" | "get",
      (r: Server.ReceivedRequest) => Server.ReceivedRequest,
      number,
      Partial<{ status: number; code: string; error: string }>
    ]
  > = [
    [
      "one body byte changed",
      "post",
      (r) => ({ ...r, body: String(r.body).replace("1", "2") }),
      NOW,
      { status: 401, error: "body_md5 mismatch" }
    ],
    [
      "a body byte appended",
      "post",
      (r) => ({ ...r, body: `${String(r.body)} ` }),
      NOW,
      { status: 401, error: "body_md5 mismatch" }
    ],
    [
      "a query value changed",
      "get",
      (r) => withQuery(r, setParam("filter_by_prefix", "private-")),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "a query parameter added",
      "get",
      (r) => ({ ...r, query: `${r.query}&info=user_count` }),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "the path changed",
      "post",
      (r) => ({ ...r, path: "/apps/app-id/batch_events" }),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "the method changed",
      "get",
      (r) => ({ ...r, method: "DELETE" }),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "another app's id in the path",
      "post",
      (r) => ({ ...r, path: "/apps/other-app/events" }),
      NOW,
      { status: 401, error: "Authenticated app does not match route app_id" }
    ],
    [
      "a timestamp 601 s old",
      "post",
      (r) => r,
      NOW + 601,
      { status: 401, error: "Timestamp expired or too far in the future" }
    ],
    [
      "a timestamp 601 s ahead",
      "get",
      (r) => r,
      NOW - 601,
      { status: 401, error: "Timestamp expired or too far in the future" }
    ],
    [
      "the timestamp edited",
      "get",
      (r) => withQuery(r, setParam("auth_timestamp", String(NOW + 1))),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "a non-integer timestamp",
      "get",
      (r) => withQuery(r, setParam("auth_timestamp", "1.5")),
      NOW,
      { status: 401, error: "Invalid auth_timestamp format" }
    ],
    [
      "no timestamp",
      "get",
      (r) =>
        withQuery(r, (p) =>
          p.splice(
            p.findIndex(([k]) => k === "auth_timestamp"),
            1
          )
        ),
      NOW,
      { status: 401, error: "auth_timestamp is missing" }
    ],
    [
      "body_md5 added to a GET",
      "get",
      (r) => ({ ...r, query: `${r.query}&body_md5=d41d8cd98f00b204e9800998ecf8427e` }),
      NOW,
      { status: 401, error: "body_md5 must not be present in query parameters for GET requests" }
    ],
    [
      "body_md5 removed from a POST",
      "post",
      (r) =>
        withQuery(r, (p) =>
          p.splice(
            p.findIndex(([k]) => k === "body_md5"),
            1
          )
        ),
      NOW,
      {
        status: 401,
        error: "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
      }
    ],
    [
      "an unknown key",
      "post",
      (r) => withQuery(r, setParam("auth_key", "other-key")),
      NOW,
      { status: 404, code: "app_not_found" }
    ],
    [
      "the signature in upper case",
      "get",
      (r) =>
        withQuery(r, (p) => {
          const s = p.find(([k]) => k === "auth_signature")!
          s[1] = s[1].toUpperCase()
        }),
      NOW,
      { status: 401, error: "Invalid API signature" }
    ],
    [
      "a repeated auth_key",
      "get",
      (r) => ({ ...r, query: `${r.query}&auth_key=app-key` }),
      NOW,
      { status: 400, code: "invalid_input" }
    ],
    [
      "no query at all",
      "get",
      (r) => ({ ...r, query: undefined }),
      NOW,
      { status: 400, error: "Missing authentication query parameters" }
    ],
    [
      "an empty query",
      "get",
      (r) => ({ ...r, query: "" }),
      NOW,
      { status: 400, error: "Query string is empty or invalid" }
    ]
  ]

  for (const [name, which, tamper, now, expected] of cases) {
    it.effect(`${name}: ${expected.status} ${expected.error ?? expected.code}`, () =>
      Effect.gen(function* () {
        const requests = yield* captured
        assert.deepStrictEqual(Server.verifyRequest(requests[which], [testApp], NOW), { ok: true }, "untampered")
        expect(Server.verifyRequest(tamper(requests[which]), [testApp], now)).toMatchObject({ ok: false, ...expected })
      }).pipe(Effect.provide(listLayer()))
    )
  }

  it.effect("exactly 600 s of skew either way still passes", () =>
    Effect.gen(function* () {
      const { post } = yield* captured
      assert.deepStrictEqual(Server.verifyRequest(post, [testApp], NOW + 600), { ok: true })
      assert.deepStrictEqual(Server.verifyRequest(post, [testApp], NOW - 600), { ok: true })
    }).pipe(Effect.provide(listLayer()))
  )

  it.effect("a request signed with another secret fails the signature check", () =>
    Effect.gen(function* () {
      const { post, get } = yield* captured
      for (const request of [post, get]) {
        expect(Server.verifyRequest(request, [testApp], NOW)).toMatchObject({
          status: 401,
          error: "Invalid API signature"
        })
      }
    }).pipe(Effect.provide(listLayer({ secret: Redacted.make("not-the-app-secret") })))
  )
})
