/**
 * Client-side input rules, checked before anything is sent. Each rule returns `undefined` when
 * the input is valid, or the reason it is not; callers turn reasons into
 * `SockudoValidationError`s that name the field.
 *
 * The rules follow the server's own checks (channel names of `A-Z a-z 0-9 - _ = @ , ; . : #`,
 * byte-length limits, `#` user-limited channels) plus what a correct caller always wants
 * (`digits.digits` socket ids, data that JSON carries faithfully, no `.` or `..` where a value
 * becomes a URL path segment). Every rule takes `unknown`: callers from plain JavaScript get a
 * reason, never a `TypeError`.
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
 * A whole number above zero (and safe).
 *
 * @since 0.2.0
 */
export const isPositiveInt = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

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
export const isEncryptedChannel = (channel: unknown): boolean =>
  typeof channel === "string" && channel.startsWith(encryptedPrefix)

/**
 * True for `presence-` channels.
 *
 * @since 0.1.0
 */
export const isPresenceChannel = (channel: unknown): boolean =>
  typeof channel === "string" && channel.startsWith("presence-")

/**
 * The prefix of the channel that reaches one user's signed-in connections.
 *
 * @since 0.1.0
 */
export const userChannelPrefix = "#server-to-user-"

/**
 * True for an object that is neither `null` nor an array: what an options argument must be.
 *
 * @since 0.1.0
 */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Why an optional options argument is neither absent nor an object, or `undefined`.
 *
 * @since 0.1.0
 */
export const optionsReason = (options: unknown): string | undefined =>
  options === undefined || isRecord(options) ? undefined : "must be an object"

/**
 * Why a value that becomes one segment of a request path would not arrive as that segment:
 * URL normalisation removes a `.` segment and a `..` with the segment before it, so the request
 * would go to another route.
 *
 * @since 0.1.0
 */
export const pathSegment = (value: string): string | undefined =>
  value === "." || value === ".." ? "must not be '.' or '..' (a URL drops such a path segment)" : undefined

/**
 * @since 0.1.0
 */
export const channelName = (name: unknown, limits: Limits): string | undefined => {
  if (typeof name !== "string" || name.length === 0) return "must be a non-empty string"
  if (name.length > limits.maxChannelNameBytes) {
    return `must be at most ${limits.maxChannelNameBytes} bytes (got ${byteLength(name)})`
  }
  if (!CHANNEL.test(name)) return "may contain only A-Z a-z 0-9 and - _ = @ , ; . : #"
  const segment = pathSegment(name)
  if (segment) return segment
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
 * A user id that is one segment of a request path (`/users/<id>/...`).
 *
 * @since 0.1.0
 */
export const userId = (id: unknown): string | undefined =>
  typeof id !== "string" || id.length === 0 ? "must be a non-empty string" : pathSegment(id)

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
 * JSON cannot carry the value faithfully (see {@link toJson}).
 *
 * @since 0.1.0
 */
export const serializeData = (data: unknown): Serialized => {
  if (typeof data === "string") return { json: data }
  return toJson(data)
}

/** A prototype of a plain object (`Object.prototype` of any realm) or none. */
const isPlain = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === null || Object.getPrototypeOf(proto) === null
}

/**
 * Why JSON would not carry `value` as it is, or `undefined`: `JSON.stringify` silently turns
 * NaN and Infinity into `null`, a Map, Set or class instance into `{}` or its bare fields, a
 * function or `undefined` in an array into `null`, and drops function and symbol fields.
 * `undefined` fields are dropped as JSON always does; values with `toJSON` (dates) are judged by
 * what it returns.
 */
const unfaithful = (
  value: unknown,
  key: string,
  inArray: boolean,
  ancestors: Set<object> | undefined
): string | undefined => {
  let current = value
  if ((typeof current === "object" && current !== null) || typeof current === "bigint") {
    const toJSON = (current as { readonly toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") current = toJSON.call(current, key)
  }
  switch (typeof current) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(current) ? undefined : `holds ${current}, which JSON sends as null`
    case "bigint":
      return "holds a BigInt, which JSON cannot represent"
    case "undefined":
      return inArray ? "holds undefined in a list, which JSON sends as null" : undefined
    case "function":
    case "symbol":
      return `holds a ${typeof current}, which JSON ${inArray ? "sends as null" : "drops"}`
  }
  if (current === null) return undefined
  const object = current as object
  if (ancestors?.has(object)) return "contains a cycle"
  if (Array.isArray(object)) {
    ancestors?.add(object)
    for (let i = 0; i < object.length; i++) {
      const reason = unfaithful(object[i], String(i), true, ancestors)
      if (reason) return reason
    }
    ancestors?.delete(object)
    return undefined
  }
  if (!isPlain(object)) {
    const name = (object as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    const what = typeof name === "string" && name !== "" ? `a ${name}` : "an instance of a class"
    return `holds ${what} without toJSON, which JSON sends as {} or its bare fields (pass plain data)`
  }
  ancestors?.add(object)
  // for-in over own fields (a plain object inherits none that enumerate): no array of keys to make.
  for (const field in object) {
    if (!Object.hasOwn(object, field)) continue
    const reason = unfaithful((object as Record<string, unknown>)[field], field, false, ancestors)
    if (reason) return reason
  }
  ancestors?.delete(object)
  return undefined
}

/**
 * `JSON.stringify` that reports failure instead of throwing or returning `undefined`, and refuses
 * values JSON would not carry faithfully: NaN, Infinity, Map, Set, class instances without
 * `toJSON`, functions and symbols, `undefined` in a list.
 *
 * @since 0.1.0
 */
export const toJson = (value: unknown): Serialized => {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (e) {
    // A cycle, a BigInt or a throwing toJSON: the careful walk (which tracks ancestors) says which.
    try {
      const reason = unfaithful(value, "", false, new Set())
      if (reason)
        return { error: reason === "contains a cycle" ? "cannot be serialised as JSON: it contains a cycle" : reason }
    } catch {
      // toJSON threw: reported below.
    }
    return { error: `cannot be serialised as JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  // No JSON form at all: undefined, a function, a symbol.
  if (json === undefined) return { error: `${typeof value} cannot be serialised as JSON` }
  // JSON.stringify finished, so the value has no cycle: the walk needs no ancestor set.
  try {
    const reason = unfaithful(value, "", false, undefined)
    return reason ? { error: reason } : { json }
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
