/**
 * Client-side input rules, checked before anything is sent. Each rule returns `undefined` when
 * the input is valid, or the reason it is not; callers turn reasons into
 * `SockudoValidationError`s that name the field.
 *
 * The rules follow the server's own checks (channel names of `A-Z a-z 0-9 - _ = @ , ; . : #`,
 * byte-length limits, `#` user-limited channels) plus what a correct caller always wants
 * (`digits.digits` socket ids, JSON-serialisable data).
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import { SockudoValidationError } from "./Errors.ts"
import type { Limits } from "./SockudoConfig.ts"

const CHANNEL = /^[A-Za-z0-9\-_=@,;.:#]+$/
const USER_LIMIT_ID = /^[A-Za-z0-9\-_=@.]+$/
const USER_ID = /^[A-Za-z0-9\-_=@,;.]+$/
const SOCKET_ID = /^\d+\.\d+$/

const utf8 = new TextEncoder()

/**
 * UTF-8 byte length of a string.
 *
 * @since 0.1.0
 */
export const byteLength = (s: string): number => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return utf8.encode(s).length
  return s.length
}

/**
 * The prefix of end-to-end encrypted channels.
 *
 * @since 0.1.0
 */
export const encryptedPrefix = "private-encrypted-"

/**
 * True for `private-encrypted-` channels.
 *
 * @since 0.1.0
 */
export const isEncryptedChannel = (channel: string): boolean => channel.startsWith(encryptedPrefix)

/**
 * True for `presence-` channels.
 *
 * @since 0.1.0
 */
export const isPresenceChannel = (channel: string): boolean => channel.startsWith("presence-")

/**
 * The prefix of the channel that reaches one user's signed-in connections.
 *
 * @since 0.1.0
 */
export const userChannelPrefix = "#server-to-user-"

/**
 * @since 0.1.0
 */
export const channelName = (name: unknown, limits: Limits): string | undefined => {
  if (typeof name !== "string" || name.length === 0) return "must be a non-empty string"
  if (name.length > limits.maxChannelNameBytes) {
    return `must be at most ${limits.maxChannelNameBytes} bytes (got ${byteLength(name)})`
  }
  if (!CHANNEL.test(name)) return "may contain only A-Z a-z 0-9 and - _ = @ , ; . : #"
  const hash = name.indexOf("#")
  if (hash > 0) {
    if (name.indexOf("#", hash + 1) !== -1) return "may contain at most one '#'"
    const ids = name.slice(hash + 1).split(",")
    if (ids.some((id) => !USER_LIMIT_ID.test(id))) {
      return "must list user ids of A-Z a-z 0-9 - _ = @ . after '#', separated by ','"
    }
  }
  return undefined
}

/**
 * @since 0.1.0
 */
export const eventName = (name: unknown, limits: Limits): string | undefined => {
  if (typeof name !== "string" || name.length === 0) return "must be a non-empty string"
  const bytes = byteLength(name)
  if (bytes > limits.maxEventNameBytes) return `must be at most ${limits.maxEventNameBytes} bytes (got ${bytes})`
  return undefined
}

/**
 * @since 0.1.0
 */
export const socketId = (id: unknown): string | undefined =>
  typeof id === "string" && SOCKET_ID.test(id) ? undefined : "must look like '1234.5678' (digits.digits)"

/**
 * A user id that can be part of a `#server-to-user-` channel name.
 *
 * @since 0.1.0
 */
export const channelUserId = (id: unknown): string | undefined =>
  typeof id === "string" && USER_ID.test(id) ? undefined : "must be non-empty and use only A-Z a-z 0-9 - _ = @ , ; ."

/**
 * An idempotency key the server accepts in both the body and the `X-Idempotency-Key` header.
 *
 * @since 0.1.0
 */
export const idempotencyKey = (key: unknown): string | undefined =>
  typeof key === "string" && /^[\x21-\x7e]{1,128}$/.test(key)
    ? undefined
    : "must be 1 to 128 printable ASCII characters without spaces"

/**
 * A value's JSON text, or the reason it has none.
 *
 * @since 0.1.0
 */
export type Serialized =
  | {
      /** The text to send. */
      readonly json: string
    }
  | {
      /** Why the value has no JSON form. */
      readonly error: string
    }

/**
 * Serialises event data: a string is sent as is, anything else as JSON. Returns the reason when
 * the value has no JSON form (undefined, functions, symbols, BigInt, cycles).
 *
 * @since 0.1.0
 */
export const serializeData = (data: unknown): Serialized => {
  if (typeof data === "string") return { json: data }
  return toJson(data)
}

/**
 * `JSON.stringify` that reports failure instead of throwing or returning `undefined`.
 *
 * @since 0.1.0
 */
export const toJson = (value: unknown): Serialized => {
  try {
    const json = JSON.stringify(value)
    return json === undefined ? { error: `${typeof value} cannot be serialised as JSON` } : { json }
  } catch (e) {
    return { error: `cannot be serialised as JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/**
 * The validation error of `field`; its message is the field name followed by `reason`.
 *
 * @since 0.1.0
 */
export const validationError = (operation: string, field: string, reason: string): SockudoValidationError =>
  new SockudoValidationError({ operation, field, message: `${field} ${reason}` })

/**
 * {@link validationError} as a failed `Result`.
 *
 * @since 0.1.0
 */
export const invalid = (
  operation: string,
  field: string,
  reason: string
): Result.Result<never, SockudoValidationError> => Result.fail(validationError(operation, field, reason))
