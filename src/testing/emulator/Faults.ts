/**
 * Fault injection, per route: answer with an error status, answer 429 with `Retry-After`, drop
 * the connection before the request is processed (nothing happened) or after (it happened, the
 * answer is lost), or add latency. A rule applies to the requests its `route` selects, at most
 * `times` times, with a `probability` drawn from Effect's `Random`.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Emulator, EmulatorFaults } from "effect-sockudo/testing"
 *
 * const flaky = Effect.gen(function* () {
 *   const emulator = yield* Emulator.Emulator
 *   yield* emulator.faults.inject({ route: "POST /events", times: 2, fault: EmulatorFaults.status(503) })
 *   yield* emulator.faults.inject({ route: "POST /events", probability: 0.1, fault: EmulatorFaults.dropAfter })
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { type ApiResponse, apiError } from "./Api.ts"

/**
 * What happens to a request a rule selects.
 *
 * @since 0.1.0
 */
export type Fault =
  | {
      /** Answer with an error status. */
      readonly _tag: "Status"
      /** The answer. */
      readonly response: ApiResponse
    }
  | {
      /** Drop the connection before the request is processed: nothing happened. */
      readonly _tag: "DropBefore"
    }
  | {
      /** Drop the connection after the request is processed: it happened, the answer is lost. */
      readonly _tag: "DropAfter"
    }
  | {
      /** Answer later. */
      readonly _tag: "Latency"
      /** How much later. */
      readonly duration: Duration.Duration
    }

const codes: Readonly<Record<number, string>> = {
  400: "invalid_input",
  401: "auth_failed",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  422: "feature_disabled",
  429: "rate_limited",
  500: "internal_error",
  501: "not_implemented",
  503: "service_unavailable"
}

/**
 * Answer with `status` before processing: the server's error envelope (`Internal server error`
 * for 500), or the given response.
 *
 * @since 0.1.0
 */
export const status = (status: number, response?: ApiResponse): Fault => ({
  _tag: "Status",
  response:
    response ??
    apiError(status, codes[status] ?? "internal_error", status === 500 ? "Internal server error" : `HTTP ${status}`)
})

/**
 * The rate limiter's 429 (section 1.5) with `Retry-After`, before processing.
 *
 * @since 0.1.0
 */
export const rateLimited = (retryAfterSeconds: number): Fault => ({
  _tag: "Status",
  response: {
    status: 429,
    json: { error: "Too Many Requests", message: "Rate limit exceeded. Please try again later." },
    headers: { "retry-after": String(retryAfterSeconds) }
  }
})

/**
 * The connection drops before the request is processed: nothing happened on the server.
 *
 * @since 0.1.0
 */
export const dropBefore: Fault = { _tag: "DropBefore" }

/**
 * The connection drops after the request was processed: it happened, the answer is lost.
 *
 * @since 0.1.0
 */
export const dropAfter: Fault = { _tag: "DropAfter" }

/**
 * The server answers `duration` later (on Effect's `Clock`). Latency rules add up with each
 * other and with one other fault.
 *
 * @since 0.1.0
 */
export const latency = (duration: Duration.Input): Fault => ({
  _tag: "Latency",
  duration: Duration.fromInputUnsafe(duration)
})

/**
 * The request a rule is matched against.
 *
 * @since 0.1.0
 */
export interface FaultTarget {
  /** The HTTP method. */
  readonly method: string
  /** The route pattern below `/apps/:appId`, e.g. `/channels/:channelName`. */
  readonly route: string
  /** The app of the request's path, if it names one. */
  readonly appId: string | undefined
}

/**
 * A fault rule.
 *
 * @since 0.1.0
 */
export interface FaultRule {
  /**
   * Which requests: `"POST /events"`, `"GET /channels/:channelName"` (method and route pattern
   * below `/apps/:appId`), `"*"` or absent for every API request, or a predicate.
   */
  readonly route?: string | ((target: FaultTarget) => boolean) | undefined
  /** Apply at most this many times (default: unlimited). */
  readonly times?: number | undefined
  /** Apply to each selected request with this probability (default 1). */
  readonly probability?: number | undefined
  /** What happens to the selected requests. */
  readonly fault: Fault
}

/**
 * The faults that apply to one request.
 *
 * @since 0.1.0
 */
export interface Plan {
  /** The delay before the answer: the sum of the matching latency rules. */
  readonly latency: Duration.Duration
  /** The status or drop that applies, if any. */
  readonly fault: Exclude<Fault, { readonly _tag: "Latency" }> | undefined
}

interface LiveRule {
  readonly rule: FaultRule
  remaining: number
}

const selects = (rule: FaultRule, target: FaultTarget): boolean => {
  const route = rule.route
  if (route === undefined || route === "*") return true
  if (typeof route === "function") return route(target)
  return route === `${target.method} ${target.route}`
}

/**
 * The fault rules of an emulator.
 *
 * @since 0.1.0
 */
export class Faults {
  private rules: Array<LiveRule> = []

  /** Adds a rule. */
  add(rule: FaultRule): void {
    this.rules.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY })
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = []
  }

  /** Decides, and uses up, the faults of one request. */
  plan(target: FaultTarget): Effect.Effect<Plan> {
    return Effect.gen({ self: this }, function* () {
      let latency = Duration.zero
      let fault: Plan["fault"]
      for (const live of this.rules) {
        if (live.remaining <= 0 || !selects(live.rule, target)) continue
        const isLatency = live.rule.fault._tag === "Latency"
        if (!isLatency && fault !== undefined) continue
        if (live.rule.probability !== undefined && (yield* Random.next) >= live.rule.probability) continue
        live.remaining--
        const chosen = live.rule.fault
        if (chosen._tag === "Latency") latency = Duration.sum(latency, chosen.duration)
        else fault = chosen
      }
      this.rules = this.rules.filter((live) => live.remaining > 0)
      return { latency, fault }
    })
  }
}
