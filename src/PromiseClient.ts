/**
 * The whole SDK as Promises, for code that does not use Effect.
 *
 * Every operation of the `Sockudo` service keeps its name and arguments; an operation that
 * returns an `Effect` returns a `Promise` instead, one that returns a `Stream` returns an
 * `AsyncIterable`. A failed operation rejects with the same typed error the Effect fails with
 * (a member of `SockudoError.SockudoError`, so `error._tag` and `error.isRetryable` work).
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { PromiseClient } from "effect-sockudo"
 * import * as SockudoNode from "effect-sockudo/node"
 *
 * const sockudo = await PromiseClient.make(
 *   SockudoNode.layer({ appId: "app-id", key: "app-key", secret: Redacted.make("app-secret") })
 * )
 * await sockudo.trigger("orders", "order.created", { id: "ord_1" })
 * await sockudo.close()
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { SockudoClientClosedError } from "./Errors.ts"
import * as Idempotency from "./Idempotency.ts"
import * as Publisher from "./Publisher.ts"
import * as Sockudo from "./Sockudo.ts"
import { validationError } from "./Validation.ts"

/**
 * `S` with every Effect-returning function turned into a Promise-returning one and every
 * Stream-returning function into an AsyncIterable-returning one, in nested groups too.
 *
 * @since 0.1.0
 */
export type Promised<S> = {
  readonly [K in keyof S as K extends symbol ? never : K]: S[K] extends (...args: infer Args) => infer R
    ? (...args: Args) => PromisedResult<R>
    : S[K] extends Effect.Effect<infer A, infer _E, infer _R>
      ? () => Promise<A>
      : S[K] extends object
        ? Promised<S[K]>
        : S[K]
}

/**
 * What a promised function returns for an original result `R`.
 *
 * @since 0.1.0
 */
export type PromisedResult<R> =
  R extends Effect.Effect<infer A, infer _E, infer _R>
    ? Promise<A>
    : R extends Stream.Stream<infer A, infer _E, infer _R>
      ? AsyncIterable<A>
      : R

/**
 * The SDK as Promises; `close()` (or `await using`) releases its connection pool.
 *
 * @since 0.1.0
 */
export type PromiseClient = Promised<Sockudo.Service> & {
  /**
   * A coalescing publisher (see `Publisher`): `await sockudo.publisher.publish(channel, name, data)`
   * answers like `trigger`, with concurrent calls sharing requests.
   */
  readonly publisher: Promised<Publisher.Service>
  /**
   * Runs `body` as one retry-safe unit, as `Sockudo.idempotent` does for a program: every publish
   * and mutation made through the client it is given gets `<key>:<position>`, in the order the
   * calls are made. Call it again with the same key to retry the whole unit; the server answers
   * what it already handled from its cache. `key` is 1 to 40 printable ASCII characters.
   *
   * ```ts
   * import { PromiseClient, SockudoError } from "effect-sockudo"
   *
   * declare const sockudo: PromiseClient.PromiseClient
   * declare const order: { readonly id: string; readonly userId: string }
   *
   * for (let attempt = 1; ; attempt++) {
   *   try {
   *     await sockudo.idempotent(`checkout-${order.id}`, async (s) => {
   *       await s.trigger("orders", "order.paid", order)
   *       await s.sendToUser(order.userId, "receipt", order)
   *     })
   *     break
   *   } catch (error) {
   *     if (attempt === 3 || !SockudoError.isSockudoError(error) || !error.isRetryable) throw error
   *   }
   * }
   * ```
   */
  readonly idempotent: <T>(key: string, body: (client: Promised<Sockudo.Service>) => Promise<T>) => Promise<T>
  /**
   * Publishes what the publisher holds, then closes the connection pool and everything else the
   * layer opened. Calls made afterwards reject with a `SockudoClientClosedError`.
   */
  readonly close: () => Promise<void>
  /** The same as `close`, for `await using`. */
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * Settings of {@link make}.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Settings of the client's `publisher`. */
  readonly publisher?: Publisher.Options | undefined
}

// The service's operations need nothing from the context (their requirements are `never`).
const promiseAll = <S>(
  service: S,
  run: (effect: Effect.Effect<unknown, unknown, unknown>) => Promise<unknown>,
  iterate: (stream: Stream.Stream<unknown, unknown, unknown>) => AsyncIterable<unknown>
): Promised<S> => {
  const promise = (value: unknown): unknown => {
    if (typeof value === "function") {
      return (...args: ReadonlyArray<unknown>) => {
        const result: unknown = value(...args)
        if (Effect.isEffect(result)) return run(result)
        if (Stream.isStream(result)) return iterate(result)
        return result
      }
    }
    if (Effect.isEffect(value)) return () => run(value)
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const out: Record<string, unknown> = {}
      for (const [key, field] of Object.entries(value)) out[key] = promise(field)
      return out
    }
    return value
  }
  return promise(service) as Promised<S>
}

/**
 * Builds `layer` once (its connection pool lives until `close()`) and returns the `Sockudo`
 * service as Promises, with a `publisher` over it. Fails (rejects) with the layer's error, e.g. a `SockudoConfigError`
 * naming the invalid option.
 *
 * @since 0.1.0
 */
export const make = async <E>(layer: Layer.Layer<Sockudo.Sockudo, E>, options?: Options): Promise<PromiseClient> => {
  const runtime = ManagedRuntime.make(Layer.provideMerge(Publisher.layer(options?.publisher), layer))
  const context = await runtime.context().catch(async (error: unknown) => {
    await runtime.dispose()
    throw error
  })
  const service = await runtime.runPromise(Sockudo.Sockudo)
  let closed = false
  const closedError = () =>
    new SockudoClientClosedError({ message: "this PromiseClient was closed: its connection pool is gone" })
  const run = (effect: Effect.Effect<unknown, unknown, unknown>) =>
    closed ? Promise.reject(closedError()) : runtime.runPromise(effect as Effect.Effect<unknown, unknown>)
  const iterate = (stream: Stream.Stream<unknown, unknown, unknown>): AsyncIterable<unknown> => ({
    [Symbol.asyncIterator]: () =>
      closed
        ? { next: () => Promise.reject(closedError()) }
        : Stream.toAsyncIterableWith(stream as Stream.Stream<unknown, unknown>, context)[Symbol.asyncIterator]()
  })
  const idempotent = async <T>(key: string, body: (client: Promised<Sockudo.Service>) => Promise<T>): Promise<T> => {
    if (closed) throw closedError()
    const reason = Idempotency.keyReason(key)
    if (reason) throw validationError("idempotent", "key", reason)
    const scope = new Idempotency.ScopeRun(key)
    const scoped = promiseAll(
      service,
      (effect) => run(Effect.provideService(effect, Idempotency.CurrentScope, scope)),
      iterate
    )
    return body(scoped)
  }
  const publisher = await runtime.runPromise(Publisher.Publisher)
  const close = () => {
    closed = true
    return runtime.dispose()
  }
  return {
    ...promiseAll(service, run, iterate),
    idempotent,
    publisher: promiseAll(publisher, run, iterate),
    close,
    [Symbol.asyncDispose]: close
  }
}
