import { createHmac } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import { Layer, Logger, ManagedRuntime, Redacted } from "effect"
import Pusher from "pusher"
import { Endpoints } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import * as SockudoTest from "../src/testing/index.ts"

// The Node adapter over real sockets: node:http servers, requests sent with fetch. Body parsers
// are modelled by what they leave on the request, as body-parser (express.json, express.raw)
// and a `verify` hook that keeps `rawBody` do.

const pusher = new Pusher({ appId: "app-id", key: "app-key", secret: "app-secret", host: "sockudo.test" })
const lines: Array<unknown> = []
const runtime = ManagedRuntime.make(
  Layer.merge(SockudoTest.layer(), Logger.layer([Logger.make((o) => void lines.push(o.message))]))
)
afterAll(() => runtime.dispose())

const authorize = Endpoints.channelAuthorization({
  authorize: (r) => (r.channelName.startsWith("presence-") ? Endpoints.allow({ user_id: "u1" }) : Endpoints.allow())
})
const received: Array<unknown> = []
const webhooks = Endpoints.webhooks({ handle: (webhook) => void received.push(webhook.events) })

type Listener = (request: Http.IncomingMessage, response: Http.ServerResponse) => void
const servers: Array<Http.Server> = []
afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))))

/** Serves `listener` on a free loopback port; returns its base URL. */
const serve = (listener: Listener): Promise<string> =>
  new Promise((resolve) => {
    const server = Http.createServer(listener)
    servers.push(server)
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })

/** A stand-in for a body parser: reads the whole stream, then leaves `fields` on the request. */
const parser =
  (keep: (raw: Buffer) => Record<string, unknown>, then: Listener): Listener =>
  (request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (c: Buffer) => chunks.push(c))
    request.on("end", () => {
      Object.assign(request, keep(Buffer.concat(chunks)))
      then(request, response)
    })
  }

const form = "socket_id=123.456&channel_name=private-orders"
const post = (url: string, body: BodyInit, headers: Record<string, string>) =>
  fetch(url, { method: "POST", headers, body, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) })
const formHeaders = { "content-type": "application/x-www-form-urlencoded" }

const hook = JSON.stringify({ time_ms: 1, events: [{ name: "channel_occupied", channel: "orders" }] })
const hookHeaders = {
  "content-type": "application/json",
  "x-pusher-key": "app-key",
  "x-pusher-signature": createHmac("sha256", "app-secret").update(hook).digest("hex")
}

describe("SockudoNode.toNodeHandler", () => {
  it("serves the endpoints from node:http, reading the stream itself", async () => {
    const auth = SockudoNode.toNodeHandler(authorize, runtime)
    const url = await serve((req, res) => void auth(req, res))
    const response = await post(url, form, formHeaders)
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("cache-control"), "no-store")
    expect(await response.json()).toEqual(pusher.authorizeChannel("123.456", "private-orders"))
    const get = await fetch(url)
    expect({ status: get.status, allow: get.headers.get("allow") }).toEqual({ status: 405, allow: "POST" })
    const hooks = SockudoNode.toNodeHandler(webhooks, runtime)
    const hookUrl = await serve((req, res) => void hooks(req, res))
    received.length = 0
    const delivered = await post(hookUrl, hook, hookHeaders)
    expect({ status: delivered.status, body: await delivered.json() }).toEqual({ status: 200, body: { ok: true } })
    expect(received).toEqual([[{ _tag: "ChannelOccupied", name: "channel_occupied", channel: "orders" }]])
  })

  it("a body over the limit: 413 and Connection: close, whether declared or streamed", async () => {
    const auth = SockudoNode.toNodeHandler(authorize, runtime)
    const url = await serve((req, res) => void auth(req, res))
    const declared = await post(url, `${form}&pad=${"x".repeat(20_000)}`, formHeaders)
    expect({ status: declared.status, connection: declared.headers.get("connection") }).toEqual({
      status: 413,
      connection: "close"
    })
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 64) controller.close()
        else controller.enqueue(new Uint8Array(1024).fill(97))
      }
    })
    const streamed = await post(url, stream, formHeaders)
    expect({ status: streamed.status, body: await streamed.json() }).toEqual({
      status: 413,
      body: { error: "the body is larger than 16384 bytes" }
    })
  })

  it("auth endpoints accept a body a parser already read into fields (express.json, express.urlencoded)", async () => {
    const auth = SockudoNode.toNodeHandler(authorize, runtime)
    const url = await serve(
      parser(
        (raw) => ({ body: Object.fromEntries(new URLSearchParams(raw.toString())) }),
        (req, res) => void auth(req, res)
      )
    )
    const response = await post(url, form, formHeaders)
    expect(await response.json()).toEqual(pusher.authorizeChannel("123.456", "private-orders"))
  })

  it("webhooks: rawBody or a Buffer body is verified; a parsed object is a logged 500 that says how to fix it", async () => {
    const hooks = SockudoNode.toNodeHandler(webhooks, runtime)
    const cases: ReadonlyArray<readonly [string, (raw: Buffer) => Record<string, unknown>, number, string?]> = [
      ["rawBody kept by a verify hook", (raw) => ({ rawBody: raw, body: JSON.parse(raw.toString()) }), 200],
      ["a Buffer body (express.raw)", (raw) => ({ body: raw }), 200],
      ["a string body (express.text)", (raw) => ({ body: raw.toString() }), 200],
      [
        "a parsed object only (express.json)",
        (raw) => ({ body: JSON.parse(raw.toString()) }),
        500,
        "the webhook arrived parsed, but its signature covers the raw body"
      ],
      ["nothing kept", () => ({}), 500, "the request body was read before the endpoint could read it"]
    ]
    for (const [what, keep, status, logged] of cases) {
      const url = await serve(parser(keep, (req, res) => void hooks(req, res)))
      lines.length = 0
      received.length = 0
      const response = await post(url, hook, hookHeaders)
      assert.strictEqual(response.status, status, what)
      assert.strictEqual(received.length, status === 200 ? 1 : 0, what)
      if (logged !== undefined) assert.include(String((lines[0] as Array<string>)[0]), logged, what)
    }
  })

  it("a runtime that cannot start: the error goes to next (Express), or a 500 without it", async () => {
    const broken = ManagedRuntime.make(SockudoNode.layer({ appId: "", key: "k", secret: Redacted.make("s") }))
    const auth = SockudoNode.toNodeHandler(authorize, broken)
    const errors: Array<unknown> = []
    const withNext = await serve((req, res) => {
      void auth(req, res, (error) => {
        errors.push(error)
        res.writeHead(503).end()
      })
    })
    assert.strictEqual((await post(withNext, form, formHeaders)).status, 503)
    expect(errors[0]).toMatchObject({ _tag: "SockudoConfigError", field: "appId" })
    const withoutNext = await serve((req, res) => void auth(req, res))
    const response = await post(withoutNext, form, formHeaders)
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 500,
      body: { error: "internal error" }
    })
    await broken.dispose()
  })
})
