/**
 * `effect-sockudo/node`: the buffering undici HttpClient and the SDK layers over it, against a
 * real node:http server on a loopback port (real sockets, real time).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Redacted, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientRequest, UrlParams } from "effect/http"
import { Sockudo, SockudoConfig, type SockudoError } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import { fromUrl, verifyRequest } from "./support/serverVerifier.ts"

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface Server {
  readonly origin: string
  readonly port: number
  readonly received: Array<Received>
  /** Requests whose connection closed before a response was sent. */
  readonly aborted: Array<string>
}

type Handler = (req: Received, res: http.ServerResponse) => void

/** A loopback server for the scope: records each request (body read in full), then calls `handler`. */
const withServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: http.Server; readonly state: Server }>((resume) => {
      const received: Array<Received> = []
      const aborted: Array<string> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const r = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          received.push(r)
          res.on("close", () => {
            if (!res.writableFinished) aborted.push(r.url)
          })
          handler(r, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ server, state: { origin: `http://127.0.0.1:${port}`, port, received, aborted } }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ state }) => state))

const json = (res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Waits (in real time) until `check` holds. */
const eventually = (check: () => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200 && !check(); i++) yield* Effect.sleep("10 millis")
    assert.isTrue(check())
  })

/** Both paths of the client: through HttpClient.make (client span on) and the untraced one. */
type Mode = readonly [name: string, tracing: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>]
const modes: ReadonlyArray<Mode> = [
  ["client span on", (self) => self],
  ["client span off", (self) => Effect.provideService(self, HttpClient.TracerDisabledWhen, () => true)]
]

for (const [mode, tracing] of modes)
  describe(`SockudoNode.layerUndici (${mode})`, () => {
    it.live("sends method, path, query, headers and body; returns status, headers and body", () =>
      Effect.gen(function* () {
        const server = yield* withServer((_, res) =>
          json(res, 201, { ok: true, n: 1 }, { "x-reply": "yes", "set-cookie": ["a=1; Path=/", "b=2; Path=/"] })
        )
        const c = yield* HttpClient.HttpClient
        const response = yield* c.execute(
          HttpClientRequest.post(`${server.origin}/apps/1/events?x=1&y=%C3%A9`, {
            headers: { "x-idempotency-key": "k-1" },
            body: HttpBody.text('{"name":"é"}', "application/json")
          })
        )
        assert.strictEqual(response.status, 201)
        assert.strictEqual(response.headers["x-reply"], "yes")
        assert.strictEqual(response.headers["content-type"], "application/json")
        assert.deepStrictEqual(yield* response.json, { ok: true, n: 1 })
        assert.strictEqual(yield* response.text, '{"ok":true,"n":1}')
        assert.strictEqual(new TextDecoder().decode(yield* response.arrayBuffer), '{"ok":true,"n":1}')
        assert.deepStrictEqual(
          (yield* Stream.runCollect(response.stream)).map((chunk) => new TextDecoder().decode(chunk)),
          ['{"ok":true,"n":1}']
        )
        assert.strictEqual(response.cookies.cookies.a?.value, "1")
        assert.strictEqual(response.cookies.cookies.b?.value, "2")
        assert.strictEqual(response.url, `${server.origin}/apps/1/events?x=1&y=%C3%A9`)
        const [sent] = server.received
        assert.strictEqual(sent?.method, "POST")
        assert.strictEqual(sent?.url, "/apps/1/events?x=1&y=%C3%A9")
        assert.strictEqual(sent?.headers["x-idempotency-key"], "k-1")
        assert.strictEqual(sent?.headers["content-type"], "application/json")
        assert.strictEqual(sent?.headers["content-length"], String(Buffer.byteLength('{"name":"é"}')))
        assert.strictEqual(sent?.body, '{"name":"é"}')
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("GET without a body; non-2xx statuses are responses, not errors; empty bodies", () =>
      Effect.gen(function* () {
        const server = yield* withServer((req, res) => {
          if (req.url === "/empty") {
            res.writeHead(204)
            res.end()
          } else {
            res.writeHead(503, { "content-type": "text/plain", "retry-after": "7" })
            res.end("busy")
          }
        })
        const c = yield* HttpClient.HttpClient
        const busy = yield* c.execute(HttpClientRequest.get(`${server.origin}/busy`, { urlParams: { a: "1" } }))
        assert.strictEqual(busy.status, 503)
        assert.strictEqual(busy.headers["retry-after"], "7")
        assert.strictEqual(yield* busy.text, "busy")
        const empty = yield* c.execute(HttpClientRequest.get(`${server.origin}/empty`))
        assert.strictEqual(empty.status, 204)
        assert.strictEqual(yield* empty.text, "")
        assert.isNull(yield* empty.json)
        assert.strictEqual(server.received[0]?.url, "/busy?a=1")
        assert.strictEqual(server.received[0]?.method, "GET")
        assert.strictEqual(server.received[0]?.body, "")
        assert.isUndefined(server.received[0]?.headers["content-length"])
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("a body sent in many chunks arrives whole; a streamed request body is sent", () =>
      Effect.gen(function* () {
        const big = "x".repeat(200_000)
        const server = yield* withServer((req, res) => {
          if (req.url === "/echo") {
            res.writeHead(200, { "content-type": "text/plain" })
            res.end(req.body)
            return
          }
          res.writeHead(200, { "content-type": "text/plain" })
          // chunked transfer encoding, several writes
          for (let i = 0; i < 4; i++) res.write(big.slice(i * 50_000, (i + 1) * 50_000))
          res.end()
        })
        const c = yield* HttpClient.HttpClient
        const response = yield* c.execute(HttpClientRequest.get(`${server.origin}/big`))
        assert.strictEqual((yield* response.text).length, big.length)
        const echoed = yield* c.execute(
          HttpClientRequest.post(`${server.origin}/echo`, {
            body: HttpBody.stream(Stream.make(new TextEncoder().encode("ab"), new TextEncoder().encode("cd")))
          })
        )
        assert.strictEqual(yield* echoed.text, "abcd")
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("Effect.timeout interrupts the request and aborts it on the wire", () =>
      Effect.gen(function* () {
        const server = yield* withServer(() => {
          // never answers
        })
        const c = yield* HttpClient.HttpClient
        const error = yield* Effect.flip(Effect.timeout(c.execute(HttpClientRequest.get(`${server.origin}/hang`)), 100))
        assert.strictEqual(error._tag, "TimeoutError")
        yield* eventually(() => server.aborted.includes("/hang"))
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("interrupting the fiber aborts the request", () =>
      Effect.gen(function* () {
        const server = yield* withServer(() => {
          // never answers
        })
        const c = yield* HttpClient.HttpClient
        const fiber = yield* Effect.forkChild(c.execute(HttpClientRequest.get(`${server.origin}/slow`)))
        yield* eventually(() => server.received.length === 1)
        yield* Fiber.interrupt(fiber)
        yield* eventually(() => server.aborted.includes("/slow"))
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("a refused connection is a TransportError", () =>
      Effect.gen(function* () {
        const port = yield* withServer(() => {}).pipe(
          Effect.map((s) => s.port),
          Effect.scoped
        )
        const c = yield* HttpClient.HttpClient
        const error = yield* Effect.flip(c.execute(HttpClientRequest.get(`http://127.0.0.1:${port}/`)))
        assert.strictEqual(error._tag, "HttpClientError")
        assert.strictEqual(error.reason._tag, "TransportError")
      }).pipe(tracing, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("each URL is sent as the WHATWG URL parser makes it, verbatim or normalised", () =>
      Effect.gen(function* () {
        const server = yield* withServer((_, res) => json(res, 200, {}))
        const c = yield* HttpClient.HttpClient
        const cases: ReadonlyArray<readonly [string, HttpClientRequest.Options.NoUrl?]> = [
          ["/apps/1/events?auth_key=k&auth_timestamp=1&body_md5=ab&x=%2F&y=a:b@c!$()*+,;=~"],
          ["/a/./b/../c?q=/../x"],
          ["/a/%2E%2e/b"],
          ["/a b/é?c d&it's"],
          ["/p?q=1#fragment"],
          ["/p", { urlParams: { a: "1 2", b: "é" } }],
          ["/p?x=1", { urlParams: [["y", "2"]] }]
        ]
        for (const [path, options] of cases) {
          const input = `${server.origin}${path}`
          const response = yield* c.execute(HttpClientRequest.get(input, options))
          const expected = new URL(input)
          for (const [key, value] of UrlParams.fromInput(options?.urlParams ?? []).params) {
            expected.searchParams.append(key, value as string)
          }
          assert.strictEqual(server.received.at(-1)?.url, expected.pathname + expected.search, input)
          expected.hash = ""
          assert.strictEqual(response.url, expected.href, input)
        }
      }).pipe(tracing, Effect.scoped, Effect.provide(SockudoNode.layerUndici))
    )

    it.live("an invalid URL is an InvalidUrlError; an upgrade is refused", () =>
      Effect.gen(function* () {
        const c = yield* HttpClient.HttpClient
        const invalid = yield* Effect.flip(c.execute(HttpClientRequest.get("not a url")))
        assert.strictEqual(invalid.reason._tag, "InvalidUrlError")
        const upgrade = yield* Effect.flip(
          c.execute(
            HttpClientRequest.get("http://127.0.0.1:1/").pipe(HttpClientRequest.setHeader("upgrade", "websocket"))
          )
        )
        assert.strictEqual(upgrade.reason._tag, "TransportError")
      }).pipe(tracing, Effect.provide(SockudoNode.layerUndici))
    )
  })

const app = { id: "app-id", key: "app-key", secret: "app-secret" }

const sdk = (server: Server, settings: Partial<SockudoConfig.Options> = {}) =>
  SockudoNode.layer({
    appId: app.id,
    key: app.key,
    secret: Redacted.make(app.secret),
    host: "127.0.0.1",
    port: server.port,
    useTLS: false,
    ...settings
  })

describe("SockudoNode.layer over a real socket", () => {
  it.live("trigger sends a request the server accepts and decodes the receipt", () =>
    Effect.gen(function* () {
      const server = yield* withServer((req, res) => {
        const verdict = verifyRequest(
          fromUrl(req.method, `http://127.0.0.1${req.url}`, req.body),
          [app],
          Math.floor(Date.now() / 1000)
        )
        if (verdict.ok) json(res, 200, { channels: { orders: { subscription_count: 3 } } })
        else json(res, verdict.status, { error: verdict.error, code: verdict.code })
      })
      const result = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* sockudo.trigger("orders", "order.created", { id: 1 }, { info: ["subscription_count"] })
      }).pipe(Effect.provide(sdk(server)))
      assert.deepStrictEqual(result.channels, { orders: { subscription_count: 3 } })
      const [sent] = server.received
      assert.strictEqual(sent?.headers["x-idempotency-key"], result.idempotencyKey)
      assert.strictEqual(JSON.parse(sent?.body ?? "").idempotency_key, result.idempotencyKey)
    }).pipe(Effect.scoped)
  )

  it.live("a slow server times out per attempt, is retried with the same body, and surfaces as timeout: true", () =>
    Effect.gen(function* () {
      const server = yield* withServer(() => {
        // never answers
      })
      const error = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* Effect.flip(sockudo.trigger("orders", "order.created", { id: 1 }))
      }).pipe(Effect.provide(sdk(server, { timeout: "150 millis", retry: SockudoConfig.noRetries })))
      assert.strictEqual(error._tag, "SockudoTransportError")
      if (error._tag === "SockudoTransportError") assert.isTrue(error.timeout)
      yield* eventually(() => server.aborted.length === 1)

      const retried = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* Effect.flip(sockudo.trigger("orders", "order.created", { id: 2 }))
      }).pipe(Effect.provide(sdk(server, { timeout: "100 millis" })))
      assert.strictEqual(retried._tag, "SockudoTransportError")
      // the default policy: 3 retries, so 4 attempts, all with the same bytes
      yield* eventually(() => server.received.length === 5)
      const bodies = new Set(server.received.slice(1).map((r) => r.body))
      assert.strictEqual(bodies.size, 1)
    }).pipe(Effect.scoped)
  )

  it.live("a refused connection's SockudoTransportError keeps undici's reason but never the signed query", () =>
    Effect.gen(function* () {
      const closed = yield* withServer(() => {}).pipe(Effect.scoped)
      const exit = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* sockudo.channels.get("orders")
      }).pipe(Effect.exit, Effect.provide(sdk(closed, { retry: SockudoConfig.noRetries })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as SockudoError.SockudoTransportError
      assert.strictEqual(error._tag, "SockudoTransportError")
      assert.strictEqual(error.request, "GET /apps/app-id/channels/orders")
      const chain: Array<unknown> = []
      for (let c: unknown = error.cause; c !== undefined && chain.length < 10; c = (c as { cause?: unknown }).cause) {
        chain.push(c)
      }
      assert.isTrue(
        chain.some((c) => (c as { code?: unknown }).code === "ECONNREFUSED"),
        inspect(chain)
      )
      const shown = [
        error.message,
        String(error),
        JSON.stringify(error),
        inspect(error, { depth: 10 }),
        Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause),
        ...chain.map((c) => inspect(c, { depth: 10 }))
      ]
      for (const text of shown) {
        for (const part of ["auth_signature", "auth_timestamp", "auth_key=", "/orders?"]) assert.notInclude(text, part)
      }
    })
  )

  it.live("a 503 then 200 is retried and succeeds", () =>
    Effect.gen(function* () {
      let n = 0
      const server = yield* withServer((_, res) => {
        n++
        if (n === 1) json(res, 503, { error: "busy", code: "service_unavailable" })
        else json(res, 200, { ok: true })
      })
      const result = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* sockudo.trigger("orders", "order.created", { id: 1 })
      }).pipe(Effect.provide(sdk(server)))
      assert.deepStrictEqual(result.channels, {})
      assert.strictEqual(server.received.length, 2)
      assert.strictEqual(server.received[0]?.body, server.received[1]?.body)
    }).pipe(Effect.scoped)
  )
})
