/**
 * The digests the SDK signs and checks with (HMAC-SHA256, MD5, SHA-256), in two implementations
 * with one contract:
 *
 * - `node`, over `node:crypto`: the fastest on Node (native, SHA-NI), also on Bun, Deno and
 *   Workers with `nodejs_compat`;
 * - `portable`: the SDK's own SHA-256 and HMAC-SHA256 (`./Sha256.ts`) and `@noble/hashes`' MD5, plain
 *   JavaScript, on every runtime.
 *
 * {@link digest} is `node` where the runtime hands out `node:crypto` synchronously
 * (`process.getBuiltinModule`, Node >= 22.3, Bun, Deno), and `portable` elsewhere. Nothing here
 * imports a Node built-in, so a bundle for `platform=neutral` holds no `node:` import and runs
 * on Workers without `nodejs_compat`.
 *
 * @since 0.1.0
 */
import { md5 } from "@noble/hashes/legacy.js"
import * as Hex from "effect/encoding/Hex"
import { utf8Bytes } from "./Bytes.ts"
import { prepareHmac, sha256 } from "./Sha256.ts"

/**
 * One implementation of the digests. Text is hashed as its UTF-8 bytes; hex is lowercase.
 *
 * @since 0.1.0
 */
export interface Digests {
  /** Which implementation this is. */
  readonly name: "node" | "portable"
  /** MD5, hex. */
  readonly md5Hex: (data: string | Uint8Array) => string
  /** SHA-256, the 32 bytes. */
  readonly sha256: (data: string | Uint8Array) => Uint8Array
  /** SHA-256, hex. */
  readonly sha256Hex: (data: string | Uint8Array) => string
  /** HMAC-SHA256 under a key, hex. */
  readonly hmacSha256Hex: (key: string | Uint8Array, data: string | Uint8Array) => string
  /** HMAC-SHA256 with the key prepared once: the function that signs each message, hex. */
  readonly preparedHmacSha256Hex: (key: string | Uint8Array) => (data: string | Uint8Array) => string
}

const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === "string" ? utf8Bytes(data) : data)

/**
 * The digests in plain JavaScript: every runtime. SHA-256 and HMAC-SHA256 are the SDK's own
 * (`./Sha256.ts`, several times faster than noble's on the short messages it signs), MD5 is
 * `@noble/hashes`'.
 *
 * @since 0.1.0
 */
export const portable: Digests = {
  name: "portable",
  md5Hex: (data) => Hex.encode(md5(bytesOf(data))),
  sha256,
  sha256Hex: (data) => Hex.encode(sha256(data)),
  hmacSha256Hex: (key, data) => prepareHmac(bytesOf(key))(data),
  preparedHmacSha256Hex: (key) => prepareHmac(bytesOf(key))
}

/**
 * What {@link node} uses of a `node:crypto` module.
 *
 * @since 0.1.0
 */
export interface NodeCrypto {
  /** One-shot digest (Node >= 21.7). */
  readonly hash: {
    (algorithm: string, data: string | Uint8Array, outputEncoding: "hex" | "binary"): string
    (algorithm: string, data: string | Uint8Array, outputEncoding: "buffer"): Uint8Array
  }
  /** An `Hmac` object. */
  readonly createHmac: (
    algorithm: string,
    key: string | Uint8Array
  ) => { update(data: string | Uint8Array): { digest(encoding: "hex"): string } }
}

const BLOCK = 64
const utf8 = new TextEncoder()

/**
 * A SHA-256 digest written into `into` at `offset`. The digest comes back as a `"binary"`
 * (latin1) string, one character per byte, and is copied over: asking for a `Buffer` instead
 * allocates a fresh ArrayBuffer, which costs twice the hash of a short message.
 */
const sha256Into = (crypto: NodeCrypto, data: string | Uint8Array, into: Uint8Array, offset: number): void => {
  const digest = crypto.hash("sha256", data, "binary")
  for (let i = 0; i < 32; i++) into[offset + i] = digest.charCodeAt(i)
}

/**
 * HMAC-SHA256 with the key prepared once (RFC 2104): the padded inner and outer keys are
 * computed up front, and each call is two one-shot `crypto.hash` calls over reused buffers,
 * instead of building an `Hmac` object (which looks up the digest and allocates a context on
 * every call). A string message is written as UTF-8, as `Hmac#update` does.
 */
const nodePreparedHmac = (crypto: NodeCrypto, secret: Uint8Array): ((data: string | Uint8Array) => string) => {
  const key = secret.length > BLOCK ? crypto.hash("sha256", secret, "buffer") : secret
  const inner = new Uint8Array(BLOCK).fill(0x36)
  const outer = new Uint8Array(BLOCK + 32).fill(0x5c)
  for (let i = 0; i < key.length; i++) {
    inner[i] = inner[i]! ^ key[i]!
    outer[i] = outer[i]! ^ key[i]!
  }
  let scratch = new Uint8Array(BLOCK + 512)
  let tail = scratch.subarray(BLOCK)
  scratch.set(inner)
  return (data) => {
    const max = BLOCK + (typeof data === "string" ? data.length * 3 : data.length)
    if (scratch.length < max) {
      scratch = new Uint8Array(max * 2)
      tail = scratch.subarray(BLOCK)
      scratch.set(inner)
    }
    let length = data.length
    if (typeof data === "string") length = utf8.encodeInto(data, tail).written
    else scratch.set(data, BLOCK)
    sha256Into(crypto, scratch.subarray(0, BLOCK + length), outer, BLOCK)
    return crypto.hash("sha256", outer, "hex")
  }
}

/**
 * The digests over a `node:crypto` module.
 *
 * @since 0.1.0
 */
export const node = (crypto: NodeCrypto): Digests => ({
  name: "node",
  md5Hex: (data) => crypto.hash("md5", data, "hex"),
  sha256: (data) => {
    const digest = new Uint8Array(32)
    sha256Into(crypto, data, digest, 0)
    return digest
  },
  sha256Hex: (data) => crypto.hash("sha256", data, "hex"),
  hmacSha256Hex: (key, data) => crypto.createHmac("sha256", key).update(data).digest("hex"),
  preparedHmacSha256Hex: (key) => nodePreparedHmac(crypto, bytesOf(key))
})

/**
 * `node:crypto` when the runtime hands it out synchronously and it has what {@link node} uses
 * (`hash`, Node >= 21.7), else `undefined`.
 *
 * @since 0.1.0
 */
export const nodeCrypto = (): NodeCrypto | undefined => {
  const getBuiltinModule = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule
  if (typeof getBuiltinModule !== "function") return undefined
  let crypto: Partial<NodeCrypto> | undefined
  try {
    crypto = getBuiltinModule("node:crypto") as Partial<NodeCrypto> | undefined
  } catch {
    return undefined
  }
  return typeof crypto?.hash === "function" && typeof crypto.createHmac === "function"
    ? (crypto as NodeCrypto)
    : undefined
}

/**
 * The digests of this runtime: {@link node} where `node:crypto` is at hand, else {@link portable}.
 *
 * @since 0.1.0
 */
export const digest: Digests = /*#__PURE__*/ (() => {
  const crypto = nodeCrypto()
  return crypto === undefined ? portable : node(crypto)
})()

/**
 * Whether two strings are equal, in time that depends on their lengths only (for signatures:
 * the time taken does not tell how much of a forged one was right).
 *
 * @since 0.1.0
 */
export const equalConstantTime = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Whether `given` is the hex digest `expected` (lower case, as these digests write it) in any
 * letter case, in time that depends on the lengths only: {@link equalConstantTime} that reads
 * `A`-`F` as `a`-`f`, without first making a lower-case copy.
 *
 * @since 0.2.0
 */
export const equalHexConstantTime = (given: string, expected: string): boolean => {
  if (given.length !== expected.length) return false
  let diff = 0
  for (let i = 0; i < given.length; i++) {
    const c = given.charCodeAt(i)
    diff |= (c >= 0x41 && c <= 0x46 ? c | 0x20 : c) ^ expected.charCodeAt(i)
  }
  return diff === 0
}
