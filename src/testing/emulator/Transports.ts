/**
 * How requests reach an emulator: answered in-process by an `HttpClient` (`layerHttpClient`), or
 * served on a loopback port (`EmulatorServer`, provided by `layerServer` of
 * `effect-sockudo/testing/node`), from the same handler.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import { Emulator } from "./EmulatorService.ts"
import * as Router from "./Router.ts"

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
