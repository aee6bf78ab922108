import { createHash, createHmac, randomBytes } from "node:crypto"
import { describe, expect, it } from "vitest"
import { prepareHmac, sha256 } from "../../src/internal/Sha256.ts"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"))

// Every length around the padding boundaries (55/56 bytes fit one block or spill into two).
const lengths = [...Array.from({ length: 200 }, (_, i) => i), 447, 448, 511, 512, 4096, 100_000]

describe("SHA-256", () => {
  it("matches the FIPS 180-4 examples", () => {
    expect(hex(sha256(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    expect(hex(sha256("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
  })

  it("matches node:crypto on bytes of every length near a block boundary", () => {
    for (const length of lengths) {
      const bytes = new Uint8Array(randomBytes(length))
      expect(hex(sha256(bytes)), `length ${length}`).toBe(createHash("sha256").update(bytes).digest("hex"))
    }
  })
})

describe("HMAC-SHA256 with a prepared key", () => {
  // RFC 4231, test cases 1, 2, 4, 6 and 7 (6 and 7 have a 131-byte key, hashed first).
  const vectors = [
    ["0b".repeat(20), "4869205468657265", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    [
      "4a656665",
      "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    ],
    [
      "0102030405060708090a0b0c0d0e0f10111213141516171819",
      "cd".repeat(50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
    ],
    [
      "aa".repeat(131),
      "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    ],
    [
      "aa".repeat(131),
      "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
    ]
  ] as const

  it("matches RFC 4231", () => {
    for (const [key, data, mac] of vectors) expect(prepareHmac(fromHex(key))(fromHex(data))).toBe(mac)
  })

  it("matches node:crypto for keys and messages of every length, the same function reused", () => {
    for (const keyLength of [0, 1, 6, 32, 63, 64, 65, 200]) {
      const key = new Uint8Array(randomBytes(keyLength))
      const mac = prepareHmac(key)
      for (const length of lengths) {
        const bytes = new Uint8Array(randomBytes(length))
        const text = Buffer.from(bytes).toString("base64").slice(0, length)
        expect(mac(bytes)).toBe(createHmac("sha256", key).update(bytes).digest("hex"))
        expect(mac(text)).toBe(createHmac("sha256", key).update(text).digest("hex"))
      }
    }
  })

  it("MACs a string as its UTF-8 bytes, a lone surrogate as U+FFFD (as node:crypto does)", () => {
    const mac = prepareHmac(new TextEncoder().encode("secret"))
    for (const text of ["é", 'presence-ü:{"user_id":"😀"}', "a\uD800b", "\uDFFF", "日本語".repeat(300)]) {
      expect(mac(text)).toBe(createHmac("sha256", "secret").update(text).digest("hex"))
    }
  })

  it("keeps no state between messages: a long one does not change the next short one's MAC", () => {
    const mac = prepareHmac(new TextEncoder().encode("secret"))
    const short = mac("1234.5678:private-a")
    mac("x".repeat(50_000))
    expect(mac("1234.5678:private-a")).toBe(short)
  })
})
