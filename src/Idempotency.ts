/**
 * Idempotency across a whole program: {@link idempotent} gives every publish and mutation that
 * runs inside it a key derived from the scope's key and the publish's position in the run
 * (`<key>:0`, `<key>:1`, ...), so that re-running the whole program (an `Effect.retry` around
 * it, a Promise user's retry loop) re-sends the same keys, and the server answers the requests
 * it has already handled from its idempotency cache instead of publishing them again.
 *
 * What each form means:
 * - re-running one publish Effect value is a retry of that one publish: it keeps its key (so
 *   `Effect.repeat` of it publishes once);
 * - each `trigger` call is a new logical publish, with a new key;
 * - `Sockudo.idempotent(program, key)` makes the whole program retry-safe.
 *
 * Positions follow the order in which publishes first run in one run of the program, so the
 * program must publish in the same order each time: publishes run concurrently inside one
 * scope need keys of their own (or a scope each, with its own key).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { SockudoValidationError } from "./Errors.ts"
import { digest } from "./internal/Digest.ts"
import { validationError } from "./Validation.ts"

/**
 * One run of a scoped program: its base key, and the position given to each publish so far.
 *
 * @since 0.1.0
 */
export class ScopeRun {
  readonly base: string
  private next = 0
  private readonly positions = new WeakMap<object, number>()
  constructor(base: string) {
    this.base = base
  }
  /** The key of `publish` (one publish Effect value) in this run; a new position the first time. */
  keyOf(publish: object): string {
    let position = this.positions.get(publish)
    if (position === undefined) {
      position = this.next++
      this.positions.set(publish, position)
    }
    return `${this.base}:${position}`
  }
  /** The base of a scope nested at the next position: bounded in length, the same on every run. */
  childBase(): string {
    const position = this.next++
    return digest.sha256Hex(`${this.base}:${position}`).slice(0, 32)
  }
}

/**
 * The scope run a publish belongs to, if any.
 *
 * @since 0.1.0
 */
export const CurrentScope = Context.Reference<ScopeRun | undefined>("effect-sockudo/IdempotencyScope", {
  defaultValue: () => undefined
})

const KEY = /^[\x21-\x7e]{1,40}$/

/**
 * Why `key` cannot be a scope's key, or `undefined`: keys derived from it must fit the server's
 * limits (an `op_id` is at most 64 bytes).
 *
 * @since 0.1.0
 */
export const keyReason = (key: unknown): string | undefined =>
  typeof key === "string" && KEY.test(key) ? undefined : "must be 1 to 40 printable ASCII characters without spaces"

/**
 * Runs `program` as one retry-safe unit: every publish (`trigger`, `triggerBatch`,
 * `sendToUser`, `push.publish`...) and message mutation inside it that has no key of its own
 * gets `<key>:<position>`, whatever `autoIdempotency` says. Without `key`, one is generated
 * when `idempotent` is called, and kept by every run of the returned Effect; nested without a
 * key, a scope takes its key from its position in the outer one.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 *
 * interface Order {
 *   readonly id: string
 *   readonly userId: string
 * }
 *
 * const checkout = (order: Order) =>
 *   Effect.gen(function* () {
 *     const sockudo = yield* Sockudo.Sockudo
 *     yield* sockudo.trigger("orders", "order.paid", order)
 *     yield* sockudo.sendToUser(order.userId, "receipt", order)
 *   })
 * // A retry re-sends the same two keys: each event is published once.
 * const paid = (order: Order) =>
 *   Sockudo.idempotent(checkout(order), `checkout-${order.id}`).pipe(Effect.retry({ times: 3 }))
 * ```
 *
 * @since 0.1.0
 */
export const idempotent = <A, E, R>(
  program: Effect.Effect<A, E, R>,
  key?: string
): Effect.Effect<A, E | SockudoValidationError, R> => {
  if (key !== undefined) {
    const reason = keyReason(key)
    if (reason) return Effect.fail(validationError("idempotent", "key", reason))
  }
  const generated = key ?? newKey()
  return Effect.withFiber((fiber) => {
    const outer = fiber.getRef(CurrentScope)
    const base = key ?? (outer === undefined ? generated : outer.childBase())
    return Effect.provideService(program, CurrentScope, new ScopeRun(base))
  })
}

const HEX_DIGITS = new Uint8Array(16).map((_, i) => "0123456789abcdef".charCodeAt(i))
/** Random bytes drawn 1 KB at a time, 16 per key. */
const randomBytes = new Uint8Array(1024)
let randomUsed = randomBytes.length
const keyChars: Array<number> = new Array(36)

/**
 * A fresh idempotency key: a random (version 4) UUID, as `crypto.randomUUID` makes, written as
 * one string instead of joined from pieces (a tenth of the allocation, a third of the time).
 *
 * @since 0.2.0
 */
export const newKey = (): string => {
  if (randomUsed === randomBytes.length) {
    globalThis.crypto.getRandomValues(randomBytes)
    randomUsed = 0
  }
  const at = randomUsed
  randomUsed += 16
  let j = 0
  for (let i = 0; i < 16; i++) {
    let byte = randomBytes[at + i]!
    if (i === 6) byte = (byte & 0x0f) | 0x40
    else if (i === 8) byte = (byte & 0x3f) | 0x80
    if (i === 4 || i === 6 || i === 8 || i === 10) keyChars[j++] = 0x2d
    keyChars[j++] = HEX_DIGITS[byte >> 4]!
    keyChars[j++] = HEX_DIGITS[byte & 15]!
  }
  return String.fromCharCode.apply(null, keyChars)
}

let current: (() => string) | undefined

/**
 * A key for the publish being prepared, when it runs inside a scope: the first call gives its
 * key, further calls (a batch with a key per item) `<key>.1`, `<key>.2`, ... `undefined`
 * outside a scope.
 *
 * @since 0.1.0
 */
export const scopedKey = (): string | undefined => current?.()

/**
 * Runs the synchronous `prepare` of a publish with the keys of `key` available to
 * {@link scopedKey}.
 *
 * @since 0.1.0
 */
export const preparingWith = <A>(key: string, prepare: () => A): A => {
  let taken = 0
  const previous = current
  current = () => (taken++ === 0 ? key : `${key}.${taken - 1}`)
  try {
    return prepare()
  } finally {
    current = previous
  }
}
