/**
 * The two digest implementations, `node` (node:crypto) and `portable` (@noble/hashes), against
 * the published test vectors (RFC 4231, RFC 1321, FIPS 180-2), against `pusher`'s own HMAC and
 * MD5, and against each other on generated text and bytes; and which one a runtime gets.
 */
import * as NodeCrypto from "node:crypto"
import { createRequire } from "node:module"
import { assert, describe, it } from "@effect/vitest"
import * as Digest from "../../src/internal/Digest.ts"
import * as G from "../support/generators.ts"

const require = createRequire(import.meta.url)
const PusherToken = require("pusher/lib/token.js") as new (
  key: string,
  secret: string
) => { sign: (body: string) => string }
const pusherMd5 = (require("pusher/lib/util.js") as { getMD5: (body: string) => string }).getMD5

const implementations = [Digest.portable, Digest.node(NodeCrypto)] as const

const bytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16))
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")

/** RFC 4231 §4: HMAC-SHA256 test cases 1, 2, 3, 4, 6 and 7 (case 5 truncates the output). */
const hmacVectors: ReadonlyArray<readonly [key: Uint8Array, data: Uint8Array | string, mac: string]> = [
  [new Uint8Array(20).fill(0x0b), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
  [
    new TextEncoder().encode("Jefe"),
    "what do ya want for nothing?",
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
  ],
  [
    new Uint8Array(20).fill(0xaa),
    new Uint8Array(50).fill(0xdd),
    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
  ],
  [
    bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"),
    new Uint8Array(50).fill(0xcd),
    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
  ],
  [
    new Uint8Array(131).fill(0xaa),
    "Test Using Larger Than Block-Size Key - Hash Key First",
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
  ],
  [
    new Uint8Array(131).fill(0xaa),
    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
  ]
]

/** RFC 1321 appendix A.5. */
const md5Vectors: ReadonlyArray<readonly [string, string]> = [
  ["", "d41d8cd98f00b204e9800998ecf8427e"],
  ["a", "0cc175b9c0f1b6a831c399e269772661"],
  ["abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
  [
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "57edf4a22be3c955ac49da2e2107b67a"
  ]
]

/** FIPS 180-2 appendix B, and the empty message. */
const sha256Vectors: ReadonlyArray<readonly [string, string]> = [
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
  ]
]

describe.each(implementations)("the $name digests", (d) => {
  it("HMAC-SHA256: the RFC 4231 vectors, one-shot and with the key prepared", () => {
    for (const [key, data, mac] of hmacVectors) {
      assert.strictEqual(d.hmacSha256Hex(key, data), mac)
      assert.strictEqual(d.preparedHmacSha256Hex(key)(data), mac)
    }
  })

  it("a prepared key signs message after message, short and long, as a fresh one would", () => {
    const sign = d.preparedHmacSha256Hex("app-secret")
    for (const [i, message] of ["", "a", "é", "x".repeat(600), "€".repeat(400), "b", "x".repeat(5000), "c"].entries()) {
      assert.strictEqual(
        sign(message),
        NodeCrypto.createHmac("sha256", "app-secret").update(message).digest("hex"),
        `#${i}`
      )
    }
  })

  it("MD5: the RFC 1321 vectors", () => {
    for (const [data, digest] of md5Vectors) assert.strictEqual(d.md5Hex(data), digest)
  })

  it("SHA-256: the FIPS 180-2 vectors, as hex and as bytes", () => {
    for (const [data, digest] of sha256Vectors) {
      assert.strictEqual(d.sha256Hex(data), digest)
      assert.deepStrictEqual(d.sha256(data), bytes(digest))
    }
  })

  it("signs what pusher signs, and hashes bodies as pusher does, on generated text", () => {
    for (const [i, { secret, message }] of G.cases(12, 300, (gen) => ({
      secret: G.text(gen, 1, 80),
      message: G.text(gen, 0, 300)
    })).entries()) {
      const pusher = new PusherToken("key", secret).sign(message)
      assert.strictEqual(d.hmacSha256Hex(secret, message), pusher, `case ${i}`)
      assert.strictEqual(d.preparedHmacSha256Hex(secret)(message), pusher, `case ${i}`)
      assert.strictEqual(d.md5Hex(message), pusherMd5(message), `case ${i}`)
    }
  })

  it("text with a lone surrogate is hashed as its UTF-8 form (U+FFFD), as node:crypto does", () => {
    for (const [i, message] of G.cases(13, 100, (gen) => G.text(gen, 1, 60, { loneSurrogates: true })).entries()) {
      const utf8 = Buffer.from(message, "utf8")
      assert.strictEqual(d.preparedHmacSha256Hex("s")(message), d.hmacSha256Hex("s", utf8), `case ${i}`)
      assert.strictEqual(d.md5Hex(message), NodeCrypto.createHash("md5").update(utf8).digest("hex"), `case ${i}`)
    }
  })
})

describe("node and portable", () => {
  it("agree on generated bytes of every length around the 64-byte block", () => {
    const [portable, node] = implementations
    for (const [i, { key, data }] of G.cases(14, 200, (gen) => ({
      key: gen.bytes(gen.int(0, 150)),
      data: gen.bytes(gen.int(0, 200))
    })).entries()) {
      assert.strictEqual(portable.hmacSha256Hex(key, data), node.hmacSha256Hex(key, data), `case ${i}`)
      assert.strictEqual(portable.preparedHmacSha256Hex(key)(data), node.preparedHmacSha256Hex(key)(data), `case ${i}`)
      assert.strictEqual(portable.md5Hex(data), node.md5Hex(data), `case ${i}`)
      assert.strictEqual(hexOf(portable.sha256(data)), node.sha256Hex(data), `case ${i}`)
    }
  })
})

describe("which digests a runtime gets", () => {
  it("the digests in use are the ones this test project runs with", () => {
    // `node` in the default project; `portable` where the runtime has no node:crypto (see vitest.config.ts).
    assert.strictEqual(Digest.digest.name, process.env.EXPECTED_DIGESTS)
  })

  const withGetBuiltinModule = <A>(replacement: unknown, f: () => A): A => {
    const original = Object.getOwnPropertyDescriptor(process, "getBuiltinModule")!
    Object.defineProperty(process, "getBuiltinModule", { value: replacement, configurable: true, writable: true })
    try {
      return f()
    } finally {
      Object.defineProperty(process, "getBuiltinModule", original)
    }
  }

  it("node:crypto when the runtime hands it out with a one-shot hash", () => {
    assert.strictEqual(
      withGetBuiltinModule(
        (id: string) => (id === "node:crypto" ? NodeCrypto : undefined),
        () => Digest.nodeCrypto()
      ),
      NodeCrypto
    )
  })

  it("none without process.getBuiltinModule, or when it throws, or without crypto.hash", () => {
    assert.isUndefined(withGetBuiltinModule(undefined, () => Digest.nodeCrypto()))
    assert.isUndefined(
      withGetBuiltinModule(
        () => {
          throw new Error("no such module")
        },
        () => Digest.nodeCrypto()
      )
    )
    assert.isUndefined(
      withGetBuiltinModule(
        () => ({ createHmac: NodeCrypto.createHmac }),
        () => Digest.nodeCrypto()
      )
    )
  })
})

describe("equalConstantTime", () => {
  it("is string equality", () => {
    const pairs: ReadonlyArray<readonly [string, string]> = [
      ["", ""],
      ["a", "a"],
      ["a", "b"],
      ["ab", "a"],
      ["abc", "abd"],
      ["é", "e"],
      ["\u{1F600}", "\u{1F600}"]
    ]
    for (const [a, b] of pairs) assert.strictEqual(Digest.equalConstantTime(a, b), a === b, `${a} ${b}`)
  })
})

describe("equalHexConstantTime", () => {
  it("is equality of a hex string, in any letter case, with a lower-case one; nothing else is read as hex", () => {
    const hex = Digest.digest.sha256Hex("body")
    assert.isTrue(Digest.equalHexConstantTime(hex, hex))
    assert.isTrue(Digest.equalHexConstantTime(hex.toUpperCase(), hex))
    assert.isFalse(Digest.equalHexConstantTime(hex.slice(1), hex))
    assert.isFalse(Digest.equalHexConstantTime(`${hex}0`, hex))
    // Every character in every position: only the digit itself, or its capital letter, is equal.
    for (let code = 0; code < 0x180; code++) {
      const c = String.fromCharCode(code)
      for (const at of [0, 31, 63]) {
        const given = hex.slice(0, at) + c + hex.slice(at + 1)
        assert.strictEqual(Digest.equalHexConstantTime(given, hex), c.toLowerCase() === hex[at], `${code} at ${at}`)
      }
    }
  })
})
