/**
 * Publish idempotency as the server implements it (server reference, section 5).
 *
 * - The HTTP layer: per app, a key is claimed ("in progress") before the event is validated and
 *   completed with the response body on success. A failure after the claim never releases it:
 *   the key is poisoned until its TTL ends, and retries get 503 `backpressure` with
 *   `Retry-After: 1`. `/events` keys and batch item keys share one domain, batch
 *   `X-Idempotency-Key`s have their own.
 * - The message layer: per (app, channel, key) with a payload fingerprint: the same payload
 *   returns the first receipt without publishing again, a different one is a 400.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { type ApiResponse, apiError } from "./Api.ts"
import { byteLength } from "./Names.ts"

/**
 * Idempotency settings of an app.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly enabled: boolean
  readonly ttlMs: number
  readonly maxKeyLength: number
}

/**
 * The server's defaults: enabled, 120 s, 128 bytes.
 *
 * @since 0.1.0
 */
export const defaults: Settings = { enabled: true, ttlMs: 120_000, maxKeyLength: 128 }

/**
 * The key spaces of the HTTP layer.
 *
 * @since 0.1.0
 */
export type Domain = "events" | "batch"

/**
 * The state of a key when it is claimed.
 *
 * @since 0.1.0
 */
export type Claim =
  | { readonly _tag: "Claimed" }
  | { readonly _tag: "InProgress" }
  | { readonly _tag: "Done"; readonly body: unknown }

interface Entry {
  readonly done: boolean
  readonly body: unknown
  readonly expiresAtMs: number
}

interface MessageEntry {
  readonly fingerprint: string
  readonly receipt: Readonly<Record<string, unknown>>
  readonly expiresAtMs: number
}

/**
 * The outcome of a message-level check.
 *
 * @since 0.1.0
 */
export type MessageCheck =
  | { readonly _tag: "New" }
  | { readonly _tag: "Duplicate"; readonly receipt: Readonly<Record<string, unknown>> }
  | { readonly _tag: "Conflict"; readonly response: ApiResponse }

/**
 * The idempotency state of one app.
 *
 * @since 0.1.0
 */
export class Store {
  readonly settings: Settings
  private readonly entries = new Map<string, Entry>()
  private readonly messages = new Map<string, MessageEntry>()

  constructor(settings: Settings) {
    this.settings = settings
  }

  private live(id: string, nowMs: number): Entry | undefined {
    const entry = this.entries.get(id)
    if (entry !== undefined && entry.expiresAtMs <= nowMs) {
      this.entries.delete(id)
      return undefined
    }
    return entry
  }

  /** Claims `key`, or reports that it is in progress or done. */
  claim(domain: Domain, key: string, nowMs: number): Claim {
    const id = `${domain}:${key}`
    const entry = this.live(id, nowMs)
    if (entry === undefined) {
      this.entries.set(id, { done: false, body: undefined, expiresAtMs: nowMs + this.settings.ttlMs })
      return { _tag: "Claimed" }
    }
    return entry.done ? { _tag: "Done", body: entry.body } : { _tag: "InProgress" }
  }

  /** The state of a key without claiming it. */
  peek(domain: Domain, key: string, nowMs: number): Claim | undefined {
    const entry = this.live(`${domain}:${key}`, nowMs)
    return entry === undefined ? undefined : entry.done ? { _tag: "Done", body: entry.body } : { _tag: "InProgress" }
  }

  /** Stores the final response body of a claimed key. */
  complete(domain: Domain, key: string, body: unknown, nowMs: number): void {
    this.entries.set(`${domain}:${key}`, { done: true, body, expiresAtMs: nowMs + this.settings.ttlMs })
  }

  /** The message layer: is this (channel, key) new, a duplicate of the same payload, or a conflict? */
  checkMessage(channel: string, key: string, fingerprint: string, nowMs: number): MessageCheck {
    const id = `${channel}\u0000${key}`
    const entry = this.messages.get(id)
    if (entry === undefined || entry.expiresAtMs <= nowMs) return { _tag: "New" }
    if (entry.fingerprint !== fingerprint) {
      return {
        _tag: "Conflict",
        response: apiError(400, "invalid_input", "idempotency key was already used with a different payload")
      }
    }
    return { _tag: "Duplicate", receipt: entry.receipt }
  }

  /** Records a published message's receipt under its message-level key. */
  recordMessage(
    channel: string,
    key: string,
    fingerprint: string,
    receipt: Readonly<Record<string, unknown>>,
    nowMs: number
  ): void {
    this.messages.set(`${channel}\u0000${key}`, { fingerprint, receipt, expiresAtMs: nowMs + this.settings.ttlMs })
  }
}

/**
 * Why the server rejects an idempotency key, or `undefined`.
 *
 * @since 0.1.0
 */
export const keyError = (key: string, settings: Settings): ApiResponse | undefined => {
  if (key === "") return apiError(400, "invalid_input", "Idempotency key must not be empty")
  if (byteLength(key) > settings.maxKeyLength) {
    return apiError(
      400,
      "invalid_input",
      `Idempotency key exceeds maximum length of ${settings.maxKeyLength} characters`
    )
  }
  return undefined
}

/**
 * The `X-Idempotency-Key` header, ignored when it is not ASCII.
 *
 * @since 0.1.0
 */
export const headerKey = (headers: Readonly<Record<string, string>>): string | undefined => {
  const value = headers["x-idempotency-key"]
  return value === undefined || !/^[\x00-\x7f]*$/.test(value) ? undefined : value
}

/**
 * The 503 of a key still in progress.
 *
 * @since 0.1.0
 */
export const inProgress: ApiResponse = apiError(503, "backpressure", "Idempotent publish is still in progress", {
  "retry-after": "1"
})

/**
 * Claims a key the way the server does: when it is in progress, polls 6 times 50 ms (on the
 * Effect `Clock`) for it to finish before answering 503.
 *
 * @since 0.1.0
 */
export const claimOrWait = (
  store: Store,
  domain: Domain,
  key: string,
  nowMs: number
): Effect.Effect<{ readonly _tag: "Claimed" } | { readonly _tag: "Answer"; readonly response: ApiResponse }> =>
  Effect.gen(function* () {
    const claim = store.claim(domain, key, nowMs)
    if (claim._tag === "Claimed") return claim
    if (claim._tag === "Done") return { _tag: "Answer", response: { status: 200, json: claim.body } } as const
    for (let i = 0; i < 6; i++) {
      yield* Effect.sleep(50)
      const now = yield* Clock.currentTimeMillis
      const state = store.peek(domain, key, now)
      if (state === undefined) {
        // expired while waiting: the key is free again
        store.claim(domain, key, now)
        return { _tag: "Claimed" } as const
      }
      if (state._tag === "Done") return { _tag: "Answer", response: { status: 200, json: state.body } } as const
    }
    return { _tag: "Answer", response: inProgress } as const
  })
