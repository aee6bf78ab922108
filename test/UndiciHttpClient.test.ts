/**
 * `effect-sockudo/node` where undici cannot dispatch: Bun supplies its own `undici` module,
 * whose `Agent` has neither `dispatch` nor `destroy`. Here `@effect/platform-node/Undici` is
 * replaced by such a module, and the Node layers send through `fetch` instead (to a real
 * loopback server), with a warning that names `effect-sockudo/fetch`.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Redacted } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { Agent as UndiciAgent } from "undici"
import { vi } from "vitest"
import { Sockudo } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import { canDispatch } from "../src/UndiciHttpClient.ts"
import { fromUrl, verifyRequest } from "./support/serverVerifier.ts"

vi.mock("@effect/platform-node/Undici", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node/Undici")>()
  /** What Bun's `undici` hands out: a class that neither dispatches nor closes. */
  class Agent {}
  return { ...original, Agent, default: { ...original.default, Agent } }
})

const app = { id: "app-id", key: "app-key", secret: "app-secret" }

/** A loopback server answering 200 to requests `serverVerifier` accepts; the URLs it saw. */
const withServer = Effect.acquireRelease(
  Effect.callback<{ readonly server: http.Server; readonly origin: string; readonly seen: Array<string> }>((resume) => {
    const seen: Array<string> = []
    const server = http.createServer((req, res) => {
      let body = ""
      req.on("data", (c: Buffer) => {
        body += c.toString("utf8")
      })
      req.on("end", () => {
        seen.push(`${req.method} ${req.url}`)
        const verdict = verifyRequest(
          fromUrl(req.method ?? "", `http://127.0.0.1${req.url}`, body),
          [app],
          Math.floor(Date.now() / 1000)
        )
        res.writeHead(verdict.ok ? 200 : verdict.status, { "content-type": "application/json" })
        res.end(verdict.ok ? "{}" : JSON.stringify({ error: verdict.error }))
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, origin: `http://127.0.0.1:${port}`, seen }))
    })
  }),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

/** The messages logged at Warn while `self` runs. */
const warnings = <A, E, R>(self: Effect.Effect<A, E, R>) => {
  const logged: Array<unknown> = []
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    if (logLevel === "Warn") logged.push(...(Array.isArray(message) ? message : [message]))
  })
  return Effect.map(Effect.provide(self, Logger.layer([logger])), (a) => [a, logged] as const)
}

describe("canDispatch", () => {
  it("holds for undici's Agent and not for Bun's stand-in or other values", () => {
    assert.isTrue(canDispatch(new UndiciAgent()))
    assert.isTrue(canDispatch(UndiciAgent.prototype))
    class BunAgent {}
    for (const value of [new BunAgent(), BunAgent.prototype, {}, { dispatch: 1 }, null, undefined, 0]) {
      assert.isFalse(canDispatch(value), String(value))
    }
  })
})

describe("the Node entry where undici cannot dispatch (Bun)", () => {
  it.live("SockudoNode.layer publishes through fetch, warns once, and closes without a defect", () =>
    Effect.gen(function* () {
      const server = yield* withServer
      const url = new URL(server.origin)
      const [receipt, logged] = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* sockudo.trigger("orders", "order.created", { id: 1 })
      }).pipe(
        Effect.provide(
          SockudoNode.layer({
            appId: app.id,
            key: app.key,
            secret: Redacted.make(app.secret),
            host: url.hostname,
            port: Number(url.port)
          })
        ),
        warnings
      )
      assert.isString(receipt.idempotencyKey)
      assert.deepStrictEqual(
        server.seen.map((s) => s.split("?")[0]),
        ["POST /apps/app-id/events"]
      )
      assert.strictEqual(logged.length, 1)
      assert.include(String(logged[0]), "effect-sockudo/fetch")
    }).pipe(Effect.scoped)
  )

  it.live("layerUndiciOptions falls back the same way", () =>
    Effect.gen(function* () {
      const server = yield* withServer
      const [status] = yield* HttpClient.get(`${server.origin}/apps/app-id/channels`).pipe(
        Effect.map((response) => response.status),
        Effect.provide(SockudoNode.layerUndiciOptions({ connections: 4 })),
        warnings
      )
      assert.strictEqual(status, 400) // unsigned: the server saw it and refused it
      assert.deepStrictEqual(server.seen, ["GET /apps/app-id/channels"])
    }).pipe(Effect.scoped)
  )

  it.live("a provided Dispatcher without dispatch gives the fetch client: the request goes to fetch", () =>
    Effect.gen(function* () {
      const fetched: Array<string> = []
      const fakeFetch: typeof globalThis.fetch = async (input) => {
        fetched.push(input instanceof Request ? input.url : String(input))
        return new Response("{}", { status: 200, headers: { "content-type": "application/json" } })
      }
      const client = SockudoNode.layerUndiciNoDispatcher.pipe(
        Layer.provide(Layer.succeed(NodeHttpClient.Dispatcher, {} as NodeHttpClient.Dispatcher["Service"]))
      )
      const [status, logged] = yield* HttpClient.execute(HttpClientRequest.get("http://sockudo.test/x")).pipe(
        Effect.map((response) => response.status),
        Effect.provide(client),
        Effect.provideService(FetchHttpClient.Fetch, fakeFetch),
        warnings
      )
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(fetched, ["http://sockudo.test/x"])
      assert.strictEqual(logged.length, 1)
    })
  )
})
