/**
 * The endpoints of `Endpoints` as Node request handlers, `(request, response, next?) => Promise`,
 * for `node:http`, Express and Fastify (`effect-sockudo/node` exports them as
 * `SockudoNode.toNodeHandler`).
 *
 * ```ts
 * import express from "express"
 * import { ManagedRuntime } from "effect"
 * import { Endpoints } from "effect-sockudo"
 * import * as SockudoNode from "effect-sockudo/node"
 *
 * const runtime = ManagedRuntime.make(SockudoNode.layerConfig) // once, for the whole app
 * const authorize = () => Endpoints.allow() // your decision, per request
 * const handle = () => {} // your handling of the verified events
 * const app = express()
 * app.post("/pusher/auth", SockudoNode.toNodeHandler(Endpoints.channelAuthorization({ authorize }), runtime))
 * app.post("/pusher/webhooks", SockudoNode.toNodeHandler(Endpoints.webhooks({ handle }), runtime))
 * app.use(express.json()) // parsers after the endpoints, or on other routes only
 * ```
 *
 * **The raw-body trap.** A webhook's signature covers its body byte for byte, so the webhook
 * endpoint must read the body as it arrived. A body parser that ran first (`express.json()`,
 * Fastify's default JSON parser) has read the stream and kept only the parsed object. The handler
 * reads, in this order:
 * - the request stream, when nobody has read it yet;
 * - `request.rawBody`, when a parser kept the bytes there (a string or a Buffer), or
 *   `request.body` when it is a Buffer or a string (`express.raw()`, `express.text()`);
 * - a parsed `request.body` object: enough for the two auth endpoints, which only need its
 *   fields; the webhook endpoint answers it 500 (so the server retries once you have fixed the
 *   route) and logs how to fix it.
 * Mount the endpoints before any body parser, or give the webhook route `express.raw({ type:
 * "application/json" })`; in Fastify, register them in a plugin whose content-type parser leaves
 * the stream unread (see the README's Endpoints section).
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import * as Endpoints from "./Endpoints.ts"

/**
 * A Node request handler: `node:http`'s `(request, response)`, Express middleware (a failure of
 * the runtime itself goes to `next`), or Fastify's `request.raw` / `reply.raw` after
 * `reply.hijack()`.
 *
 * @since 0.1.0
 */
export type NodeHandler = (
  request: Http.IncomingMessage,
  response: Http.ServerResponse,
  next?: (error?: unknown) => void
) => Promise<void>

/** What body parsers leave on the request. */
interface Parsed {
  readonly body?: unknown
  readonly rawBody?: unknown
}

const bytesOrText = (value: unknown): Uint8Array | string | undefined =>
  typeof value === "string" || value instanceof Uint8Array ? value : undefined

/**
 * A Node request's body for an endpoint: read from the stream (at most `maxBytes`), or, when a
 * framework has read it already, what the framework kept (see the module's note on the raw-body
 * trap).
 *
 * @since 0.1.0
 */
export const readNodeBody = (request: Http.IncomingMessage, maxBytes: number): Promise<Endpoints.EndpointBody> => {
  if (request.readableEnded) {
    const { body, rawBody } = request as Http.IncomingMessage & Parsed
    const kept = bytesOrText(rawBody) ?? bytesOrText(body)
    if (kept !== undefined) return Promise.resolve(kept)
    return Promise.resolve(
      typeof body === "object" && body !== null
        ? { _tag: "Parsed", value: body }
        : { _tag: "Unavailable", reason: "Consumed" }
    )
  }
  return new Promise((resolve) => {
    const tooLarge = () => {
      request.off("data", onData)
      request.resume() // let the rest drain: the client gets its 413
      resolve({ _tag: "Unavailable", reason: "TooLarge" })
    }
    const collector = new Endpoints.BodyCollector(maxBytes)
    const onData = (chunk: Uint8Array) => {
      if (!collector.push(chunk)) tooLarge()
    }
    if (Endpoints.declaredTooLarge(request.headers["content-length"], maxBytes)) return tooLarge()
    request.on("data", onData)
    request.once("end", () => resolve(collector.bytes()))
    request.once("error", () => resolve({ _tag: "Unavailable", reason: "Consumed" }))
  })
}

/**
 * The endpoint as a Node request handler. Build `runner` once for the whole app (a
 * `ManagedRuntime` of your layer), never per request.
 *
 * @since 0.1.0
 */
export const toNodeHandler =
  <R>(endpoint: Endpoints.Endpoint<R>, runner: Endpoints.Runner<R>): NodeHandler =>
  async (request, response, next) => {
    try {
      const method = request.method ?? "GET"
      const body = method === "POST" ? await readNodeBody(request, endpoint.maxBodyBytes) : new Uint8Array(0)
      const answer = await runner.runPromise(endpoint.handle({ method, headers: request.headers, body }))
      if (response.headersSent) return
      // a body over the limit may still be arriving: do not keep the connection for another request
      const headers = answer.status === 413 ? { ...answer.headers, connection: "close" } : answer.headers
      response.writeHead(answer.status, headers).end(answer.body)
    } catch (error) {
      if (next !== undefined) return next(error)
      if (!response.headersSent) {
        response.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal error"}')
      }
    }
  }
