/**
 * Revocation of Protocol V2 capability tokens, by token id (`jti`) or by client id.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { Http, prepareBody, schemaDecoder } from "../Http.ts"
import { traced } from "../Telemetry.ts"
import * as Pagination from "./Pagination.ts"

/**
 * Options of `revocations.revoke`: at least one of `jti` and `clientId`. The revocation lasts
 * `ttlSeconds`, else until `expiresAt`, else one day (the server's default).
 *
 * @since 0.1.0
 */
export interface RevokeOptions {
  /** The token id to revoke. */
  readonly jti?: string | undefined
  /** Revoke every token of this client. */
  readonly clientId?: string | undefined
  /** Unix seconds at which the revocation may be forgotten (normally the token's own expiry). */
  readonly expiresAt?: number | undefined
  /** How long the revocation is kept, in seconds; wins over `expiresAt`. */
  readonly ttlSeconds?: number | undefined
  /** Default `"revoked"` (server side). */
  readonly reason?: string | undefined
}

/**
 * What was revoked, and how many connections on the handling node were closed.
 *
 * @since 0.1.0
 */
export const RevokeResponse = Schema.Struct({
  revoked_jti: Schema.Boolean,
  revoked_client_id: Schema.Boolean,
  closed_connections: Schema.Number
})

/**
 * @since 0.1.0
 */
export interface RevokeResponse extends Schema.Schema.Type<typeof RevokeResponse> {}

const decode = schemaDecoder(RevokeResponse)

/**
 * Builds the revocation operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const http = yield* Http

  /**
   * Revokes capability tokens; connections using them on the handling node are closed. Retried
   * like a read: revoking twice is harmless.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const lockOut = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   return yield* sockudo.revocations.revoke({ clientId: "u1", ttlSeconds: 3600, reason: "account locked" })
   * })
   * ```
   */
  const revoke = traced("Sockudo.revocations.revoke")(function* (
    options: RevokeOptions
  ): Effect.fn.Return<RevokeResponse, SockudoValidationError | SockudoRequestError> {
    const operation = "revocations.revoke"
    const { validationError } = Pagination
    if (typeof options !== "object" || options === null) {
      return yield* validationError(operation, "options", "must be an object")
    }
    const wire: Record<string, unknown> = {}
    for (const [field, key] of [
      ["jti", "jti"],
      ["clientId", "client_id"]
    ] as const) {
      const value = options[field]
      if (value === undefined) continue
      if (typeof value !== "string" || value.length === 0) {
        return yield* validationError(operation, field, "must be a non-empty string")
      }
      wire[key] = value
    }
    if (wire.jti === undefined && wire.client_id === undefined) {
      return yield* validationError(operation, "jti", "or clientId is required")
    }
    if (options.expiresAt !== undefined) {
      const reason = Pagination.serialReason(options.expiresAt)
      if (reason) return yield* validationError(operation, "expiresAt", reason)
      wire.expires_at = options.expiresAt
    }
    if (options.ttlSeconds !== undefined) {
      const reason = Pagination.serialReason(options.ttlSeconds)
      if (reason) return yield* validationError(operation, "ttlSeconds", reason)
      wire.ttl_seconds = options.ttlSeconds
    }
    if (options.reason !== undefined) {
      if (typeof options.reason !== "string") return yield* validationError(operation, "reason", "must be a string")
      wire.reason = options.reason
    }
    return yield* http.request({
      operation,
      method: "POST",
      path: "/revocations",
      body: prepareBody(JSON.stringify(wire)),
      decode
    })
  })

  return { revoke } as const
})

/**
 * The revocation operations.
 *
 * @since 0.1.0
 */
export type Revocations = Effect.Success<typeof make>
