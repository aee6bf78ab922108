/**
 * An `HttpClient` on undici's `dispatch` that reads each response body in full before handing the
 * response over: the SDK only ever reads small JSON answers, and skipping the response stream
 * makes a request markedly cheaper (see `bench/README.md`). Used by the Node entry
 * (`effect-sockudo/node`), which re-exports its layers.
 *
 * @since 0.1.0
 */
import type { Readable } from "node:stream"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as Cookies from "effect/http/Cookies"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Url from "effect/http/Url"
import * as UrlParams from "effect/http/UrlParams"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Result from "effect/Result"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"

const transportError = (request: HttpClientRequest.HttpClientRequest, cause: unknown, description?: string) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({
      request,
      cause,
      ...(description === undefined ? {} : { description })
    })
  })

const decodeError = (response: HttpClientResponse.HttpClientResponse, cause: unknown) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.DecodeError({ request: response.request, response, cause })
  })

const utf8 = new TextDecoder()
const formUtf8 = new TextDecoder("utf-8", { ignoreBOM: true })
const noBytes = new Uint8Array(0)

/** A response whose body was read in full before it was handed over. */
class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly request: HttpClientRequest.HttpClientRequest
  readonly status: number
  readonly bytes: Uint8Array
  readonly #url: URL | string
  readonly #rawHeaders: Undici.Dispatcher.ResponseData["headers"]
  #headers: Headers.Headers | undefined
  #text: string | undefined

  constructor(
    request: HttpClientRequest.HttpClientRequest,
    url: URL | string,
    status: number,
    rawHeaders: Undici.Dispatcher.ResponseData["headers"],
    bytes: Uint8Array
  ) {
    super()
    this.request = request
    this.#url = url
    this.status = status
    this.#rawHeaders = rawHeaders
    this.bytes = bytes
  }

  get url(): string {
    return typeof this.#url === "string" ? this.#url : this.#url.href.split("#")[0]!
  }

  get headers(): Headers.Headers {
    if (this.#headers === undefined) this.#headers = Headers.fromInput(this.#rawHeaders)
    return this.#headers
  }

  #decoded(): string {
    if (this.#text === undefined) this.#text = utf8.decode(this.bytes)
    return this.#text
  }

  get cookies(): Cookies.Cookies {
    const header = this.#rawHeaders["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return Effect.sync(() => this.#decoded())
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.suspend(() => {
      const text = this.#decoded()
      try {
        return Effect.succeed(text === "" ? null : JSON.parse(text))
      } catch (cause) {
        return Effect.fail(decodeError(this, cause))
      }
    })
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    // A copy: `bytes` may be a view into a larger buffer (Buffer#slice does not copy).
    return Effect.sync(() => new Uint8Array(this.bytes).buffer)
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.try({
      // A leading "?" is form data; URLSearchParams would drop it as a query prefix.
      try: () => UrlParams.fromInput(new URLSearchParams(formUtf8.decode(this.bytes).replace(/^\?/, "%3F"))),
      catch: (cause) => decodeError(this, cause)
    })
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.tryPromise({
      try: () => new globalThis.Response(new Uint8Array(this.bytes), { headers: this.headers }).formData(),
      catch: (cause) => decodeError(this, cause)
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return this.bytes.length === 0 ? Stream.empty : Stream.succeed(this.bytes)
  }

  get upgrade(): Effect.Effect<never, HttpClientError.HttpClientError> {
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({
          request: this.request,
          response: this,
          description: "effect-sockudo's undici client does not upgrade connections"
        })
      })
    )
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "effect/http/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }

  pipe() {
    // biome-ignore lint/complexity/noArguments: effect's pipe protocol passes `arguments` through
    return pipeArguments(this, arguments)
  }
}

type UndiciBody = Exclude<Undici.Dispatcher.DispatchOptions["body"], undefined>

type Resume = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => void

/**
 * The handler of one request through `dispatcher.dispatch`: collects the whole response body and
 * resumes once, with the response or the transport error. One object per request, its callbacks
 * on the prototype.
 */
class Exchange implements Undici.Dispatcher.DispatchHandler {
  readonly #request: HttpClientRequest.HttpClientRequest
  readonly #url: URL | string
  readonly #resume: Resume
  readonly #signal: AbortSignal | undefined
  #onAbort: (() => void) | undefined
  #controller: Undici.Dispatcher.DispatchController | undefined
  #reason: Error | undefined
  #finished = false
  #status = 0
  #headers: Undici.Dispatcher.ResponseData["headers"] = {}
  #single: Buffer | undefined
  #chunks: Array<Buffer> | undefined

  constructor(
    request: HttpClientRequest.HttpClientRequest,
    url: URL | string,
    signal: AbortSignal | undefined,
    resume: Resume
  ) {
    this.#request = request
    this.#url = url
    this.#resume = resume
    this.#signal = signal
    if (signal !== undefined) {
      this.#onAbort = () =>
        this.abort(signal.reason instanceof Error ? signal.reason : new Error("The request was aborted"))
      signal.addEventListener("abort", this.#onAbort, { once: true })
    }
  }

  /** Aborts the request on the wire, once it has started; a no-op after its end. */
  abort(error: Error): void {
    if (this.#finished) return
    this.#reason ??= error
    this.#controller?.abort(error)
  }

  /** Aborts the request for good: the caller was interrupted. */
  cancel(): void {
    this.abort(new Error("The request was interrupted"))
    this.#finish()
  }

  /** Ends the request with a transport error. */
  fail(cause: unknown): void {
    this.#finish()
    this.#resume(Effect.fail(transportError(this.#request, cause)))
  }

  #finish(): void {
    this.#finished = true
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort)
  }

  onRequestStart(controller: Undici.Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#reason !== undefined) controller.abort(this.#reason)
  }

  onRequestUpgrade(controller: Undici.Dispatcher.DispatchController): void {
    controller.abort(new Error("effect-sockudo's undici client does not upgrade connections"))
  }

  onResponseStart(
    _: Undici.Dispatcher.DispatchController,
    statusCode: number,
    headers: Undici.Dispatcher.ResponseData["headers"]
  ): void {
    if (statusCode < 200) return
    this.#status = statusCode
    this.#headers = headers
  }

  onResponseData(_: Undici.Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#single === undefined) this.#single = chunk
    else if (this.#chunks === undefined) this.#chunks = [this.#single, chunk]
    else this.#chunks.push(chunk)
  }

  onResponseEnd(): void {
    this.#finish()
    const bytes = this.#chunks !== undefined ? Buffer.concat(this.#chunks) : (this.#single ?? noBytes)
    this.#resume(Effect.succeed(new BufferedResponse(this.#request, this.#url, this.#status, this.#headers, bytes)))
  }

  onResponseError(_: Undici.Dispatcher.DispatchController, cause: Error): void {
    this.fail(cause)
  }
}

/** Where a request goes: undici's origin and path, and the URL its response reports. */
interface Target {
  readonly origin: string
  readonly path: string
  readonly url: URL | string
}

const targetOfUrl = (url: URL): Target => ({ origin: url.origin, path: url.pathname + url.search, url })

/** A path and query the URL parser keeps as they are: nothing to percent-encode, no dot segment. */
const VERBATIM_PATH = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@%/?]*$/
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i

/** The last origin found canonical: a client mostly talks to one. */
let lastOrigin = ""

/** Whether the URL parser gives `origin` back as it is (lower-case host, no default port, no user). */
const isCanonicalOrigin = (origin: string): boolean => {
  try {
    return new URL(origin).origin === origin
  } catch {
    return false
  }
}

/**
 * The target of a request whose URL the URL parser would leave exactly as it is (an http(s) URL
 * with a canonical origin, a verbatim path and query, no URL parameters or hash to add), without
 * parsing it; `undefined` for any other, which goes through `Url.make`.
 */
const verbatimTarget = (request: HttpClientRequest.HttpClientRequest): Target | undefined => {
  const href = request.url
  if (request.urlParams.params.length > 0 || Option.isSome(request.hash)) return undefined
  let origin = lastOrigin
  if (!(origin !== "" && href.startsWith(origin) && href.charCodeAt(origin.length) === 47)) {
    const start = href.startsWith("http://") ? 7 : href.startsWith("https://") ? 8 : -1
    const at = start < 0 ? -1 : href.indexOf("/", start)
    if (at < 0) return undefined
    origin = href.slice(0, at)
    if (!isCanonicalOrigin(origin)) return undefined
    lastOrigin = origin
  }
  const path = href.slice(origin.length)
  return VERBATIM_PATH.test(path) && !DOT_SEGMENT.test(path) ? { origin, path, url: href } : undefined
}

/** One request through `dispatcher.dispatch`, the whole response body collected before resuming. */
const dispatch = (
  dispatcher: Undici.Dispatcher,
  request: HttpClientRequest.HttpClientRequest,
  target: Target,
  signal: AbortSignal | undefined,
  headers: Headers.Headers,
  body: UndiciBody
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.callback<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    if (signal?.aborted) {
      return resume(Effect.fail(transportError(request, signal.reason, "The request was aborted")))
    }
    const exchange = new Exchange(request, target.url, signal, resume)
    try {
      dispatcher.dispatch(
        {
          method: request.method,
          origin: target.origin,
          path: target.path,
          headers,
          body,
          // Timeouts are Effect.timeout's job (the SDK sets one per attempt).
          headersTimeout: 0,
          bodyTimeout: 0
        },
        exchange
      )
    } catch (cause) {
      return exchange.fail(cause)
    }
    return Effect.sync(() => exchange.cancel())
  })

const convertBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<{ readonly body: UndiciBody; readonly headers: Headers.Headers }> | undefined => {
  const { body, headers } = request
  switch (body._tag) {
    case "Empty":
      return undefined
    case "Uint8Array":
    case "Raw":
      return Effect.succeed({ body: body.body as Uint8Array, headers })
    case "FormData":
      // The form's own boundary goes into content-type: undici's Request body handling sets it.
      return Effect.promise(() => import("@effect/platform-node/Undici")).pipe(
        Effect.map((undici) => {
          const form = new undici.FormData()
          for (const [key, value] of body.formData) form.append(key, value)
          return { body: form, headers: Headers.remove(headers, "content-type") }
        })
      )
    case "Stream":
      return Effect.map(NodeStream.toReadable(body.stream), (readable: Readable) => ({ body: readable, headers }))
  }
}

/**
 * Whether `dispatcher` can send a request: undici's `Dispatcher` has `dispatch`, while the
 * `undici` module Bun supplies in place of the package (its classes send through Bun's `fetch`)
 * does not.
 *
 * @since 0.1.0
 */
export const canDispatch = (dispatcher: unknown): boolean =>
  typeof (dispatcher as { readonly dispatch?: unknown } | null | undefined)?.dispatch === "function"

const noDispatchWarning =
  "effect-sockudo/node: this runtime's undici has no Dispatcher#dispatch (Bun replaces undici with its own " +
  "module), so requests go through the global fetch instead; use effect-sockudo/fetch on this runtime"

/** effect's `FetchHttpClient`, what the Node entry falls back to where undici cannot dispatch. */
const fetchFallback: Effect.Effect<HttpClient.HttpClient> = Effect.logWarning(noDispatchWarning).pipe(
  Effect.andThen(Effect.provide(Effect.service(HttpClient.HttpClient), FetchHttpClient.layer))
)

/**
 * An `HttpClient` that sends through the current undici `Dispatcher` and reads every response
 * body in full before handing the response over, so reading it (`text`, `json`) costs nothing
 * more.
 *
 * - With tracing on (effect's default), requests go through `HttpClient.make`: the client span,
 *   trace propagation headers, header redaction and abort on interruption are effect's own.
 * - With the client span off (`HttpClient.TracerDisabledWhen`, as the SDK sets it: each SDK
 *   operation has a span of its own), requests skip that wrapper: the URL is built the same way
 *   (`Url.make`, an `InvalidUrlError` when it cannot be; a URL the parser would leave as it is, such
 *   as every URL the SDK signs, is sent without parsing it), and an interrupted request is aborted
 *   on the wire. A `HttpClient.withScope` scope closed while such a request is in flight does
 *   not abort it; interrupting its fiber does.
 *
 * Made for JSON APIs such as Sockudo's: no streaming of response bodies (`stream` yields the
 * buffered bytes) and no connection upgrades. Undici's own timeouts are off; use
 * `Effect.timeout` (the SDK sets one per attempt).
 *
 * A dispatcher that cannot dispatch (no `dispatch` method: Bun's stand-in for undici) gives
 * effect's `FetchHttpClient` instead, with a warning in the log.
 *
 * @since 0.1.0
 */
export const makeUndici: Effect.Effect<HttpClient.HttpClient, never, NodeHttpClient.Dispatcher> = Effect.gen(
  function* () {
    const dispatcher = yield* NodeHttpClient.Dispatcher
    if (!canDispatch(dispatcher)) return yield* fetchFallback
    const run = (request: HttpClientRequest.HttpClientRequest, target: Target, signal: AbortSignal | undefined) => {
      if (request.headers.upgrade !== undefined) {
        return Effect.fail(
          transportError(request, undefined, "effect-sockudo's undici client does not upgrade connections")
        )
      }
      const converted = convertBody(request)
      return converted === undefined
        ? dispatch(dispatcher, request, target, signal, request.headers, null)
        : Effect.flatMap(converted, ({ body, headers }) => dispatch(dispatcher, request, target, signal, headers, body))
    }
    const traced = HttpClient.make((request, url, signal) => run(request, targetOfUrl(url), signal))
    const untraced = (request: HttpClientRequest.HttpClientRequest) => {
      const verbatim = verbatimTarget(request)
      if (verbatim !== undefined) return run(request, verbatim, undefined)
      const url = Url.make(request.url, request.urlParams, Option.getOrUndefined(request.hash))
      return Result.isFailure(url)
        ? Effect.fail(
            new HttpClientError.HttpClientError({
              reason: new HttpClientError.InvalidUrlError({ request, cause: url.failure })
            })
          )
        : run(request, targetOfUrl(url.success), undefined)
    }
    const send = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.withFiber((fiber) =>
        fiber.getRef(Tracer.DisablePropagation) || fiber.getRef(HttpClient.TracerDisabledWhen)(request)
          ? untraced(request)
          : traced.postprocess(Effect.succeed(request))
      )
    return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
      // `execute` hands over its request as a succeeded Exit: sent without a step in between.
      (effect) => Effect.flatMapEager(effect, send),
      Effect.succeed
    )
  }
)

/**
 * {@link makeUndici} over a `NodeHttpClient.Dispatcher` provided by the caller.
 *
 * @since 0.1.0
 */
export const layerUndiciNoDispatcher: Layer.Layer<HttpClient.HttpClient, never, NodeHttpClient.Dispatcher> =
  Layer.effect(HttpClient.HttpClient, makeUndici)

/**
 * {@link layerUndiciNoDispatcher} over `dispatcher`, or, where undici's `Agent` cannot dispatch
 * (Bun), effect's `FetchHttpClient` without building an `Agent` (Bun's has no `destroy` either).
 */
const overAgent = (dispatcher: Layer.Layer<NodeHttpClient.Dispatcher>): Layer.Layer<HttpClient.HttpClient> =>
  Layer.unwrap(
    Effect.sync(() =>
      canDispatch(Undici.Agent.prototype)
        ? Layer.provide(layerUndiciNoDispatcher, dispatcher)
        : Layer.effect(HttpClient.HttpClient, fetchFallback)
    )
  )

/**
 * {@link makeUndici} over its own undici `Agent`, closed with the layer. On Bun, whose `undici`
 * cannot dispatch, effect's `FetchHttpClient` (see {@link makeUndici}).
 *
 * @since 0.1.0
 */
export const layerUndici: Layer.Layer<HttpClient.HttpClient> = overAgent(NodeHttpClient.layerDispatcher)

/**
 * {@link makeUndici} over its own undici `Agent` built with `options` (connections, keep-alive,
 * TLS, unix sockets: see `NodeHttpClient.makeDispatcherOptions`).
 *
 * @since 0.1.0
 */
export const layerUndiciOptions = (options?: Undici.Agent.Options | undefined): Layer.Layer<HttpClient.HttpClient> =>
  overAgent(NodeHttpClient.layerDispatcherOptions(options))
