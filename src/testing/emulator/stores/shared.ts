/**
 * Helpers shared by the emulator's durable stores: early-exit rejections, the server's typed
 * query and body decoding errors, channel-name rules, serial generation, byte sizes and cursors.
 *
 * Everything here is synchronous and free of I/O, so a store stays a plain function of its
 * state and the request.
 *
 * @since 0.1.0
 */
import {
  type ApiRequest,
  type ApiResponse,
  type AppHandle,
  apiError,
  badBodyShape,
  badQuery,
  type Limits,
  type Route
} from "../Api.ts"

/**
 * A response raised from deep inside a handler; `route` turns it back into the answer.
 *
 * @since 0.1.0
 */
export class Rejection {
  readonly response: ApiResponse
  constructor(response: ApiResponse) {
    this.response = response
  }
}

/**
 * Stops the current handler with `response`.
 *
 * @since 0.1.0
 */
export const reject = (response: ApiResponse): never => {
  throw new Rejection(response)
}

/**
 * Stops the current handler with the server's `{ error, code, status }` envelope.
 *
 * @since 0.1.0
 */
export const fail = (status: number, code: string, message: string): never => reject(apiError(status, code, message))

/**
 * Stops the current handler with a 400 `invalid_input`.
 *
 * @since 0.1.0
 */
export const invalid = (message: string): never => fail(400, "invalid_input", message)

/**
 * Builds a route whose handler may `reject` at any depth.
 *
 * @since 0.1.0
 */
export const route = (
  method: Route["method"],
  path: string,
  handle: (request: ApiRequest, app: AppHandle) => ApiResponse
): Route => ({
  method,
  path,
  handle: (request, app) => {
    try {
      return handle(request, app)
    } catch (error) {
      if (error instanceof Rejection) return error.response
      throw error
    }
  }
})

/**
 * A 200 JSON answer.
 *
 * @since 0.1.0
 */
export const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): ApiResponse =>
  headers === undefined ? { status, json: body } : { status, json: body, headers }

/**
 * The value under `key`, created by `make` on first use.
 *
 * @since 0.1.0
 */
export const getOrCreate = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
  const existing = map.get(key)
  if (existing !== undefined) return existing
  const created = make()
  map.set(key, created)
  return created
}

// ---------------------------------------------------------------------------------------------
// Sizes, ids, serials
// ---------------------------------------------------------------------------------------------

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
 * Byte length of the compact JSON form of `value` (what the server stores and counts).
 *
 * @since 0.1.0
 */
export const jsonByteLength = (value: unknown): number => byteLength(JSON.stringify(value))

/**
 * JSON with object keys sorted at every depth: equal values give equal strings.
 *
 * @since 0.1.0
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
}

/**
 * A source of fresh identifiers (stream ids, annotation ids, message ids, publish ids).
 *
 * @since 0.1.0
 */
export type IdSource = () => string

/**
 * Random UUID v4 identifiers.
 *
 * @since 0.1.0
 */
export const randomIds: IdSource = () => globalThis.crypto.randomUUID()

const pad20 = (n: number): string => String(Math.max(0, Math.trunc(n))).padStart(20, "0")

/**
 * The server's version-serial generator: `<20-digit ms>:<node id>:<20-digit counter>`. One
 * counter serves message serials, version serials and annotation serials, so they sort
 * lexicographically in creation order as long as time does not run backwards.
 *
 * @since 0.1.0
 */
export class SerialSource {
  readonly nodeId: string
  private counter = 0
  constructor(nodeId: string) {
    this.nodeId = nodeId
  }
  /** The next serial, stamped with `nowMs`. */
  next(nowMs: number): string {
    this.counter += 1
    return `${pad20(nowMs)}:${this.nodeId}:${pad20(this.counter)}`
  }
}

/**
 * Unpadded base64url of a UTF-8 string.
 *
 * @since 0.1.0
 */
export const base64UrlEncode = (s: string): string => {
  let binary = ""
  for (const byte of utf8.encode(s)) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")
}

/**
 * Decodes unpadded base64url to a UTF-8 string, or returns an error detail.
 *
 * @since 0.1.0
 */
export const base64UrlDecode = (s: string): { readonly text: string } | { readonly error: string } => {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (!/[A-Za-z0-9\-_]/.test(c)) return { error: `Invalid symbol ${s.charCodeAt(i)}, offset ${i}.` }
  }
  if (s.length % 4 === 1) return { error: `Invalid input length: ${s.length}` }
  const binary = atob(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (s.length % 4)) % 4))
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) }
  } catch {
    return { error: "invalid UTF-8" }
  }
}

// ---------------------------------------------------------------------------------------------
// Typed query parameters (serde_urlencoded rejections are plain text, section 1.4)
// ---------------------------------------------------------------------------------------------

const U64_MAX = 18446744073709551615n
const I64_MIN = -9223372036854775808n
const I64_MAX = 9223372036854775807n

const parseInteger = (raw: string, signed: boolean): number | string => {
  if (raw === "") return "cannot parse integer from empty string"
  const pattern = signed ? /^[+-]?\d+$/ : /^\+?\d+$/
  if (!pattern.test(raw)) return "invalid digit found in string"
  const value = BigInt(raw)
  if (signed ? value < I64_MIN || value > I64_MAX : value > U64_MAX) {
    return value < 0n ? "number too small to fit in target type" : "number too large to fit in target type"
  }
  return Number(value)
}

/**
 * Rejects a repeated key of a typed query struct with the server's plain-text 400
 * (`duplicate field`), before any field is read.
 *
 * @since 0.1.0
 */
export const rejectDuplicateFields = (request: ApiRequest, fields: ReadonlyArray<string>): void => {
  const seen = new Set<string>()
  for (const [key] of request.queryPairs ?? []) {
    if (!fields.includes(key)) continue
    if (seen.has(key)) reject(badQuery(`duplicate field \`${key}\``))
    seen.add(key)
  }
}

/**
 * An unsigned integer query parameter (`usize`/`u64`), or the server's plain-text 400.
 *
 * @since 0.1.0
 */
export const queryUint = (request: ApiRequest, key: string): number | undefined => {
  const raw = request.query[key]
  if (raw === undefined) return undefined
  const value = parseInteger(raw, false)
  return typeof value === "number" ? value : reject(badQuery(value))
}

/**
 * A signed integer query parameter (`i64`), or the server's plain-text 400.
 *
 * @since 0.1.0
 */
export const queryInt = (request: ApiRequest, key: string): number | undefined => {
  const raw = request.query[key]
  if (raw === undefined) return undefined
  const value = parseInteger(raw, true)
  return typeof value === "number" ? value : reject(badQuery(value))
}

// ---------------------------------------------------------------------------------------------
// Typed JSON bodies (serde rejections: 422 plain text on core routes)
// ---------------------------------------------------------------------------------------------

/** How serde names a JSON value in "invalid type" messages. */
const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value === "string") return `string ${JSON.stringify(value)}`
  if (typeof value === "boolean") return `boolean \`${value}\``
  if (typeof value === "number") {
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``
  }
  if (Array.isArray(value)) return "sequence"
  return "map"
}

/**
 * Reads typed fields of a JSON object body, rejecting like the server's body extractor.
 * `shape` decides how rejections look: `"core"` gives the framework's 422 plain text,
 * `"push"` gives the push routes' 400 JSON `invalid JSON body: ...` (section 1.4).
 *
 * @since 0.1.0
 */
export class Body {
  readonly value: Readonly<Record<string, unknown>>
  private readonly shape: "core" | "push"
  private constructor(value: Readonly<Record<string, unknown>>, shape: "core" | "push") {
    this.value = value
    this.shape = shape
  }

  /** The request's body as an object, or the server's rejection for a missing or non-object body. */
  static of(request: ApiRequest, struct: string, shape: "core" | "push" = "core"): Body {
    const body = request.body
    if (body === undefined) {
      return shape === "core"
        ? reject({
            status: 400,
            text: "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"
          })
        : invalid("invalid JSON body: EOF while parsing a value at line 1 column 0")
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return Body.shapeError(shape, `invalid type: ${describe(body)}, expected struct ${struct}`)
    }
    return new Body(body as Readonly<Record<string, unknown>>, shape)
  }

  /** Wraps an already-checked object, e.g. a nested struct. */
  static nested(value: Readonly<Record<string, unknown>>, shape: "core" | "push"): Body {
    return new Body(value, shape)
  }

  static shapeError(shape: "core" | "push", detail: string): never {
    return shape === "core" ? reject(badBodyShape(detail)) : invalid(`invalid JSON body: ${detail}`)
  }

  /** Rejects with a shape error. */
  error(detail: string): never {
    return Body.shapeError(this.shape, detail)
  }

  /** True when the key is present with a non-null value (serde's `Option` reads `null` as absent). */
  has(key: string): boolean {
    const v = this.value[key]
    return v !== undefined && v !== null
  }

  private present(key: string): unknown {
    const v = this.value[key]
    return v === null ? undefined : v
  }

  /** A required string (`String`). */
  string(key: string): string {
    const v = this.value[key]
    if (v === undefined) return this.error(`missing field \`${key}\``)
    if (typeof v !== "string") return this.error(`invalid type: ${describe(v)}, expected a string`)
    return v
  }

  /** An optional string (`Option<String>`). */
  optionalString(key: string): string | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "string") return this.error(`invalid type: ${describe(v)}, expected a string`)
    return v
  }

  /** An optional boolean. */
  optionalBoolean(key: string): boolean | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "boolean") return this.error(`invalid type: ${describe(v)}, expected a boolean`)
    return v
  }

  /** An optional unsigned integer (`Option<u64>`). */
  optionalUint(key: string): number | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "number" || !Number.isInteger(v)) {
      return this.error(`invalid type: ${describe(v)}, expected u64`)
    }
    if (v < 0) return this.error(`invalid value: integer \`${v}\`, expected u64`)
    return v
  }

  /** An optional signed integer (`Option<i64>`). */
  optionalInt(key: string): number | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "number" || !Number.isInteger(v)) {
      return this.error(`invalid type: ${describe(v)}, expected i64`)
    }
    return v
  }

  /** A required unsigned integer. */
  uint(key: string): number {
    if (this.value[key] === undefined) return this.error(`missing field \`${key}\``)
    const v = this.optionalUint(key)
    return v === undefined ? this.error(`invalid type: null, expected u64`) : v
  }

  /** A required enum given by its serde names. */
  variant<A extends string>(key: string, variants: ReadonlyArray<A>): A {
    const v = this.value[key]
    if (v === undefined) return this.error(`missing field \`${key}\``)
    return this.checkVariant(v, variants)
  }

  /** An optional enum given by its serde names. */
  optionalVariant<A extends string>(key: string, variants: ReadonlyArray<A>): A | undefined {
    const v = this.present(key)
    return v === undefined ? undefined : this.checkVariant(v, variants)
  }

  checkVariant<A extends string>(v: unknown, variants: ReadonlyArray<A>): A {
    if (typeof v !== "string") return this.error(`invalid type: ${describe(v)}, expected a string`)
    if (!(variants as ReadonlyArray<string>).includes(v)) {
      const expected =
        variants.length === 2
          ? `\`${variants[0]}\` or \`${variants[1]}\``
          : `one of ${variants.map((x) => `\`${x}\``).join(", ")}`
      return this.error(`unknown variant \`${v}\`, expected ${expected}`)
    }
    return v as A
  }

  /** An optional JSON object. */
  optionalObject(key: string, struct: string): Readonly<Record<string, unknown>> | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "object" || Array.isArray(v)) {
      return this.error(`invalid type: ${describe(v)}, expected struct ${struct}`)
    }
    return v as Readonly<Record<string, unknown>>
  }

  /** A required JSON object. */
  object(key: string, struct: string): Readonly<Record<string, unknown>> {
    if (this.value[key] === undefined) return this.error(`missing field \`${key}\``)
    const v = this.optionalObject(key, struct)
    return v === undefined ? this.error(`invalid type: null, expected struct ${struct}`) : v
  }

  /** An optional array. */
  optionalArray(key: string): ReadonlyArray<unknown> | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (!Array.isArray(v)) return this.error(`invalid type: ${describe(v)}, expected a sequence`)
    return v
  }

  /** Any JSON value other than `null` (`Option<Value>`). */
  optionalValue(key: string): unknown {
    return this.present(key)
  }
}

/**
 * Checks a message `extras` object the way the server's `MessageExtras` decoder does: `headers`
 * is flat (string, number or boolean values), `ephemeral` and `echo` are booleans,
 * `idempotencyKey` is a string; other keys are carried opaquely. Known keys set to `null` are
 * dropped, as serde reads them as absent.
 *
 * @since 0.1.0
 */
export const decodeExtras = (body: Body, key: string): Readonly<Record<string, unknown>> | undefined => {
  const extras = body.optionalObject(key, "MessageExtras")
  if (extras === undefined) return undefined
  const inner = Body.nested(extras, "core")
  const headers = inner.optionalObject("headers", "a map")
  if (headers !== undefined) {
    for (const v of Object.values(headers)) {
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        inner.error("data did not match any variant of untagged enum ExtrasValue")
      }
    }
  }
  inner.optionalBoolean("ephemeral")
  inner.optionalBoolean("echo")
  inner.optionalString("idempotencyKey")
  inner.optionalObject("ai", "AiExtras")
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(extras)) {
    if (v === null && ["headers", "ephemeral", "echo", "idempotencyKey", "ai"].includes(k)) continue
    out[k] = v
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Channel names (section 4), for an app without configured namespaces
// ---------------------------------------------------------------------------------------------

const TYPE_PREFIXES = [
  "private-encrypted-cache-",
  "private-cache-",
  "presence-cache-",
  "cache-",
  "private-encrypted-",
  "presence-",
  "private-"
]

const logicalName = (channel: string): string => {
  for (const prefix of TYPE_PREFIXES) if (channel.startsWith(prefix)) return channel.slice(prefix.length)
  return channel
}

const VALID_CHANNEL_CHAR = /[A-Za-z0-9\-_=@,;.:#]/
const VALID_USER_ID = /^[A-Za-z0-9\-_=@.]+$/

const rustChar = (c: string): string => {
  switch (c) {
    case "'":
      return "'\\''"
    case "\\":
      return "'\\\\'"
    case "\n":
      return "'\\n'"
    case "\r":
      return "'\\r'"
    case "\t":
      return "'\\t'"
    case "\0":
      return "'\\0'"
    default: {
      const code = c.codePointAt(0) ?? 0
      return code < 0x20 || code === 0x7f ? `'\\u{${code.toString(16)}}'` : `'${c}'`
    }
  }
}

/**
 * Why a channel name fails the server's path validation, or `undefined` when it passes. The
 * emulator configures no namespaces, so any `namespace:` prefix is unknown and user-limited
 * (`base#u1`) channels are refused, exactly as a server without namespace configuration does.
 *
 * @since 0.1.0
 */
export const channelNameError = (channel: string, limits: Limits): string | undefined => {
  const logical = logicalName(channel)
  const hash = logical.indexOf("#")
  const withoutUsers = hash === -1 ? logical : logical.slice(0, hash)
  const colon = logical.indexOf(":")
  if (withoutUsers.includes(":")) {
    const namespace = colon > 0 ? logical.slice(0, colon) : ""
    return `Unknown channel namespace '${namespace}'`
  }
  if (byteLength(channel) > limits.maxChannelNameLength) {
    return `Channel name too long. Max length is ${limits.maxChannelNameLength}`
  }
  const badChars = [...channel].filter((c) => !VALID_CHANNEL_CHAR.test(c))
  if (badChars.length > 0) {
    return `Channel name contains invalid characters: '${channel}' (invalid chars: [${badChars.map(rustChar).join(", ")}])`
  }
  if (hash > 0) {
    if ((logical.match(/#/g) ?? []).length > 1) return `Channel '${channel}' contains multiple user limit separators`
    const raw = logical.slice(hash + 1)
    if (raw === "") return `Channel '${channel}' has an empty user limit segment`
    const users = raw.split(",").map((u) => u.trim())
    if (users.some((u) => u === "")) {
      return `Channel '${channel}' contains an empty user id in its user limit segment`
    }
    if (users.some((u) => !VALID_USER_ID.test(u))) {
      return `Channel '${channel}' contains an invalid user id in its user limit segment`
    }
    return `Channel '${channel}' uses user-limited syntax but the namespace does not allow it`
  }
  return undefined
}

/**
 * Rejects with 400 `invalid_input` when the path channel fails validation.
 *
 * @since 0.1.0
 */
export const requireValidChannel = (channel: string, app: AppHandle): void => {
  const error =
    app.channelNameError === undefined ? channelNameError(channel, app.limits) : app.channelNameError(channel)
  if (error !== undefined) invalid(error)
}

/**
 * The server's check for serial-like identifiers (message, version and annotation serials):
 * non-blank, no whitespace, at most `max` bytes.
 *
 * @since 0.1.0
 */
export const identifierError = (label: string, value: string, max: number): string | undefined => {
  if (value.trim() === "") return `${label} must not be empty`
  if (/\s/u.test(value)) return `${label} must not contain whitespace`
  if (byteLength(value) > max) return `${label} must be at most ${max} bytes`
  return undefined
}

/**
 * Rejects a message serial the way `MessageSerial::new` does.
 *
 * @since 0.1.0
 */
export const requireMessageSerial = (raw: string): string => {
  const error = identifierError("message_serial", raw, 128)
  return error === undefined ? raw : invalid(error)
}
