/**
 * Webhooks as the server sends them (server reference, section 9): `POST` with
 * `Content-Type: application/json`, `X-Pusher-Key` and `X-Pusher-Signature` (HMAC-SHA256 of the
 * raw body with the app secret), body `{"time_ms":...,"events":[...]}`; each target gets the
 * events its `eventTypes` and `filter` accept, re-serialised and re-signed; optional batching
 * (events of one app within a window merged, up to `size` per POST, `time_ms` the earliest); and
 * the server's retry policy (network errors, timeouts, 5xx, 408, 409, 425, 429; backoff from
 * 1 s doubling to 60 s, 300 s in all). Every body sent is recorded, so tests can read it even
 * without a receiving server. Time is Effect's `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Queue from "effect/Queue"
import { hmacSha256Hex } from "./Verify.ts"

/**
 * A webhook as the receiver gets it.
 *
 * @since 0.1.0
 */
export interface WebhookRequest {
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The raw body. */
  readonly body: string
}

/**
 * Where an app's webhooks go. With neither `url` nor `handler`, bodies are only recorded.
 *
 * @since 0.1.0
 */
export interface WebhookTarget {
  /** POSTed to with the platform's fetch. */
  readonly url?: string | undefined
  /** Called in-process instead of an HTTP POST; returns the HTTP status to answer. */
  readonly handler?: ((request: WebhookRequest) => Effect.Effect<number> | number) | undefined
  /** Event names this target receives (default: every event). */
  readonly eventTypes?: ReadonlyArray<string> | undefined
  /** Only events of matching channels (every condition given must hold). */
  readonly filter?:
    | {
        /** The channel name starts with this. */
        readonly channelPrefix?: string | undefined
        /** The channel name ends with this. */
        readonly channelSuffix?: string | undefined
        /** The channel name matches this. */
        readonly channelPattern?: RegExp | undefined
      }
    | undefined
  /** Extra headers sent with every webhook. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Batching of webhook events, off unless given (the server's default is 50 ms, 100 events).
 *
 * @since 0.1.0
 */
export interface Batching {
  /** How long events wait for others to share their body. */
  readonly duration: Duration.Input
  /** The most events one body carries. */
  readonly size: number
}

/**
 * One webhook body sent (after its last attempt).
 *
 * @since 0.1.0
 */
export interface WebhookDelivery extends WebhookRequest {
  /** The app that sent it. */
  readonly appId: string
  /** The target's URL (`undefined` for in-process and recording targets). */
  readonly url: string | undefined
  /** The receiver's last status; `undefined` when the last attempt failed without one. */
  readonly status: number | undefined
  /** How many times it was sent. */
  readonly attempts: number
}

/**
 * An app as the sender needs it.
 *
 * @since 0.1.0
 */
export interface WebhookApp {
  readonly id: string
  readonly key: string
  readonly secret: string
  readonly targets: ReadonlyArray<WebhookTarget>
}

/**
 * Options of the sender.
 *
 * @since 0.1.0
 */
export interface SenderOptions {
  readonly batching?: Batching | undefined
  /** Retry failed deliveries as the server does. Default true. */
  readonly retry?: boolean | undefined
  /** Per-attempt timeout. Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The webhook sender.
 *
 * @since 0.1.0
 */
export interface Sender {
  /** Queues one event (section 9.3 shape, without `time_ms`) observed at `atMs`. */
  readonly enqueue: (app: WebhookApp, event: Readonly<Record<string, unknown>>, atMs: number) => Effect.Effect<void>
  /** Every body sent so far. */
  readonly deliveries: ReadonlyArray<WebhookDelivery>
  /** Waits for the next body to be sent (bodies already sent are taken first, in order). */
  readonly next: Effect.Effect<WebhookDelivery>
}

const accepts = (target: WebhookTarget, event: Readonly<Record<string, unknown>>): boolean => {
  if (target.eventTypes !== undefined && !target.eventTypes.includes(String(event.name))) return false
  const filter = target.filter
  if (filter === undefined) return true
  const channel = typeof event.channel === "string" ? event.channel : ""
  if (filter.channelPrefix !== undefined && !channel.startsWith(filter.channelPrefix)) return false
  if (filter.channelSuffix !== undefined && !channel.endsWith(filter.channelSuffix)) return false
  if (filter.channelPattern !== undefined && !filter.channelPattern.test(channel)) return false
  return true
}

const retryableStatus = (status: number) =>
  status >= 500 || status === 408 || status === 409 || status === 425 || status === 429

const firstDelayMs = 1_000
const maxDelayMs = 60_000
const budgetMs = 300_000

interface Buffered {
  readonly event: Readonly<Record<string, unknown>>
  readonly atMs: number
}

/**
 * Builds a sender whose deliveries run in `fibers` (interrupted when its scope closes).
 *
 * @since 0.1.0
 */
export const makeSender = (
  options: SenderOptions,
  client: HttpClient.HttpClient,
  fibers: FiberSet.FiberSet<unknown, unknown>
): Effect.Effect<Sender> =>
  Effect.gen(function* () {
    const deliveries: Array<WebhookDelivery> = []
    const sent = yield* Queue.unbounded<WebhookDelivery>()
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "10 seconds")
    const retry = options.retry ?? true
    const batching = options.batching
    const buffers = new Map<string, Array<Buffered>>()

    const attempt = (target: WebhookTarget, request: WebhookRequest): Effect.Effect<number | undefined> => {
      if (target.handler !== undefined) {
        const handler = target.handler
        return Effect.suspend(() => {
          const status = handler(request)
          return typeof status === "number" ? Effect.succeed(status) : status
        })
      }
      if (target.url === undefined) return Effect.succeed(200)
      const httpRequest = HttpClientRequest.post(target.url, {
        headers: request.headers,
        body: HttpBody.text(request.body, "application/json")
      })
      return client.execute(httpRequest).pipe(
        Effect.map((response) => response.status),
        Effect.timeout(timeout),
        Effect.orElseSucceed(() => undefined)
      )
    }

    const deliver = (app: WebhookApp, target: WebhookTarget, request: WebhookRequest) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        let attempts = 0
        let delay = firstDelayMs
        let status: number | undefined
        while (true) {
          attempts++
          status = yield* attempt(target, request)
          const failed = status === undefined || retryableStatus(status)
          if (!failed || !retry) break
          const now = yield* Clock.currentTimeMillis
          if (now - start + delay > budgetMs) break
          yield* Effect.sleep(delay)
          delay = Math.min(delay * 2, maxDelayMs)
        }
        const delivery: WebhookDelivery = { appId: app.id, url: target.url, ...request, status, attempts }
        deliveries.push(delivery)
        yield* Queue.offer(sent, delivery)
      })

    const send = (app: WebhookApp, batch: ReadonlyArray<Buffered>): Effect.Effect<void> =>
      Effect.forEach(
        app.targets,
        (target) => {
          const events = batch.filter((b) => accepts(target, b.event))
          if (events.length === 0) return Effect.void
          const timeMs = Math.min(...events.map((e) => e.atMs))
          const body = JSON.stringify({ time_ms: timeMs, events: events.map((e) => e.event) })
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(target.headers ?? {})) headers[k.toLowerCase()] = v
          headers["content-type"] = "application/json"
          headers["x-pusher-key"] = app.key
          headers["x-pusher-signature"] = hmacSha256Hex(app.secret, body)
          return FiberSet.run(fibers, deliver(app, target, { headers, body }))
        },
        { discard: true }
      )

    const flush = (app: WebhookApp): Effect.Effect<void> =>
      Effect.suspend(() => {
        const batch = buffers.get(app.id)
        buffers.delete(app.id)
        return batch === undefined || batch.length === 0 ? Effect.void : send(app, batch)
      })

    const enqueue = (app: WebhookApp, event: Readonly<Record<string, unknown>>, atMs: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (app.targets.length === 0) return Effect.void
        if (batching === undefined) return send(app, [{ event, atMs }])
        let buffer = buffers.get(app.id)
        const first = buffer === undefined
        if (buffer === undefined) {
          buffer = []
          buffers.set(app.id, buffer)
        }
        buffer.push({ event, atMs })
        if (buffer.length >= batching.size) return flush(app)
        if (!first) return Effect.void
        // the window's timer flushes whatever the buffer holds then (unless size flushed it first)
        const window = buffer
        return FiberSet.run(
          fibers,
          Effect.andThen(
            Effect.sleep(batching.duration),
            Effect.suspend(() => (buffers.get(app.id) === window ? flush(app) : Effect.void))
          )
        ).pipe(Effect.asVoid)
      })

    return { enqueue, deliveries, next: Queue.take(sent) }
  })

/**
 * The HttpClient webhooks are POSTed with when no other is given: the platform's fetch.
 *
 * @since 0.1.0
 */
export const defaultClient: Effect.Effect<HttpClient.HttpClient> = Effect.provide(
  Effect.gen(function* () {
    return yield* HttpClient.HttpClient
  }),
  FetchHttpClient.layer
)
