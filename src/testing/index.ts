/**
 * Test layers for code that uses the SDK: `effect-sockudo/testing`.
 *
 * `layer` provides the `Sockudo` service over a mock `HttpClient` that records every request
 * (method, URL, headers, body) and answers from a handler you give. Nothing touches the network.
 *
 * ```ts test
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 * import * as SockudoTest from "effect-sockudo/testing"
 *
 * // your code, using Sockudo
 * const placeOrder = (id: string) =>
 *   Effect.gen(function* () {
 *     const sockudo = yield* Sockudo.Sockudo
 *     yield* sockudo.trigger("orders", "order.created", { id })
 *   })
 *
 * it.effect("publishes the order", () =>
 *   Effect.gen(function* () {
 *     yield* placeOrder("ord_1")
 *     const recorder = yield* SockudoTest.RequestRecorder
 *     expect(recorder.requests[0]!.json).toMatchObject({ name: "order.created" })
 *   }).pipe(Effect.provide(SockudoTest.layer({ handler: () => SockudoTest.json(200, { ok: true }) }))))
 * ```
 *
 * @module effect-sockudo/testing
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { SockudoConfigError } from "../Errors.ts"
import * as Sockudo from "../Sockudo.ts"
import * as SockudoConfig from "../SockudoConfig.ts"

/**
 * A request as the mock server saw it.
 *
 * @since 0.1.0
 */
export interface RecordedRequest {
  /** The HTTP method. */
  readonly method: string
  /** The full URL, as sent. */
  readonly url: URL
  /** The raw path, percent-encoding preserved. */
  readonly path: string
  /** The raw query string, without `?`. */
  readonly rawQuery: string
  /** Decoded query parameters. */
  readonly query: URLSearchParams
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The body exactly as sent (`""` when none). */
  readonly body: string
  /** The body parsed as JSON (`undefined` when empty or not JSON). */
  readonly json: unknown
}

/**
 * The mock server's answer: a status, a body, headers. Or a transport failure.
 *
 * @since 0.1.0
 */
export type Reply =
  | {
      /** An HTTP answer. */
      readonly _tag: "Reply"
      /** The status. */
      readonly status: number
      /** The body. */
      readonly body: string
      /** The response headers. */
      readonly headers: Readonly<Record<string, string>>
    }
  | {
      /** No answer: the request fails with a transport error. */
      readonly _tag: "TransportFailure"
      /** The transport error's description. */
      readonly message: string
    }

/**
 * A JSON answer.
 *
 * @since 0.1.0
 */
export const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  _tag: "Reply",
  status,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

/**
 * A plain-text answer (the server's framework rejections look like this).
 *
 * @since 0.1.0
 */
export const text = (status: number, body: string, headers: Readonly<Record<string, string>> = {}): Reply => ({
  _tag: "Reply",
  status,
  body,
  headers: { "content-type": "text/plain; charset=utf-8", ...headers }
})

/**
 * The connection fails before any response (refused, reset).
 *
 * @since 0.1.0
 */
export const transportFailure = (message = "connection reset"): Reply => ({ _tag: "TransportFailure", message })

/**
 * Answers a recorded request. May be effectful (sleep with `TestClock`, count calls...).
 *
 * @since 0.1.0
 */
export type Handler = (request: RecordedRequest) => Reply | Effect.Effect<Reply>

/**
 * The requests the mock server received, in order.
 *
 * @since 0.1.0
 */
export class RequestRecorder extends Context.Service<
  RequestRecorder,
  {
    /** Every request so far, oldest first. */
    readonly requests: Array<RecordedRequest>
  }
>()("effect-sockudo/testing/RequestRecorder") {}

/**
 * The default handler: `{"ok":true}` for every request, as Sockudo answers a publish.
 *
 * @since 0.1.0
 */
export const okHandler: Handler = () => json(200, { ok: true })

const utf8 = new TextDecoder()

const record = (request: import("effect/http/HttpClientRequest").HttpClientRequest, url: URL): RecordedRequest => {
  const body =
    request.body._tag === "Uint8Array"
      ? utf8.decode(request.body.body)
      : request.body._tag === "Raw" && typeof request.body.body === "string"
        ? request.body.body
        : ""
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
  if (
    request.body._tag !== "Empty" &&
    request.body.contentType !== undefined &&
    headers["content-type"] === undefined
  ) {
    headers["content-type"] = request.body.contentType
  }
  let parsed: unknown
  try {
    parsed = body === "" ? undefined : JSON.parse(body)
  } catch {
    parsed = undefined
  }
  const rawQuery = url.search.startsWith("?") ? url.search.slice(1) : url.search
  return {
    method: request.method,
    url,
    path: url.pathname,
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers,
    body,
    json: parsed
  }
}

/**
 * A mock `HttpClient` plus the `RequestRecorder` holding what it received.
 *
 * @since 0.1.0
 */
export const layerHttpClient = (handler: Handler = okHandler): Layer.Layer<HttpClient.HttpClient | RequestRecorder> =>
  Layer.effectContext(
    Effect.sync(() => {
      const requests: Array<RecordedRequest> = []
      const client = HttpClient.make((request, url) =>
        Effect.suspend(() => {
          const recorded = record(request, url)
          requests.push(recorded)
          const reply = handler(recorded)
          return Effect.isEffect(reply) ? reply : Effect.succeed(reply)
        }).pipe(
          Effect.flatMap((reply) =>
            reply._tag === "TransportFailure"
              ? Effect.fail(
                  new HttpClientError.HttpClientError({
                    reason: new HttpClientError.TransportError({ request, description: reply.message })
                  })
                )
              : Effect.succeed(
                  HttpClientResponse.fromWeb(
                    request,
                    new Response(reply.status === 204 ? null : reply.body, {
                      status: reply.status,
                      headers: reply.headers
                    })
                  )
                )
          )
        )
      )
      return Context.make(HttpClient.HttpClient, client).pipe(Context.add(RequestRecorder, { requests }))
    })
  )

/**
 * Credentials of the test app.
 *
 * @since 0.1.0
 */
export const testOptions: SockudoConfig.Options = {
  appId: "app-id",
  key: "app-key",
  secret: Redacted.make("app-secret"),
  host: "sockudo.test",
  port: 6001
}

/**
 * The `Sockudo` service over the mock client, with its `SockudoConfig` and `RequestRecorder`.
 * `config` overrides {@link testOptions}.
 *
 * @since 0.1.0
 */
export const layer = (
  options: {
    /** Answers each request (default {@link okHandler}). */
    readonly handler?: Handler | undefined
    /** Configuration over {@link testOptions}. */
    readonly config?: Partial<SockudoConfig.Options> | undefined
  } = {}
): Layer.Layer<Sockudo.Sockudo | SockudoConfig.SockudoConfig | RequestRecorder, SockudoConfigError> =>
  // Fresh, so that inside a runtime that built another Sockudo layer this one still records.
  Layer.fresh(Sockudo.layer).pipe(
    Layer.provideMerge(SockudoConfig.layer({ ...testOptions, ...options.config })),
    Layer.provideMerge(layerHttpClient(options.handler))
  )

/**
 * The in-memory Sockudo emulator: the HTTP API with the server's verification, error shapes,
 * idempotency and durable stores, simulated client connections, signed webhooks and fault
 * injection; in-process (`Emulator.layerTest`, `Emulator.layerHttpClient`) or on a loopback port
 * (`layerServer` of `effect-sockudo/testing/node`, which uses `@effect/platform-node`). See
 * `docs/emulator.md`.
 *
 * @since 0.1.0
 */
export * as Emulator from "./emulator/Emulator.ts"

/**
 * Faults to inject into the emulator: `status`, `rateLimited`, `dropBefore`, `dropAfter`,
 * `latency`.
 *
 * @since 0.1.0
 */
export * as EmulatorFaults from "./emulator/Faults.ts"
