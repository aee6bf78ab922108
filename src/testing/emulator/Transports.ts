/**
 * How requests reach an emulator: answered in-process by an `HttpClient` (`layerHttpClient`), or
 * served on a loopback port (`layerServer`), from the same handler.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type { ServeError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import { Emulator } from "./EmulatorService.ts"
import * as Router from "./Router.ts"
import * as WebSocket from "./WebSocket.ts"

/**
 * The base URL the in-process `HttpClient` answers (any host works).
 *
 * @since 0.1.0
 */
export const inProcessBaseUrl = "http://sockudo.emulator"

/**
 * An `HttpClient` answered by the emulator in-process, without a socket. A dropped connection
 * fails with a `TransportError`.
 *
 * @since 0.1.0
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient, never, Emulator> = Layer.effect(
  HttpClient.HttpClient,
  Emulator.use((emulator) =>
    Effect.succeed(
      HttpClient.make((request) => {
        const base = HttpServerRequest.fromClientRequest(request)
        const contentType = request.body._tag === "Empty" ? undefined : request.body.contentType
        const serverRequest =
          contentType === undefined || base.headers["content-type"] !== undefined
            ? base
            : base.modify({ headers: Headers.set(base.headers, "content-type", contentType) })
        return emulator.handler.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, serverRequest),
          Effect.scoped,
          Effect.flatMap((response) =>
            response === Router.dropped
              ? Effect.fail(
                  new HttpClientError.HttpClientError({
                    reason: new HttpClientError.TransportError({
                      request,
                      description: "the emulator dropped the connection"
                    })
                  })
                )
              : Effect.succeed(HttpServerResponse.toClientResponse(response, { request }))
          )
        )
      })
    )
  )
)

/**
 * The emulator served on a loopback port.
 *
 * @since 0.1.0
 */
export class EmulatorServer extends Context.Service<
  EmulatorServer,
  {
    /** `http://127.0.0.1:<port>`, the server's base URL without `/apps/...`. */
    readonly baseUrl: string
    /** The port it listens on. */
    readonly port: number
  }
>()("effect-sockudo/testing/EmulatorServer") {}

/**
 * Serves the emulator on `127.0.0.1`, on a free port, with `@effect/platform-node`'s HTTP
 * server: the HTTP API, and client connections over WebSocket at `/app/<key>` (see
 * `WebSocket.ts`), so pusher-js can connect with `wsHost: "127.0.0.1"` and `wsPort: port`. A
 * dropped connection destroys the socket.
 *
 * @since 0.1.0
 */
export const layerServer: Layer.Layer<EmulatorServer, ServeError, Emulator> = Layer.effect(
  EmulatorServer,
  Effect.gen(function* () {
    const emulator = yield* Emulator
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
    const api = Effect.flatMap(emulator.handler, (response) =>
      response === Router.dropped
        ? HttpServerRequest.HttpServerRequest.use((request) =>
            Effect.sync(() => {
              ;(NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage).socket.destroy()
              return HttpServerResponse.empty()
            })
          )
        : Effect.succeed(response)
    )
    const app = HttpServerRequest.HttpServerRequest.use((request) => {
      const key = WebSocket.upgradeKey(request)
      return key === undefined ? api : WebSocket.serve(emulator, request, key)
    })
    yield* server.serve(app)
    const address = server.address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    return { baseUrl: `http://127.0.0.1:${port}`, port }
  })
)
