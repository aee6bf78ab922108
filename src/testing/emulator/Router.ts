/**
 * The emulator's HTTP front, on `effect/http`'s `HttpRouter`: every route mounted under
 * `/apps/:appId` (case-sensitive; one trailing slash stripped, as the server does, before routing
 * and signature checks; no duplicate-slash normalisation; path parameters percent-decoded), 404
 * `404 NOT FOUND` in plain text for unknown paths, an empty 405
 * for a known path with another method, and for each API request, in order: injected faults,
 * rate limiting, signature verification (section 2.1), the body extractor's rejections
 * (section 1.4), the route, and `Connection: close` on the answer.
 *
 * The resulting handler runs the same way on a real socket and in-process; a dropped
 * connection comes out as {@link dropped}, which each transport turns into its own failure.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import { HttpServerError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { type ApiRequest, type ApiResponse, apiError } from "./Api.ts"
import { type AppRuntime, type MountedRoute, type Outbox, routeKey } from "./App.ts"
import type { Faults } from "./Faults.ts"
import { type QueryPair, verifyRequest } from "./Verify.ts"

/**
 * The answer that stands for a connection dropped by an injected fault. Compared by identity.
 *
 * @since 0.1.0
 */
export const dropped: HttpServerResponse.HttpServerResponse = HttpServerResponse.empty({ status: 599 })

/**
 * One request the emulator received, as tests may want to count them.
 *
 * @since 0.1.0
 */
export interface RequestLogEntry {
  /** The HTTP method. */
  readonly method: string
  /** The raw path and query. */
  readonly url: string
  /** The matched route pattern below `/apps/:appId`, if any. */
  readonly route: string | undefined
  /** The answer's status; `undefined` when the connection was dropped. */
  readonly status: number | undefined
  /** Set when a fault dropped the connection before or after the request was processed. */
  readonly dropped?: "before" | "after" | undefined
}

/**
 * Rate limiting of API requests per client address, off unless given (the server's default:
 * 100 requests per 60 s).
 *
 * @since 0.1.0
 */
export interface RateLimit {
  readonly maxRequests: number
  readonly windowMs: number
}

/**
 * What the front needs.
 *
 * @since 0.1.0
 */
export interface Front {
  readonly apps: ReadonlyArray<AppRuntime>
  readonly faults: Faults
  readonly rateLimit: RateLimit | undefined
  /** `http_api.request_limit_in_mb` in bytes. */
  readonly requestLimitBytes: number
  readonly outbox: Outbox
  /** Runs what the outbox holds (webhooks, delayed presence removals). */
  readonly drain: Effect.Effect<void>
  readonly log: Array<RequestLogEntry>
}

/**
 * The request target as it would reach the server: path and query, percent-encoding untouched,
 * without a fragment (an in-process request may carry one; a real client never sends it).
 */
const RawTarget = Context.Reference<string | undefined>("effect-sockudo/testing/emulator/RawTarget", {
  defaultValue: () => undefined
})

const withoutFragment = (url: string): string => {
  const hash = url.indexOf("#")
  return hash === -1 ? url : url.slice(0, hash)
}

/**
 * The target with one trailing slash stripped from its path (not from `/`), as the server does
 * before routing and before checking the signature: `/apps/x/events/` is `/apps/x/events`, and
 * it is that path the request must be signed over.
 */
const withoutTrailingSlash = (target: string): string => {
  const q = target.indexOf("?")
  const path = q === -1 ? target : target.slice(0, q)
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) + (q === -1 ? "" : target.slice(q)) : target
}

/**
 * The target as the router should match it. `HttpRouter` (find-my-way) ends the path at a `;`,
 * as some servers do for `/foo;jsessionid=1`; the server's router does not, so `;` in the path
 * is handed to the router encoded (it decodes path parameters, so `channelName` keeps its `;`).
 */
const routable = (target: string): string => {
  const q = target.indexOf("?")
  const path = q === -1 ? target : target.slice(0, q)
  return path.includes(";") ? path.replaceAll(";", "%3B") + (q === -1 ? "" : target.slice(q)) : target
}

const RESERVED = new Set(["auth_key", "auth_timestamp", "auth_version", "auth_signature", "body_md5"])

const toHttp = (
  response: ApiResponse,
  extra: Readonly<Record<string, string>>
): HttpServerResponse.HttpServerResponse => {
  const headers = { ...response.headers, ...extra }
  if ("text" in response) {
    return HttpServerResponse.text(response.text, {
      status: response.status,
      contentType: "text/plain; charset=utf-8",
      headers
    })
  }
  if (response.json === undefined) return HttpServerResponse.empty({ status: response.status, headers })
  return HttpServerResponse.text(JSON.stringify(response.json), {
    status: response.status,
    contentType: "application/json",
    headers
  })
}

const notFound = HttpServerResponse.text("404 NOT FOUND", { status: 404, contentType: "text/plain; charset=utf-8" })
const methodNotAllowed = HttpServerResponse.empty({ status: 405, headers: { connection: "close" } })
const closeHeader = { connection: "close" } as const

const JSON_TYPE = /^application\/(?:json|[^\s/;]+\+json)\s*(?:;|$)/i

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The body as the route's extractor reads it, or the extractor's rejection. */
const readBody = (
  route: MountedRoute,
  bytes: Uint8Array,
  headers: Readonly<Record<string, string>>,
  limit: number
): { readonly body: unknown } | { readonly rejection: ApiResponse } => {
  if (route.method !== "POST" || route.body === "none") return { body: undefined }
  const push = route.path.startsWith("/push/")
  if (!JSON_TYPE.test(headers["content-type"] ?? "")) {
    return {
      rejection: push
        ? apiError(400, "invalid_input", "expected application/json content type")
        : { status: 415, text: "Expected request with `Content-Type: application/json`" }
    }
  }
  if (bytes.length > limit) {
    return { rejection: { status: 413, text: "Failed to buffer the request body: length limit exceeded" } }
  }
  try {
    return { body: JSON.parse(utf8.decode(bytes)) }
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e)
    return {
      rejection: push
        ? apiError(400, "invalid_input", `invalid JSON body: ${detail}`)
        : { status: 400, text: `Failed to parse the request body as JSON: ${detail}` }
    }
  }
}

interface Window {
  count: number
  resetAtMs: number
}

/**
 * Builds the HTTP handler of the emulator.
 *
 * @since 0.1.0
 */
export const make = (
  front: Front
): Effect.Effect<
  Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | Scope.Scope>
> =>
  Effect.gen(function* () {
    const router = yield* HttpRouter.make.pipe(
      Effect.provideService(HttpRouter.RouterConfig, {
        ignoreTrailingSlash: false,
        ignoreDuplicateSlashes: false,
        caseSensitive: true,
        maxParamLength: 1_000_000
      })
    )
    const appsByKey = new Map(front.apps.map((app) => [app.credentials.key, app]))
    const windows = new Map<string, Window>()

    const rateLimit = (
      address: string,
      nowMs: number
    ): { readonly headers: Record<string, string>; readonly limited: boolean } => {
      const limit = front.rateLimit
      if (limit === undefined) return { headers: {}, limited: false }
      let window = windows.get(address)
      if (window === undefined || window.resetAtMs <= nowMs) {
        window = { count: 0, resetAtMs: nowMs + limit.windowMs }
        windows.set(address, window)
      }
      window.count++
      const reset = String(Math.max(0, Math.ceil((window.resetAtMs - nowMs) / 1000)))
      const limited = window.count > limit.maxRequests
      const headers: Record<string, string> = {
        "x-ratelimit-limit": String(limit.maxRequests),
        "x-ratelimit-remaining": String(Math.max(0, limit.maxRequests - window.count)),
        "x-ratelimit-reset": reset
      }
      if (limited) headers["retry-after"] = reset
      return { headers, limited }
    }

    const handler = (route: MountedRoute) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const url = (yield* RawTarget) ?? withoutFragment(request.url)
        const routeContext = yield* HttpRouter.RouteContext
        const log = (status: number | undefined, drop?: "before" | "after") =>
          front.log.push({ method: request.method, url, route: route.path, status, dropped: drop })
        const segments = url.split("?")[0]!.split("/")
        const plan = yield* front.faults.plan({ method: route.method, route: route.path, appId: segments[2] })
        if (!Duration.isZero(plan.latency)) yield* Effect.sleep(plan.latency)
        if (plan.fault?._tag === "DropBefore") {
          log(undefined, "before")
          return dropped
        }
        if (plan.fault?._tag === "Status") {
          log(plan.fault.response.status)
          return toHttp(plan.fault.response, closeHeader)
        }
        const nowMs = yield* Clock.currentTimeMillis
        const limited = rateLimit(
          Option.getOrElse(request.remoteAddress, () => "127.0.0.1"),
          nowMs
        )
        const extra = { ...limited.headers, ...closeHeader }
        const answer = (response: ApiResponse) => {
          log(response.status)
          return toHttp(response, extra)
        }
        if (limited.limited) {
          return answer({
            status: 429,
            json: { error: "Too Many Requests", message: "Rate limit exceeded. Please try again later." }
          })
        }
        const bytes = yield* Effect.map(request.arrayBuffer, (buffer) => new Uint8Array(buffer)).pipe(
          Effect.orElseSucceed(() => undefined)
        )
        if (bytes === undefined) return answer(apiError(500, "internal_error", "Internal server error"))
        const verification = verifyRequest(
          { method: request.method, url, body: bytes, nowSeconds: Math.floor(nowMs / 1000) },
          (key) => appsByKey.get(key)?.credentials
        )
        if (verification._tag === "Rejected") return answer(verification.response)
        const app = front.apps.find((a) => a.credentials === verification.app)!
        const own = app.routes.get(routeKey(route))
        if (own === undefined) {
          log(404)
          return notFound
        }
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v
        const body = readBody(own, bytes, headers, front.requestLimitBytes)
        if ("rejection" in body) return answer(body.rejection)
        const pairs: Array<QueryPair> = verification.pairs.filter(([k]) => !RESERVED.has(k))
        const params: Record<string, string> = {}
        for (const [k, v] of Object.entries(routeContext.params)) if (v !== undefined && k !== "appId") params[k] = v
        const apiRequest: ApiRequest = {
          method: route.method,
          params,
          query: Object.fromEntries(pairs),
          queryPairs: pairs,
          headers,
          body: body.body,
          nowMs
        }
        front.outbox.nowMs = nowMs
        const response = yield* own.handle(apiRequest, app)
        yield* front.drain
        if (plan.fault?._tag === "DropAfter") {
          log(response.status, "after")
          return dropped
        }
        return answer(response)
      })

    const byPath = new Map<string, { readonly route: MountedRoute; readonly methods: Set<string> }>()
    const seen = new Set<string>()
    for (const app of front.apps) {
      for (const route of app.routes.values()) {
        const key = routeKey(route)
        if (seen.has(key)) continue
        seen.add(key)
        yield* router.add(route.method, `/apps/:appId${route.path}` as HttpRouter.PathInput, handler(route))
        const entry = byPath.get(route.path) ?? { route, methods: new Set<string>() }
        entry.methods.add(route.method)
        byPath.set(route.path, entry)
      }
    }
    for (const [path, { methods }] of byPath) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
        if (!methods.has(method))
          yield* router.add(method, `/apps/:appId${path}` as HttpRouter.PathInput, methodNotAllowed)
      }
    }

    const routed = router.asHttpEffect()
    return HttpServerRequest.HttpServerRequest.use((request) => {
      const target = withoutTrailingSlash(withoutFragment(request.url))
      const matchable = routable(target)
      return routed.pipe(
        Effect.provideService(RawTarget, target),
        Effect.provideService(
          HttpServerRequest.HttpServerRequest,
          matchable === request.url ? request : request.modify({ url: matchable })
        )
      )
    }).pipe(
      Effect.catchCause((cause) => {
        const error = cause.reasons.find((r) => r._tag === "Fail")
        const routeMissing =
          error !== undefined &&
          error._tag === "Fail" &&
          error.error instanceof HttpServerError &&
          error.error.reason._tag === "RouteNotFound"
        return Effect.succeed(
          routeMissing ? notFound : toHttp(apiError(500, "internal_error", "Internal server error"), closeHeader)
        )
      })
    )
  })
