/**
 * UTF-8 bytes without Node's `Buffer` (`utf8Bytes`), the faster bytes of sent text (`utf8Sent`),
 * and the UTF-8 byte order of strings, each against Node's `Buffer`.
 */
import { assert, describe, it } from "@effect/vitest"
import { compareUtf8, utf8Bytes, utf8Sent } from "../../src/internal/Bytes.ts"
import * as G from "../support/generators.ts"

const samples = [
  "",
  "plain ascii",
  '{"name":"é","data":"日本語"}',
  "emoji 😀",
  "lone \ud800 surrogate",
  "x".repeat(5000)
]

describe("utf8Bytes and utf8Sent", () => {
  it("give the bytes Node's Buffer gives, a lone surrogate as U+FFFD", () => {
    const generated = G.cases(16, 300, (gen) => G.text(gen, 0, 40))
    for (const text of [...samples, ...generated]) {
      const expected = [...Buffer.from(text, "utf8")]
      assert.deepStrictEqual([...utf8Bytes(text)], expected, text.slice(0, 20))
      assert.deepStrictEqual([...utf8Sent(text)], expected, text.slice(0, 20))
    }
  })

  it("utf8Sent's bytes are a view of exactly the text's bytes, whatever buffer they live in", () => {
    const bytes = utf8Sent("abc")
    assert.instanceOf(bytes, Uint8Array)
    assert.strictEqual(bytes.byteLength, 3)
    assert.strictEqual(new TextDecoder().decode(bytes), "abc")
  })
})

describe("compareUtf8", () => {
  it("orders strings as their UTF-8 bytes, as Buffer.compare does", () => {
    for (const [i, [a, b]] of G.cases(15, 300, (gen) => [G.text(gen, 0, 6), G.text(gen, 0, 6)] as const).entries()) {
      assert.strictEqual(
        Math.sign(compareUtf8(a, b)),
        Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")),
        `case ${i}`
      )
    }
    // UTF-16 order puts U+FF61 after U+1F600's high surrogate; UTF-8 byte order puts it before.
    assert.isBelow(compareUtf8("\uFF61", "\u{1F600}"), 0)
  })
})
