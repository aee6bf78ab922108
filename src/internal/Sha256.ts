/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain JavaScript, for the short messages the
 * SDK signs on every call: a channel authorization, a request's string to sign, a webhook body.
 *
 * A prepared HMAC hashes the key's inner and outer pad blocks once, when it is made; each message
 * then costs only its own blocks and one outer block, with no object, context or buffer allocated
 * per call. For such messages that is faster than `node:crypto`'s `createHmac` (whose cost is mostly
 * crossing into native code and building an `Hmac` per call), and it needs no Node built-in.
 *
 * @since 0.1.0
 */

/** The round constants. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])

/** The initial hash value. */
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
])

const BLOCK = 64

/** The message schedule, shared: everything here runs to completion synchronously. */
const W = new Int32Array(64)

/** Folds the 64-byte block at `offset` of `bytes` into `state`. */
const compress = (state: Int32Array, bytes: Uint8Array, offset: number): void => {
  const w = W
  for (let i = 0, j = offset; i < 16; i++, j += 4) {
    w[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!
    const b = w[i - 2]!
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
  }
  let a = state[0]!
  let b = state[1]!
  let c = state[2]!
  let d = state[3]!
  let e = state[4]!
  let f = state[5]!
  let g = state[6]!
  let h = state[7]!
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  state[0] = (state[0]! + a) | 0
  state[1] = (state[1]! + b) | 0
  state[2] = (state[2]! + c) | 0
  state[3] = (state[3]! + d) | 0
  state[4] = (state[4]! + e) | 0
  state[5] = (state[5]! + f) | 0
  state[6] = (state[6]! + g) | 0
  state[7] = (state[7]! + h) | 0
}

const encoder = new TextEncoder()

/** The scratch buffer messages are written and padded in; grown when a message needs more. */
let scratch = new Uint8Array(1024)

/**
 * Writes `message` (UTF-8 for a string) into the scratch buffer with SHA-256's padding for a
 * stream that already holds `prefixBytes` hashed bytes; answers the padded length.
 */
const pad = (message: string | Uint8Array, prefixBytes: number): number => {
  let n: number
  if (typeof message === "string") {
    const length = message.length
    if (scratch.length < length * 3 + 72) scratch = new Uint8Array(length * 3 + 1024)
    n = 0
    for (; n < length; n++) {
      const code = message.charCodeAt(n)
      if (code > 0x7f) break
      scratch[n] = code
    }
    if (n < length) n = encoder.encodeInto(message, scratch).written
  } else {
    n = message.length
    if (scratch.length < n + 72) scratch = new Uint8Array(n + 1024)
    scratch.set(message)
  }
  const total = ((n + 8) >>> 6) * BLOCK + BLOCK
  scratch[n] = 0x80
  scratch.fill(0, n + 1, total - 8)
  const bits = (prefixBytes + n) * 8
  const high = Math.floor(bits / 0x100000000)
  scratch[total - 8] = high >>> 24
  scratch[total - 7] = high >>> 16
  scratch[total - 6] = high >>> 8
  scratch[total - 5] = high
  scratch[total - 4] = bits >>> 24
  scratch[total - 3] = bits >>> 16
  scratch[total - 2] = bits >>> 8
  scratch[total - 1] = bits
  return total
}

const digestInto = (state: Int32Array, message: string | Uint8Array, prefixBytes: number): void => {
  const total = pad(message, prefixBytes)
  for (let offset = 0; offset < total; offset += BLOCK) compress(state, scratch, offset)
}

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const toHex = (state: Int32Array): string => {
  let out = ""
  for (let i = 0; i < 8; i++) {
    const v = state[i]!
    out += HEX[v >>> 24]! + HEX[(v >>> 16) & 0xff]! + HEX[(v >>> 8) & 0xff]! + HEX[v & 0xff]!
  }
  return out
}

const toBytes = (state: Int32Array, into: Uint8Array, offset: number): Uint8Array => {
  for (let i = 0; i < 8; i++) {
    const v = state[i]!
    into[offset + i * 4] = v >>> 24
    into[offset + i * 4 + 1] = v >>> 16
    into[offset + i * 4 + 2] = v >>> 8
    into[offset + i * 4 + 3] = v
  }
  return into
}

/**
 * The SHA-256 digest of a message (a string is hashed as its UTF-8 bytes).
 *
 * @since 0.1.0
 */
export const sha256 = (message: string | Uint8Array): Uint8Array => {
  const state = IV.slice()
  digestInto(state, message, 0)
  return toBytes(state, new Uint8Array(32), 0)
}

/**
 * HMAC-SHA256 under `key`, prepared once: the returned function answers the lowercase hex MAC of
 * each message (a string is MACed as its UTF-8 bytes).
 *
 * @since 0.1.0
 */
export const prepareHmac = (key: Uint8Array): ((message: string | Uint8Array) => string) => {
  const block = new Uint8Array(BLOCK)
  block.set(key.length > BLOCK ? sha256(key) : key)
  const inner = IV.slice()
  const outer = IV.slice()
  const innerPad = block.map((byte) => byte ^ 0x36)
  const outerPad = block.map((byte) => byte ^ 0x5c)
  compress(inner, innerPad, 0)
  compress(outer, outerPad, 0)
  const state = new Int32Array(8)
  // The outer message is the 32-byte inner digest: one block, its padding fixed.
  const outerBlock = new Uint8Array(BLOCK)
  outerBlock[32] = 0x80
  outerBlock[62] = ((BLOCK + 32) * 8) >>> 8
  outerBlock[63] = ((BLOCK + 32) * 8) & 0xff
  return (message) => {
    state.set(inner)
    digestInto(state, message, BLOCK)
    toBytes(state, outerBlock, 0)
    state.set(outer)
    compress(state, outerBlock, 0)
    return toHex(state)
  }
}
