/**
 * How the request pipeline reads a refusal: the status and body of a non-2xx response (the
 * handler's JSON envelope, the rate limiter's 429 body or the framework's plain-text rejections),
 * soketi's refusals sent with HTTP 200, and `Retry-After`, mapped to the SDK's typed errors; and
 * what keeps a request's signed query out of every error (a signed GET could be replayed from a
 * log for the 10 minutes its timestamp is valid).
 *
 * @since 0.1.0
 */
import {
  SockudoAuthenticationError,
  SockudoClientError,
  SockudoNotFoundError,
  SockudoRateLimitError,
  type SockudoRequestError,
  SockudoServerError
} from "./Errors.ts"

/** Seconds or an HTTP date, as milliseconds from now. */
const parseRetryAfter = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined || value === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

const QUERY = /\?[^\s"'`<>()[\]{}]*/g
const SIGNED = /auth_|body_md5/i
const SIGNED_PARAM = /\b(?:auth_key|auth_timestamp|auth_version|auth_signature|body_md5)=[^&\s"'`<>()[\]{}]*&?/gi

/**
 * `text` without any signed query: the query of a URL that carries `auth_*` or `body_md5`
 * parameters is removed, and so is any such parameter quoted on its own.
 *
 * @since 0.1.0
 */
export const redactSigned = (text: string): string =>
  SIGNED.test(text) ? text.replace(QUERY, (query) => (SIGNED.test(query) ? "" : query)).replace(SIGNED_PARAM, "") : text

/**
 * The cause of a transport failure as an error may keep it: a copy of the error chain (name,
 * message, stack and the system error's `code`, `errno`, `syscall`) with every signed query
 * removed. The client's own error is not kept: it holds the request, whose URL is signed.
 *
 * @since 0.1.0
 */
export const redactCause = (cause: unknown, depth = 0): unknown => {
  if (cause === undefined || cause === null || depth > 8) return undefined
  if (!(cause instanceof Error)) return redactSigned(typeof cause === "string" ? cause : String(cause))
  const inner = redactCause(cause.cause, depth + 1)
  const copy = new Error(redactSigned(cause.message), inner === undefined ? undefined : { cause: inner })
  copy.name = cause.name
  if (cause.stack !== undefined) copy.stack = redactSigned(cause.stack)
  for (const field of ["code", "errno", "syscall"] as const) {
    const value = (cause as unknown as Record<string, unknown>)[field]
    if (typeof value === "string" || typeof value === "number") Object.assign(copy, { [field]: value })
  }
  return copy
}

/**
 * A response body as quoted in an error: its first 500 characters, without signed queries.
 *
 * @since 0.1.0
 */
export const snippet = (text: string) => redactSigned(text.length > 500 ? `${text.slice(0, 500)}...` : text)

/**
 * Maps a non-2xx response to the SDK's typed error.
 *
 * @since 0.1.0
 */
export const errorFromResponse = (
  operation: string,
  request: string,
  status: number,
  text: string,
  retryAfterHeader: string | undefined,
  nowMillis: number
): SockudoRequestError => {
  let message = text.trim()
  let code: string | undefined
  if (message.startsWith("{")) {
    try {
      const body = JSON.parse(message) as Record<string, unknown>
      if (typeof body.code === "string") code = body.code
      // The handler envelope says `error`; the rate limiter's 429 body puts its text in `message`.
      const detail = typeof body.message === "string" ? body.message : body.error
      if (typeof detail === "string") message = detail
    } catch {
      // not JSON after all: keep the text
    }
  }
  message = message === "" ? `HTTP ${status}` : snippet(message)
  const fields = { operation, request, status, message, ...(code === undefined ? {} : { code }) }
  const retryAfterMillis = parseRetryAfter(retryAfterHeader, nowMillis)
  const withRetryAfter = retryAfterMillis === undefined ? fields : { ...fields, retryAfterMillis }
  if (status === 401 || status === 403) return new SockudoAuthenticationError(fields)
  if (status === 404) return new SockudoNotFoundError(fields)
  if (status === 429) return new SockudoRateLimitError(withRetryAfter)
  if (status >= 500) return new SockudoServerError(withRetryAfter)
  return new SockudoClientError(fields)
}

/**
 * The status of a refusal sent with HTTP 200, as soketi does: `{"error": "...", "code": 401}`.
 * Sockudo's envelope codes are strings, so no Sockudo answer matches.
 *
 * @since 0.1.0
 */
export const refusalStatus = (json: unknown): number | undefined => {
  if (typeof json !== "object" || json === null) return undefined
  const { error, code } = json as { readonly error?: unknown; readonly code?: unknown }
  return typeof error === "string" && typeof code === "number" && Number.isInteger(code) && code >= 400 && code < 600
    ? code
    : undefined
}
