/**
 * The emulator on a loopback port: `effect-sockudo/testing/node`. Serves the emulator of
 * `effect-sockudo/testing` with `@effect/platform-node`'s HTTP server, for code that needs a
 * real socket: an undici or fetch client, pusher-js over WebSocket, another process. Its own
 * entry, so `effect-sockudo/testing` (the mock layer and the in-process emulator) loads on
 * every runtime.
 *
 * ```ts
 * import { Layer, ManagedRuntime } from "effect"
 * import { Emulator } from "effect-sockudo/testing"
 * import * as EmulatorNode from "effect-sockudo/testing/node"
 *
 * const runtime = ManagedRuntime.make(EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer())))
 * ```
 *
 * @module effect-sockudo/testing/node
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import type { ServeError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import { Emulator } from "./emulator/EmulatorService.ts"
import * as Router from "./emulator/Router.ts"
import { EmulatorServer } from "./emulator/Transports.ts"
import * as WebSocket from "./emulator/WebSocket.ts"

export { EmulatorServer } from "./emulator/Transports.ts"

/**
 * Serves the emulator on `127.0.0.1`, on a free port, with `@effect/platform-node`'s HTTP
 * server: the HTTP API, and client connections over WebSocket at `/app/<key>` (see
 * `emulator/WebSocket.ts`), so pusher-js can connect with `wsHost: "127.0.0.1"` and `wsPort: port`. A
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
