/**
 * How the request pipeline reads a refusal: the status and body of a non-2xx response (the
 * handler's JSON envelope, the rate limiter's 429 body or the framework's plain-text rejections),
 * soketi's refusals sent with HTTP 200, and `Retry-After`, mapped to the SDK's typed errors.
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

/**
 * A response body as quoted in an error: its first 500 characters.
 *
 * @since 0.1.0
 */
export const snippet = (text: string) => (text.length > 500 ? `${text.slice(0, 500)}...` : text)

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
