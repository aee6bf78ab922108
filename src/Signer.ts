/**
 * Signing, exactly as the Sockudo server verifies it:
 *
 * - REST requests: HMAC-SHA256 over `METHOD\npath\nquery`, where `path` is the percent-encoded
 *   path as sent and `query` lists every parameter but `auth_signature`, keys lower-cased and
 *   sorted byte-wise, values decoded. `body_md5` is signed on every POST (also for an empty
 *   body) and never on GET or DELETE.
 * - Channel auth: `socket_id:channel`, plus `:channel_data` for `presence-` channels only.
 * - User sign-in: `socket_id::user::user_data`.
 * - Webhooks: HMAC-SHA256 of the raw body.
 *
 * Everything here is pure and synchronous; the secret is unwrapped once, when the layer is built.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { compareUtf8, utf8Bytes } from "./internal/Bytes.ts"
import { digest } from "./internal/Digest.ts"
import { SockudoConfig } from "./SockudoConfig.ts"

/**
 * A query parameter as the caller means it: raw, not percent-encoded.
 *
 * @since 0.1.0
 */
export type QueryParam = readonly [key: string, value: string]

/**
 * Query keys the signer sets itself; callers may not pass them (in any letter case).
 *
 * @since 0.1.0
 */
export const reservedQueryKeys: ReadonlySet<string> = new Set([
  "auth_key",
  "auth_timestamp",
  "auth_version",
  "auth_signature",
  "body_md5"
])

/**
 * Lowercase hex MD5 of the exact body bytes (`""` for an empty body).
 *
 * @since 0.1.0
 */
export const md5Hex = (body: string | Uint8Array): string => digest.md5Hex(body)

/**
 * Lowercase hex HMAC-SHA256 (a string key or message is taken as its UTF-8 bytes).
 *
 * @since 0.1.0
 */
export const hmacHex = (key: string | Uint8Array, data: string | Uint8Array): string => digest.hmacSha256Hex(key, data)

/**
 * The exact string the server signs for a request: `METHOD\npath\nk=v&k=v`, keys lower-cased and
 * byte-sorted, values raw. `params` must already hold the auth parameters.
 *
 * @since 0.1.0
 */
export const stringToSign = (method: string, path: string, params: ReadonlyArray<QueryParam>): string => {
  const entries = params.map(([k, v]) => [k.toLowerCase(), v] as const)
  entries.sort((a, b) => compareUtf8(a[0], b[0]))
  let query = ""
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!
    query += i === 0 ? `${k}=${v}` : `&${k}=${v}`
  }
  return `${method.toUpperCase()}\n${path}\n${query}`
}

/**
 * Why a caller's query parameters cannot be signed (a reserved or repeated key), or `undefined`
 * when they can.
 *
 * @since 0.1.0
 */
export const checkQueryParams = (params: ReadonlyArray<QueryParam>): string | undefined => {
  const seen = new Set<string>()
  for (const [key] of params) {
    const lower = key.toLowerCase()
    if (reservedQueryKeys.has(lower)) return `query parameter '${key}' is set by the signer and cannot be overridden`
    if (seen.has(lower)) return `query parameter '${key}' appears twice (keys are compared case-insensitively)`
    if (key.length === 0) return "query parameter keys must not be empty"
    seen.add(lower)
  }
  return undefined
}

const encodeWellFormed = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/**
 * Percent-encodes a value for a URL query or path segment (everything outside RFC 3986
 * unreserved characters). A lone UTF-16 surrogate is sent as U+FFFD, the character UTF-8
 * encoding (and so the signature's HMAC input) turns it into.
 *
 * @since 0.1.0
 */
export const encode = (value: string): string => {
  try {
    return encodeWellFormed(value)
  } catch {
    // encodeURIComponent throws URIError on a lone surrogate.
    return encodeWellFormed(value.replace(/\p{Surrogate}/gu, "\uFFFD"))
  }
}

/**
 * The string a channel authorization signs: `socket_id:channel`, with `:channel_data` appended
 * only for `presence-` channels (the server ignores channel data elsewhere).
 *
 * @since 0.1.0
 */
export const channelAuthString = (socketId: string, channel: string, channelData?: string): string =>
  channelData !== undefined && channel.startsWith("presence-")
    ? `${socketId}:${channel}:${channelData}`
    : `${socketId}:${channel}`

/**
 * The string a user sign-in signs: `socket_id::user::user_data`.
 *
 * @since 0.1.0
 */
export const userAuthString = (socketId: string, userData: string): string => `${socketId}::user::${userData}`

/**
 * The Signer service.
 *
 * @since 0.1.0
 */
export interface Service {
  /** The app key the signatures are made for. */
  readonly key: string
  /**
   * The wire query string (without `?`) of one attempt: the caller's params (encoded), the auth
   * params, `body_md5` when given (POST only) and `auth_signature` last.
   */
  readonly signQuery: (
    method: string,
    path: string,
    params: ReadonlyArray<QueryParam>,
    bodyMd5: string | undefined,
    timestampSeconds: number
  ) => string
  /** `<key>:<hex>` for a private, presence or encrypted channel subscription. */
  readonly authorizeChannel: (socketId: string, channel: string, channelData?: string) => string
  /** `<key>:<hex>` for a `pusher:signin`. */
  readonly authenticateUser: (socketId: string, userData: string) => string
  /** The `X-Pusher-Signature` of a webhook body. */
  readonly signWebhook: (body: string | Uint8Array) => string
}

/**
 * @since 0.1.0
 */
export class Signer extends Context.Service<Signer, Service>()("effect-sockudo/Signer") {}

/**
 * A signer for a key and secret, with the HMAC key prepared once.
 *
 * @since 0.1.0
 */
export const makeUnsafe = (key: string, secret: Redacted.Redacted<string>): Service => {
  const mac = digest.preparedHmacSha256Hex(utf8Bytes(Redacted.value(secret)))
  const authPrefix = `auth_key=${encode(key)}`
  return {
    key,
    signQuery(method, path, params, bodyMd5, timestampSeconds) {
      const timestamp = String(timestampSeconds)
      // The auth parameters after the key, written once for the query sent and the string signed.
      let auth = `&auth_timestamp=${timestamp}&auth_version=1.0`
      if (bodyMd5 !== undefined) auth += `&body_md5=${bodyMd5}`
      let toSign: string
      if (params.length === 0) {
        // Only the auth parameters, whose byte order is the order they are written in here.
        toSign = `${method.toUpperCase()}\n${path}\nauth_key=${key}${auth}`
      } else {
        const signed: Array<QueryParam> = [
          ...params,
          ["auth_key", key],
          ["auth_timestamp", timestamp],
          ["auth_version", "1.0"]
        ]
        if (bodyMd5 !== undefined) signed.push(["body_md5", bodyMd5])
        toSign = stringToSign(method, path, signed)
      }
      const signature = mac(toSign)
      let query = authPrefix + auth
      for (const [k, v] of params) query += `&${encode(k)}=${encode(v)}`
      return `${query}&auth_signature=${signature}`
    },
    authorizeChannel: (socketId, channel, channelData) =>
      `${key}:${mac(channelAuthString(socketId, channel, channelData))}`,
    authenticateUser: (socketId, userData) => `${key}:${mac(userAuthString(socketId, userData))}`,
    signWebhook: mac
  }
}

/**
 * The Signer of the configured app.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Signer, never, SockudoConfig> = Layer.effect(
  Signer,
  Effect.map(SockudoConfig, (config) => makeUnsafe(config.key, config.secret))
)
