/**
 * A coalescing publisher: concurrent `publish` calls share `batch_events` requests, and each
 * caller still gets its own receipt or typed error, exactly as from `trigger`.
 *
 * Sockudo answers every API request with `Connection: close`, so each request pays a new TCP
 * connection; a busy backend publishing one request per event spends most of its time there.
 * The publisher queues events and sends what has queued at once when no request is open;
 * while requests are open, it sends when a batch is full (`maxEvents`, `maxBytes`) or the oldest
 * event has waited `maxWait`, with at most `maxInFlight` requests open. When the queue holds
 * `maxQueued` events, `publish` waits for room: nothing is dropped. A caller that awaits each
 * publish sees its events delivered in its order.
 *
 * Every event carries its own idempotency key (the caller's, or a generated one when
 * `autoIdempotency` is on), the same on every retry of its batch. The server processes a batch
 * in order and stops at the first item it refuses, leaving the items before it published: the
 * publisher then sends each event of that batch again, alone and under its own key, so the
 * published ones are answered from the server's record, the refused one fails for its caller
 * only, and the ones after it are published, none twice.
 *
 * A publish to several channels that asks for receipts (`info`, `messageId`), or that includes a
 * `private-encrypted-` channel, cannot share a batch item: it is sent at once with `trigger`.
 *
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { Publisher } from "effect-sockudo"
 * import * as SockudoNode from "effect-sockudo/node"
 *
 * const Live = Publisher.layer({ maxWait: "5 millis" }).pipe(
 *   Layer.provide(SockudoNode.layer({ appId: "app-id", key: "app-key", secret: Redacted.make("app-secret") }))
 * )
 * const program = Effect.gen(function* () {
 *   const publisher = yield* Publisher.Publisher
 *   yield* Effect.forEach(
 *     Array.from({ length: 1000 }, (_, n) => n),
 *     (n) => publisher.publish("orders", "order.created", { n }),
 *     { concurrency: "unbounded" }
 *   )
 * })
 * ```
 *
 * Closing the layer's scope publishes what is queued and waits for what is in flight; a
 * `publish` after that fails with `SockudoPublisherClosedError`.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type * as Tracer from "effect/Tracer"
import {
  SockudoConfigError,
  type SockudoEncryptionError,
  SockudoPublisherClosedError,
  type SockudoRequestError,
  type SockudoValidationError
} from "./Errors.ts"
import { CurrentScope, preparingWith } from "./Idempotency.ts"
import {
  type ChannelReceipt,
  type PreparedPublish,
  type PublishArgs,
  type PublishError,
  publishArgs,
  publishKit,
  type TriggerResult
} from "./Resources/Events.ts"
import { Sockudo, type Service as SockudoService } from "./Sockudo.ts"
import {
  clientSpan,
  messagingSystem,
  operation,
  publisherBatchSize,
  publisherQueueDepth,
  recordingSpan
} from "./Telemetry.ts"
import * as Validation from "./Validation.ts"

/**
 * Settings of a publisher.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The most events in one request. Default 100 (and never more than `limits.maxBatchSize`). */
  readonly maxEvents?: number | undefined
  /** The most body bytes in one request. Default 1 MiB (and never more than `limits.maxRequestBytes`). */
  readonly maxBytes?: number | undefined
  /**
   * The longest an event waits for others to share its request, while other requests are open
   * (an idle publisher sends at once). Default 5 ms; 0 sends what has queued.
   */
  readonly maxWait?: Duration.Input | undefined
  /** The most requests open at once. Default 8. */
  readonly maxInFlight?: number | undefined
  /** The most events waiting to be sent; `publish` then waits for room. Default 10,000. */
  readonly maxQueued?: number | undefined
}

/**
 * Errors of `publish`.
 *
 * @since 0.2.0
 */
export type PublisherError = PublishError | SockudoPublisherClosedError

/**
 * The publisher.
 *
 * @since 0.2.0
 */
export interface Service {
  /**
   * Publishes one event to one channel or several, in a request shared with other events.
   * Takes the options of `trigger` and answers what `trigger` answers: its own receipt (with
   * this event's idempotency key) or typed error. A receipt for an event the server had
   * already published under its key has no per-channel entries. Takes a typed event
   * (`publish(channels, OrderCreated.make(order), options)`) as `trigger` does.
   */
  readonly publish: (
    channels: string | ReadonlyArray<string>,
    ...args: PublishArgs
  ) => Effect.Effect<TriggerResult, PublisherError>
  /** Events waiting to be sent. */
  readonly queued: Effect.Effect<number>
}

/**
 * @since 0.2.0
 */
export class Publisher extends Context.Service<Publisher, Service>()("effect-sockudo/Publisher") {}

interface Pending {
  readonly item: PreparedPublish
  readonly done: Deferred.Deferred<TriggerResult, PublisherError>
  readonly enqueuedAt: number
  readonly span: Tracer.Span | undefined
}

const defaults = { maxEvents: 100, maxBytes: 1024 * 1024, maxInFlight: 8, maxQueued: 10_000 }

const settingsOf = (options: Options | undefined) => {
  const given = options ?? {}
  if (typeof given !== "object" || given === null) {
    return Result.fail(new SockudoConfigError({ field: "publisher", message: "publisher options must be an object" }))
  }
  const settings = { ...defaults }
  for (const name of ["maxEvents", "maxBytes", "maxInFlight", "maxQueued"] as const) {
    const value = given[name]
    if (value === undefined) continue
    if (!Validation.isPositiveInt(value)) {
      return Result.fail(
        new SockudoConfigError({ field: `publisher.${name}`, message: `publisher.${name} must be a positive integer` })
      )
    }
    settings[name] = value
  }
  const wait = Duration.fromInput(given.maxWait ?? "5 millis")
  if (Option.isNone(wait) || !Duration.isFinite(wait.value) || Duration.toMillis(wait.value) < 0) {
    return Result.fail(
      new SockudoConfigError({
        field: "publisher.maxWait",
        message: "publisher.maxWait must be a finite, non-negative duration"
      })
    )
  }
  return Result.succeed({ ...settings, maxWaitMillis: Duration.toMillis(wait.value) })
}

/**
 * A publish is a message created here and sent later in a batch (whose span links to it):
 * OpenTelemetry's `create` operation, of kind `producer`.
 */
const publishSpan: Tracer.SpanOptions = {
  kind: "producer",
  captureStackTrace: false,
  attributes: {
    "messaging.system": messagingSystem,
    "messaging.operation.name": "publish",
    "messaging.operation.type": "create"
  }
}

const isBackpressure = (error: SockudoRequestError) =>
  error._tag === "SockudoServerError" && error.status === 503 && error.code === "backpressure"

/** Errors about the app or the credentials, not about one event: every event of the batch has them. */
const isAppWide = (error: SockudoRequestError) =>
  error._tag === "SockudoAuthenticationError" ||
  (error._tag === "SockudoNotFoundError" && error.code === "app_not_found")

const receiptOf = (item: PreparedPublish, entry: ChannelReceipt | undefined): TriggerResult => ({
  idempotencyKey: item.idempotencyKey,
  channels: entry === undefined || Object.keys(entry).length === 0 ? {} : { [item.channel]: entry }
})

/**
 * Builds a publisher over a `Sockudo` service; it runs until the scope closes, which publishes
 * what is queued and waits for what is in flight.
 *
 * @since 0.2.0
 */
export const make = (
  sockudo: SockudoService,
  options?: Options
): Effect.Effect<Service, SockudoConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = settingsOf(options)
    if (Result.isFailure(settings)) return yield* settings.failure
    const kit = sockudo[publishKit]
    const maxEvents = Math.min(settings.success.maxEvents, kit.limits.maxBatchSize ?? Number.POSITIVE_INFINITY)
    const maxBytes = Math.min(settings.success.maxBytes, kit.limits.maxRequestBytes)
    const { maxInFlight, maxQueued, maxWaitMillis } = settings.success
    const queue = yield* Queue.bounded<Pending, Cause.Done>(maxQueued)
    const permits = yield* Semaphore.make(maxInFlight)
    const inFlight = yield* FiberSet.make<void>()
    let closed = false
    /** Batch requests open. */
    let sending = 0

    const succeed = (pending: Pending, result: TriggerResult) => Deferred.doneUnsafe(pending.done, Exit.succeed(result))
    const fail = (pending: Pending, error: PublisherError) => Deferred.doneUnsafe(pending.done, Exit.fail(error))

    /**
     * After a batch failed with `error`: each event again, alone, in order, under its own key.
     * A key the batch published answers `1` (published, no receipt); the key of the event the
     * server refused is still claimed, and answers 503 `backpressure`: that event gets `error`.
     * Events without a key cannot be told apart: they all get `error`.
     */
    const settle = Effect.fnUntraced(function* (batch: ReadonlyArray<Pending>, error: SockudoRequestError) {
      for (const pending of batch) {
        if (pending.item.idempotencyKey === undefined) {
          fail(pending, error)
          continue
        }
        const sent = yield* Effect.exit(kit.sendOne("publish", pending.item))
        if (Exit.isSuccess(sent)) {
          succeed(pending, { idempotencyKey: pending.item.idempotencyKey, channels: sent.value.channels })
          continue
        }
        const reason = Cause.findErrorOption(sent.cause)
        if (Option.isNone(reason)) return yield* Effect.failCause(sent.cause)
        fail(pending, isBackpressure(reason.value) ? error : reason.value)
      }
    })

    const send = (batch: ReadonlyArray<Pending>) => {
      const links: Array<Tracer.SpanLink> = []
      for (const pending of batch) if (pending.span !== undefined) links.push({ span: pending.span, attributes: {} })
      const items = batch.map((pending) => pending.item.json)
      return Effect.gen(function* () {
        yield* Metric.update(publisherBatchSize, batch.length)
        yield* Metric.update(publisherQueueDepth, Queue.sizeUnsafe(queue) + carry.length)
        const span = yield* Effect.currentSpan
        for (const pending of batch) pending.span?.addLinks([{ span, attributes: {} }])
        const answer = yield* Effect.exit(kit.sendBatch("publish", items, kit.batchKey()))
        if (Exit.isSuccess(answer)) {
          const entries = answer.value
          for (let i = 0; i < batch.length; i++) succeed(batch[i]!, receiptOf(batch[i]!.item, entries?.[i]))
          return
        }
        const reason = Cause.findErrorOption(answer.cause)
        if (Option.isNone(reason)) return yield* Effect.failCause(answer.cause)
        const error = reason.value
        if (batch.length === 1 || isAppWide(error)) {
          for (const pending of batch) fail(pending, error)
          return
        }
        yield* Effect.logDebug("publisher: a batch failed; sending its events one by one").pipe(
          Effect.annotateLogs({ events: batch.length, error: error._tag })
        )
        yield* settle(batch, error)
      }).pipe(
        Effect.withSpan("Publisher.batch", { ...clientSpan, links }),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            // A defect or an interruption: every event still waiting gets it.
            if (Exit.isFailure(exit)) {
              const ended = Cause.hasInterruptsOnly(exit.cause) ? Exit.interrupt() : Exit.die(Cause.squash(exit.cause))
              for (const pending of batch) Deferred.doneUnsafe(pending.done, ended)
            }
          })
        ),
        Effect.ensuring(permits.release(1))
      )
    }

    /** The events taken but not yet sent, oldest first. */
    let carry: Array<Pending> = []
    let carryBytes = 0
    const full = () => carry.length >= maxEvents || carryBytes >= maxBytes
    const take = (items: ReadonlyArray<Pending>) => {
      for (const pending of items) {
        carry.push(pending)
        carryBytes += pending.item.bytes + 1
      }
    }
    /** The next batch: the oldest events, as many as fit `maxEvents` and `maxBytes` (at least one). */
    const cut = (): ReadonlyArray<Pending> => {
      let n = 0
      let bytes = 12
      while (n < carry.length && n < maxEvents) {
        const next = carry[n]!.item.bytes + (n === 0 ? 0 : 1)
        if (n > 0 && bytes + next > maxBytes) break
        bytes += next
        n++
      }
      const batch = carry.slice(0, n)
      carry = carry.slice(n)
      carryBytes = 0
      for (const pending of carry) carryBytes += pending.item.bytes + 1
      return batch
    }

    /** Fills `carry` until a batch is full or its oldest event has waited `maxWait`; false once the queue is done. */
    const fill = Effect.gen(function* () {
      if (carry.length === 0) {
        const first = yield* Effect.exit(Queue.takeBetween(queue, 1, maxEvents))
        if (Exit.isFailure(first)) return false
        take(first.value)
      }
      // An idle publisher sends at once: events wait for others only while requests are open.
      while (!full() && sending > 0) {
        const waited = (yield* Clock.currentTimeMillis) - carry[0]!.enqueuedAt
        const left = maxWaitMillis - waited
        if (left <= 0) break
        const more = yield* Effect.exit(
          Effect.timeoutOption(Queue.takeBetween(queue, 1, maxEvents - carry.length), Duration.millis(left))
        )
        if (Exit.isFailure(more)) return carry.length > 0
        if (Option.isNone(more.value)) break
        take(more.value.value)
      }
      return true
    })

    const loop: Effect.Effect<void> = Effect.gen(function* () {
      while (true) {
        yield* permits.take(1)
        const more = yield* fill
        if (carry.length === 0) {
          yield* permits.release(1)
          if (!more) return
          continue
        }
        sending++
        yield* FiberSet.run(
          inFlight,
          Effect.ensuring(
            send(cut()),
            Effect.sync(() => sending--)
          )
        )
        if (!more && carry.length === 0) return
      }
    })

    const collector = yield* Effect.forkDetach(loop)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        yield* Queue.end(queue)
        yield* Fiber.await(collector)
        yield* FiberSet.awaitEmpty(inFlight)
      })
    )

    const closedError = () =>
      new SockudoPublisherClosedError({ operation: "publish", message: "the publisher's scope is closed" })

    const enqueue = Effect.fnUntraced(function* (item: PreparedPublish) {
      const span = Option.getOrUndefined(yield* Effect.option(Effect.currentSpan))
      const done = Deferred.makeUnsafe<TriggerResult, PublisherError>()
      const enqueuedAt = yield* Clock.currentTimeMillis
      const offered = yield* Queue.offer(queue, { item, done, enqueuedAt, span })
      if (!offered) return yield* closedError()
      return yield* Deferred.await(done)
    })

    // Like `trigger`: the event is prepared (and its key chosen) on the first run of the returned
    // Effect, and every re-run sends the same event under the same key; inside
    // `Sockudo.idempotent`, the key is the scope's for this publish's position.
    const publish: Service["publish"] = (channels, nameOrEvent, dataOrOptions?, maybeOptions?) => {
      let alone: Effect.Effect<TriggerResult, PublisherError> | undefined
      let prepared: PreparedPublish | undefined
      let preparedFor: string | undefined
      const identity = {}
      return operation("Publisher.publish", publishSpan, (fiber): Effect.Effect<TriggerResult, PublisherError> => {
        const args = publishArgs("publish", nameOrEvent, dataOrOptions, maybeOptions)
        const span = recordingSpan(fiber)
        if (span !== undefined) {
          if (typeof channels === "string") span.attribute("messaging.destination.name", channels)
          else if (Array.isArray(channels)) span.attribute("sockudo.channel_count", channels.length)
          if (Result.isSuccess(args) && typeof args.success.name === "string") {
            span.attribute("sockudo.event.name", args.success.name)
          }
        }
        if (closed) return Effect.fail(closedError())
        if (Result.isFailure(args)) return Effect.fail(args.failure)
        const { name, data, options } = args.success
        const list: ReadonlyArray<string> = typeof channels === "string" ? [channels] : channels
        if (!Array.isArray(list) || list.length === 0) {
          return Effect.fail(Validation.validationError("publish", "channels", "must name at least one channel"))
        }
        const separate =
          list.length > 1 &&
          (list.length > kit.limits.maxChannelsPerTrigger ||
            options?.info !== undefined ||
            options?.messageId !== undefined ||
            list.some((channel) => typeof channel === "string" && Validation.isEncryptedChannel(channel)))
        if (separate) {
          alone ??= sockudo.trigger(list, name, data, options)
          return alone
        }
        const key = fiber.getRef(CurrentScope)?.keyOf(identity)
        if (prepared === undefined || preparedFor !== key) {
          const make = () => kit.prepare("publish", list, name, data, options)
          const result: Result.Result<PreparedPublish, SockudoValidationError | SockudoEncryptionError> =
            key === undefined ? make() : preparingWith(key, make)
          if (Result.isFailure(result)) return Effect.fail(result.failure)
          prepared = result.success
          preparedFor = key
        }
        return enqueue(prepared)
      })
    }

    return Publisher.of({ publish, queued: Effect.sync(() => Queue.sizeUnsafe(queue) + carry.length) })
  })

/**
 * The publisher as a layer over the `Sockudo` service; closing the layer's scope publishes what
 * is queued and waits for what is in flight.
 *
 * @since 0.2.0
 */
export const layer = (options?: Options): Layer.Layer<Publisher, SockudoConfigError, Sockudo> =>
  Layer.effect(
    Publisher,
    Effect.gen(function* () {
      return yield* make(yield* Sockudo, options)
    })
  )
