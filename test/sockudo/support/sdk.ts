/**
 * The SDK as the suite uses it: `Sockudo.layer` over the Node entry's undici client, pointed at
 * one app of one server, with every HTTP exchange recorded (for the differential comparison).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Sockudo, SockudoConfig } from "../../../src/index.ts"
import { layerUndici } from "../../../src/Node.ts"
import type { App } from "./env.ts"

/** One HTTP request the SDK sent and what came back, as seen by the client. */
export interface Exchange {
  readonly method: string
  /** The request path, without the signed query. */
  readonly path: string
  /** The request's query parameters other than the signature's. */
  readonly query: Readonly<Record<string, string>>
  /** 0 when no response arrived (a transport failure). */
  readonly status: number
  readonly retryAfter?: string | undefined
  readonly contentType?: string | undefined
  readonly body: string
  /** When the answer (or the failure) arrived, `Date.now()`. */
  readonly at: number
}

/** Where exchanges are recorded; `exchanges` is replaced between scenarios. */
export interface Recorder {
  exchanges: Array<Exchange>
}

const signatureParams = new Set(["auth_key", "auth_timestamp", "auth_version", "auth_signature", "body_md5"])

const requestParts = (request: HttpClientRequest.HttpClientRequest) => {
  const url = new URL(request.url)
  const query: Record<string, string> = {}
  for (const [k, v] of request.urlParams.params) if (!signatureParams.has(k) && typeof v === "string") query[k] = v
  for (const [k, v] of url.searchParams) if (!signatureParams.has(k)) query[k] = v
  return { method: request.method, path: url.pathname, query }
}

/** An `HttpClient` layer over the Node entry's undici client that records into `recorder`. */
export const recordingHttpClient = (recorder: Recorder): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(Effect.service(HttpClient.HttpClient), (client) =>
      client.pipe(
        HttpClient.transformResponse((effect) =>
          effect.pipe(
            Effect.tap((response) =>
              Effect.map(response.text, (body) => {
                recorder.exchanges.push({
                  ...requestParts(response.request),
                  status: response.status,
                  retryAfter: response.headers["retry-after"],
                  contentType: response.headers["content-type"],
                  body,
                  at: Date.now()
                })
              })
            ),
            Effect.tapError((error) =>
              Effect.sync(() => {
                const request = (error as { reason?: { request?: HttpClientRequest.HttpClientRequest } }).reason
                  ?.request
                if (request !== undefined)
                  recorder.exchanges.push({ ...requestParts(request), status: 0, body: "", at: Date.now() })
              })
            )
          )
        )
      )
    )
  ).pipe(Layer.provide(layerUndici))

/** What a server answered to `Sdk.raw`. */
export interface RawResponse {
  readonly status: number
  readonly body: unknown
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The SDK for one app of one server. */
export interface Sdk {
  readonly app: App
  readonly baseUrl: string
  /** Runs an operation; rejects with its typed error. */
  readonly run: <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) => Promise<A>
  /** Runs an operation that must fail; resolves with its typed error. */
  readonly fail: <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) => Promise<E>
  /** Runs an operation; resolves with its exit. */
  readonly exit: <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) => Promise<Exit.Exit<A, unknown>>
  /**
   * Sends a request the SDK's operations would refuse to send (signed by `signedUrl`, recorded
   * like theirs); `body` is sent as given, with `headers` if any. Resolves with the status and the
   * parsed JSON body (or the text when it is not JSON).
   */
  readonly raw: (
    method: "GET" | "POST" | "DELETE",
    path: string,
    options?: {
      readonly query?: Readonly<Record<string, string | number>>
      readonly body?: string
      readonly headers?: Readonly<Record<string, string>>
    }
  ) => Promise<RawResponse>
  readonly runtime: ManagedRuntime.ManagedRuntime<Sockudo.Sockudo, unknown>
  readonly dispose: () => Promise<void>
}

/**
 * The SDK for `app` at `baseUrl`. Unless `settings` say otherwise it does not retry (so that
 * one operation is one exchange) and it checks no limit of its own that the server checks.
 */
export const makeSdk = (
  baseUrl: string,
  app: App,
  recorder: Recorder = { exchanges: [] },
  settings: SockudoConfig.Settings = {}
): Sdk => {
  const runtime = ManagedRuntime.make(
    Sockudo.layer.pipe(
      Layer.provide(
        SockudoConfig.layer({
          appId: app.id,
          key: app.key,
          secret: Redacted.make(app.secret),
          baseUrl,
          retry: SockudoConfig.noRetries,
          timeout: "5 seconds",
          ...settings
        })
      ),
      Layer.provide(recordingHttpClient(recorder))
    )
  )
  const use = <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) => Sockudo.Sockudo.use(f)
  const rawClient = ManagedRuntime.make(recordingHttpClient(recorder))
  return {
    app,
    baseUrl,
    run: (f) => runtime.runPromise(use(f)),
    fail: (f) => runtime.runPromise(Effect.flip(use(f))),
    exit: (f) => runtime.runPromiseExit(use(f)),
    raw: async (method, path, options = {}) => {
      const url = await runtime.runPromise(use((sdk) => sdk.signedUrl(method, path, options.query, options.body)))
      const request = HttpClientRequest.make(method)(url).pipe(
        options.body === undefined ? (r) => r : HttpClientRequest.bodyText(options.body, "application/json"),
        HttpClientRequest.setHeaders(options.headers ?? {})
      )
      return rawClient.runPromise(
        Effect.flatMap(
          HttpClient.HttpClient.use((client) => client.execute(request)),
          (response) => Effect.map(response.text, (text) => ({ status: response.status, body: parsed(text) }))
        )
      )
    },
    runtime,
    dispose: async () => {
      await runtime.dispose()
      await rawClient.dispose()
    }
  }
}

/** The tag of a failure exit, or "success". */
export const outcome = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "success"
    : Exit.findErrorOption(exit).pipe((o) =>
        o._tag === "Some" ? String((o.value as { _tag?: string })._tag) : "defect"
      )
