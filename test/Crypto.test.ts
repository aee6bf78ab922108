/**
 * Conformance of end-to-end encryption (`src/Crypto.ts`) against independent implementations:
 * - `tweetnacl`'s secretbox (the implementation pusher-js and the pusher package use) seals what
 *   we open and opens what we seal, byte for byte;
 * - the channel key is recomputed here with `node:crypto` directly, and with the `pusher`
 *   package's own `channelSharedSecret`;
 * - the wire format `{"nonce":"<base64>","ciphertext":"<base64>"}` is checked as an exact string.
 * Fixed vectors of the server reference (§12) are in `Vectors.test.ts`.
 */
import { createHash } from "node:crypto"
import { inspect } from "node:util"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Result } from "effect"
import Pusher from "pusher"
import nacl from "tweetnacl"
import { Crypto, SockudoConfig } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"
import * as G from "./support/generators.ts"
import { layer, requests, sockudo } from "./support/harness.ts"

// ---------------------------------------------------------------------------------------------
// Independent oracles

const utf8 = new TextEncoder()
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"))

/** SHA-256 over the concatenated bytes, computed without the SDK. */
const channelKey = (masterKey: Uint8Array, channel: string): Uint8Array =>
  new Uint8Array(
    createHash("sha256")
      .update(Buffer.concat([Buffer.from(channel, "utf8"), masterKey]))
      .digest()
  )

/** tweetnacl's secretbox, in the wire format pusher's SDKs write. */
const naclSeal = (key: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array): string =>
  JSON.stringify({ nonce: b64(nonce), ciphertext: b64(nacl.secretbox(plaintext, nonce, key)) })

/** tweetnacl's secretbox.open of a wire string; `null` when it refuses. */
const naclOpen = (key: Uint8Array, wire: string): Uint8Array | null => {
  const { nonce, ciphertext } = JSON.parse(wire) as { nonce: string; ciphertext: string }
  return nacl.secretbox.open(fromB64(ciphertext), fromB64(nonce), key)
}

const WIRE =
  /^\{"nonce":"([A-Za-z0-9+/]{32})","ciphertext":"((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)"\}$/

// ---------------------------------------------------------------------------------------------
// Generated cases

const encryptedChannel = (gen: G.Gen) => G.channelName(gen, "private-encrypted-")

/** Plaintexts: empty, short unicode, JSON of arbitrary values, and large ones (up to 256 KiB). */
const plaintext = (gen: G.Gen, index: number): string => {
  switch (index % 5) {
    case 0:
      return index % 10 === 0 ? "" : G.text(gen, 0, 2)
    case 1:
      return G.text(gen, 1, 60)
    case 2:
      return JSON.stringify(G.jsonValue(gen, 3))
    case 3:
      return JSON.stringify(G.text(gen, 0, 30))
    default:
      return G.text(gen, 2_000, gen.chance(0.1) ? 60_000 : 8_000)
  }
}

interface Case {
  readonly masterKey: Uint8Array
  readonly channel: string
  readonly plaintext: string
  readonly nonce: Uint8Array
}

const CASES = G.cases(
  7001,
  300,
  (gen, i): Case => ({
    masterKey: gen.bytes(32),
    channel: encryptedChannel(gen),
    plaintext: plaintext(gen, i),
    nonce: gen.bytes(24)
  })
)

const expectEncryptionError = (
  result: Result.Result<string, unknown>,
  reason: "MissingMasterKey" | "Malformed" | "DecryptionFailed",
  channel: string,
  label: string
) => {
  assert.isTrue(Result.isFailure(result), `${label}: expected a failure`)
  if (Result.isFailure(result)) {
    expect(result.failure, label).toMatchObject({ _tag: "SockudoEncryptionError", reason, channel })
  }
}

// ---------------------------------------------------------------------------------------------

describe("the channel key", () => {
  it("is SHA-256(utf8(channel) || master key), as node:crypto and pusher compute it: 300 generated cases", () => {
    for (const [i, c] of CASES.entries()) {
      const expected = channelKey(c.masterKey, c.channel)
      assert.deepStrictEqual(Crypto.sharedSecret(c.masterKey, c.channel), expected, `case ${i}`)
      const pusher = new Pusher({
        appId: "1",
        key: "k",
        secret: "s",
        host: "sockudo.test",
        encryptionMasterKeyBase64: b64(c.masterKey)
      }) as unknown as { channelSharedSecret: (channel: string) => Buffer }
      assert.deepStrictEqual(new Uint8Array(pusher.channelSharedSecret(c.channel)), expected, `case ${i} (pusher)`)
    }
  })

  it("depends on every byte of the channel name (unicode names included)", () => {
    const master = new Uint8Array(32).fill(7)
    const names = ["private-encrypted-a", "private-encrypted-b", "private-encrypted-ä", "private-encrypted-a\u0000"]
    const keys = new Set(names.map((n) => b64(Crypto.sharedSecret(master, n))))
    assert.strictEqual(keys.size, names.length)
    assert.strictEqual(
      b64(Crypto.sharedSecret(master, "private-encrypted-ä")),
      b64(channelKey(master, "private-encrypted-ä"))
    )
  })

  it.effect("the Encryption service hands out base64 of that key, and the config's key is the one used", () =>
    Effect.gen(function* () {
      for (const [i, c] of CASES.slice(0, 50).entries()) {
        const service = Crypto.make(Redacted.make(c.masterKey))
        assert.isTrue(service.enabled)
        const secret = service.sharedSecretBase64(c.channel)
        assert.deepStrictEqual(secret, Result.succeed(b64(channelKey(c.masterKey, c.channel))), `case ${i}`)
      }
      const c = CASES[0]!
      const encryption = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* Crypto.Encryption
        }),
        Crypto.layer.pipe(
          Layer.provide(
            SockudoConfig.layer({
              appId: "a",
              key: "k",
              secret: Redacted.make("s"),
              encryptionMasterKeyBase64: Redacted.make(b64(c.masterKey))
            })
          )
        )
      )
      assert.deepStrictEqual(
        encryption.sharedSecretBase64(c.channel),
        Result.succeed(b64(channelKey(c.masterKey, c.channel)))
      )
    })
  )
})

describe("channel authorization of private-encrypted- channels", () => {
  it.effect("shared_secret is base64 of SHA-256(channel || master key) and opens what trigger seals: 100 cases", () =>
    Effect.gen(function* () {
      for (const [i, c] of CASES.slice(0, 100).entries()) {
        const run = Effect.gen(function* () {
          const s = yield* sockudo
          const auth = yield* s.authorizeChannel("123.456", c.channel)
          assert.strictEqual(auth.shared_secret, b64(channelKey(c.masterKey, c.channel)), `case ${i}`)
          assert.isUndefined(auth.channel_data)
          // What a browser client does with it: open a published event with tweetnacl.
          const data = { text: c.plaintext.slice(0, 200), i }
          yield* s.trigger(c.channel, "e", data)
          const sent = (yield* requests)[0]!.json as { data: string; channels: Array<string> }
          assert.deepStrictEqual(sent.channels, [c.channel])
          const opened = naclOpen(fromB64(auth.shared_secret!), sent.data)
          assert.isNotNull(opened, `case ${i}: tweetnacl refused the published data`)
          assert.strictEqual(new TextDecoder().decode(opened!), JSON.stringify(data), `case ${i}`)
        })
        yield* Effect.provide(run, layer(undefined, { encryptionMasterKeyBase64: Redacted.make(b64(c.masterKey)) }))
      }
    })
  )

  it.effect("triggerBatch seals each encrypted item under its own channel's key; a string is sealed as JSON", () =>
    Effect.gen(function* () {
      const master = CASES[1]!.masterKey
      const run = Effect.gen(function* () {
        const s = yield* sockudo
        yield* s.triggerBatch([
          { channel: "private-encrypted-one", name: "e", data: "Hello!" },
          { channel: "plain", name: "e", data: "test" },
          { channel: "private-encrypted-two", name: "e", data: { ok: true } }
        ])
        const batch = ((yield* requests)[0]!.json as { batch: Array<{ data: string }> }).batch
        const one = naclOpen(channelKey(master, "private-encrypted-one"), batch[0]!.data)
        assert.strictEqual(new TextDecoder().decode(one!), '"Hello!"')
        assert.strictEqual(batch[1]!.data, "test")
        const two = naclOpen(channelKey(master, "private-encrypted-two"), batch[2]!.data)
        assert.strictEqual(new TextDecoder().decode(two!), '{"ok":true}')
        // Keys are per channel: the first channel's key does not open the second item.
        assert.isNull(naclOpen(channelKey(master, "private-encrypted-one"), batch[2]!.data))
      })
      yield* Effect.provide(run, layer(undefined, { encryptionMasterKeyBase64: Redacted.make(b64(master)) }))
    })
  )

  it.effect("trigger to several channels seals once per encrypted channel, each under its own key, in one batch", () =>
    Effect.gen(function* () {
      const master = CASES[2]!.masterKey
      const run = Effect.gen(function* () {
        const s = yield* sockudo
        yield* s.trigger(["private-encrypted-one", "plain", "private-encrypted-two", "other"], "e", { a: 1 })
        const sent = yield* requests
        assert.strictEqual(sent.length, 1)
        assert.strictEqual(sent[0]!.path, "/apps/app-id/batch_events")
        const batch = (sent[0]!.json as { batch: Array<{ channel?: string; channels?: Array<string>; data: string }> })
          .batch
        assert.deepStrictEqual(
          batch.map((item) => item.channel ?? item.channels),
          ["private-encrypted-one", "private-encrypted-two", ["plain", "other"]]
        )
        for (const [i, channel] of ["private-encrypted-one", "private-encrypted-two"].entries()) {
          const opened = naclOpen(channelKey(master, channel), batch[i]!.data)
          assert.strictEqual(new TextDecoder().decode(opened!), '{"a":1}')
        }
        // Keys are per channel: the first channel's key does not open the second item.
        assert.isNull(naclOpen(channelKey(master, "private-encrypted-one"), batch[1]!.data))
        assert.strictEqual(batch[2]!.data, '{"a":1}')
      })
      yield* Effect.provide(
        run,
        layer(() => SockudoTest.json(200, {}), { encryptionMasterKeyBase64: Redacted.make(b64(master)) })
      )
    })
  )
})

describe("secretbox interoperability with tweetnacl", () => {
  it("tweetnacl opens what we seal: 300 generated channels and payloads (empty, unicode, up to 256 KiB)", () => {
    for (const [i, c] of CASES.entries()) {
      const key = channelKey(c.masterKey, c.channel)
      const wire = Crypto.seal(key, c.plaintext)
      const opened = naclOpen(key, wire)
      assert.isNotNull(opened, `case ${i}`)
      assert.deepStrictEqual(opened, utf8.encode(c.plaintext), `case ${i}`)
    }
  })

  it("we open what tweetnacl seals, to the exact string: 300 generated cases", () => {
    for (const [i, c] of CASES.entries()) {
      const key = channelKey(c.masterKey, c.channel)
      const wire = naclSeal(key, utf8.encode(c.plaintext), c.nonce)
      assert.deepStrictEqual(Crypto.open(key, c.channel, wire), Result.succeed(c.plaintext), `case ${i}`)
    }
  })

  it("the service seals and opens under the channel key, agreeing with tweetnacl both ways", () => {
    for (const [i, c] of CASES.slice(0, 100).entries()) {
      const service = Crypto.make(Redacted.make(c.masterKey))
      const key = channelKey(c.masterKey, c.channel)
      const sealed = service.seal(c.channel, c.plaintext)
      assert.isTrue(Result.isSuccess(sealed), `case ${i}`)
      if (Result.isSuccess(sealed)) assert.deepStrictEqual(naclOpen(key, sealed.success), utf8.encode(c.plaintext))
      const wire = naclSeal(key, utf8.encode(c.plaintext), c.nonce)
      assert.deepStrictEqual(service.open(c.channel, wire), Result.succeed(c.plaintext), `case ${i}`)
    }
  })

  it("plaintext starting with U+FEFF keeps it (a byte order mark is data, not framing)", () => {
    const key = channelKey(new Uint8Array(32), "private-encrypted-bom")
    for (const text of ["\ufeff", "\ufeffHello", "\ufeff\ufeff{}"]) {
      const wire = naclSeal(key, utf8.encode(text), new Uint8Array(24))
      assert.deepStrictEqual(
        Crypto.open(key, "private-encrypted-bom", wire),
        Result.succeed(text),
        JSON.stringify(text)
      )
      assert.deepStrictEqual(Crypto.open(key, "private-encrypted-bom", Crypto.seal(key, text)), Result.succeed(text))
    }
  })

  it("lone surrogates are sealed as U+FFFD, the bytes UTF-8 gives them", () => {
    const key = channelKey(new Uint8Array(32).fill(1), "private-encrypted-s")
    const wire = Crypto.seal(key, "a\ud800b")
    assert.deepStrictEqual(naclOpen(key, wire), utf8.encode("a\ufffdb"))
    assert.deepStrictEqual(Crypto.open(key, "private-encrypted-s", wire), Result.succeed("a\ufffdb"))
  })
})

describe("the wire format", () => {
  it('is exactly {"nonce":"<base64>","ciphertext":"<base64>"} with a given nonce: 300 cases', () => {
    for (const [i, c] of CASES.entries()) {
      const key = channelKey(c.masterKey, c.channel)
      const expected = naclSeal(key, utf8.encode(c.plaintext), c.nonce)
      assert.strictEqual(Crypto.seal(key, c.plaintext, c.nonce), expected, `case ${i}`)
    }
  })

  it("with a random nonce: 24 nonce bytes, ciphertext = 16-byte tag + plaintext bytes, a fresh nonce each time", () => {
    const nonces = new Set<string>()
    for (const [i, c] of CASES.entries()) {
      const key = channelKey(c.masterKey, c.channel)
      const wire = Crypto.seal(key, c.plaintext)
      const match = WIRE.exec(wire)
      assert.isNotNull(match, `case ${i}: ${wire.slice(0, 80)}`)
      assert.strictEqual(fromB64(match![1]!).length, 24)
      assert.strictEqual(fromB64(match![2]!).length, utf8.encode(c.plaintext).length + 16, `case ${i}`)
      nonces.add(match![1]!)
    }
    assert.strictEqual(nonces.size, CASES.length)
    const key = channelKey(new Uint8Array(32), "private-encrypted-x")
    assert.notStrictEqual(Crypto.seal(key, "same"), Crypto.seal(key, "same"))
  })

  it.effect("the data sent by trigger is that wire string, itself carried as a JSON string", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger("private-encrypted-room", "e", "Hello!")
      const body = (yield* requests)[0]!.body
      const data = (JSON.parse(body) as { data: unknown }).data
      assert.isString(data)
      assert.match(data as string, WIRE)
    }).pipe(
      Effect.provide(
        layer(undefined, { encryptionMasterKeyBase64: Redacted.make("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=") })
      )
    )
  )
})

describe("failures are typed SockudoEncryptionErrors", () => {
  const master = new Uint8Array(32).map((_, i) => i * 7)
  const channel = "private-encrypted-orders"
  const key = channelKey(master, channel)
  const wire = naclSeal(key, utf8.encode('{"secret":"value"}'), new Uint8Array(24).fill(9))
  const { nonce, ciphertext } = JSON.parse(wire) as { nonce: string; ciphertext: string }

  it("another channel's key, another master key: DecryptionFailed", () => {
    expectEncryptionError(
      Crypto.open(channelKey(master, "private-encrypted-other"), channel, wire),
      "DecryptionFailed",
      channel,
      "channel"
    )
    const otherMaster = master.map((b) => b ^ 1)
    expectEncryptionError(
      Crypto.open(channelKey(otherMaster, channel), channel, wire),
      "DecryptionFailed",
      channel,
      "master"
    )
    const service = Crypto.make(Redacted.make(otherMaster))
    expectEncryptionError(service.open(channel, wire), "DecryptionFailed", channel, "service")
  })

  it("every single-bit flip of the ciphertext or the nonce: DecryptionFailed", () => {
    const bytes = fromB64(ciphertext)
    for (let i = 0; i < bytes.length * 8; i++) {
      const tampered = bytes.slice()
      tampered[i >> 3]! ^= 1 << (i & 7)
      const data = JSON.stringify({ nonce, ciphertext: b64(tampered) })
      expectEncryptionError(Crypto.open(key, channel, data), "DecryptionFailed", channel, `ciphertext bit ${i}`)
    }
    const nonceBytes = fromB64(nonce)
    for (let i = 0; i < nonceBytes.length * 8; i++) {
      const tampered = nonceBytes.slice()
      tampered[i >> 3]! ^= 1 << (i & 7)
      const data = JSON.stringify({ nonce: b64(tampered), ciphertext })
      expectEncryptionError(Crypto.open(key, channel, data), "DecryptionFailed", channel, `nonce bit ${i}`)
    }
  })

  it("truncated or extended ciphertext, or one shorter than the tag: DecryptionFailed", () => {
    const bytes = fromB64(ciphertext)
    for (const cut of [
      bytes.slice(0, -1),
      bytes.slice(1),
      bytes.slice(0, 15),
      new Uint8Array(0),
      new Uint8Array([...bytes, 0])
    ]) {
      const data = JSON.stringify({ nonce, ciphertext: b64(cut) })
      expectEncryptionError(Crypto.open(key, channel, data), "DecryptionFailed", channel, `length ${cut.length}`)
    }
  })

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["not JSON", "Hello!"],
    ["the ciphertext alone", ciphertext],
    ["a JSON string", JSON.stringify(wire)],
    ["null", "null"],
    ["a number", "42"],
    ["an array", JSON.stringify([nonce, ciphertext])],
    ["no nonce", JSON.stringify({ ciphertext })],
    ["no ciphertext", JSON.stringify({ nonce })],
    ["a numeric nonce", JSON.stringify({ nonce: 1, ciphertext })],
    ["a nonce that is not base64", JSON.stringify({ nonce: `${nonce.slice(0, -1)}!`, ciphertext })],
    ["a ciphertext that is not base64", JSON.stringify({ nonce, ciphertext: `${ciphertext}*` })],
    ["url-safe base64", JSON.stringify({ nonce: "-_".repeat(16), ciphertext })],
    ["a 23-byte nonce", JSON.stringify({ nonce: b64(new Uint8Array(23)), ciphertext })],
    ["a 25-byte nonce", JSON.stringify({ nonce: b64(new Uint8Array(25)), ciphertext })],
    ["an empty nonce", JSON.stringify({ nonce: "", ciphertext })]
  ]
  for (const [name, data] of malformed) {
    it(`${name}: Malformed`, () => {
      expectEncryptionError(Crypto.open(key, channel, data), "Malformed", channel, name)
    })
  }

  it("authentic ciphertext of bytes that are not UTF-8: Malformed, not a wrong key", () => {
    const data = naclSeal(key, new Uint8Array([0x22, 0xff, 0xfe, 0x22]), new Uint8Array(24))
    expectEncryptionError(Crypto.open(key, channel, data), "Malformed", channel, "not UTF-8")
  })

  it("a service without master key: MissingMasterKey for every operation", () => {
    const service = Crypto.make(undefined)
    assert.isFalse(service.enabled)
    expectEncryptionError(service.sharedSecretBase64(channel), "MissingMasterKey", channel, "sharedSecretBase64")
    expectEncryptionError(service.seal(channel, "x"), "MissingMasterKey", channel, "seal")
    expectEncryptionError(service.open(channel, wire), "MissingMasterKey", channel, "open")
  })

  it.effect("trigger and authorizeChannel on an encrypted channel without master key fail before sending", () =>
    Effect.gen(function* () {
      const s = yield* sockudo
      expect(yield* Effect.flip(s.trigger(channel, "e", { a: 1 }))).toMatchObject({
        _tag: "SockudoEncryptionError",
        reason: "MissingMasterKey",
        channel
      })
      expect(yield* Effect.flip(s.authorizeChannel("1.1", channel))).toMatchObject({
        _tag: "SockudoEncryptionError",
        reason: "MissingMasterKey"
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(layer()))
  )

  it("no error, nor the service, shows key material or plaintext", () => {
    const service = Crypto.make(Redacted.make(master))
    const secrets = [
      b64(master),
      Buffer.from(master).toString("hex"),
      b64(key),
      Buffer.from(key).toString("hex"),
      "secret",
      "value"
    ]
    const errors: Array<unknown> = []
    const wrong = Crypto.make(Redacted.make(master.map((b) => b ^ 0xff))).open(channel, wire)
    if (Result.isFailure(wrong)) errors.push(wrong.failure)
    for (const [, data] of malformed) {
      const r = service.open(channel, data)
      if (Result.isFailure(r)) errors.push(r.failure)
    }
    const missing = Crypto.make(undefined).open(channel, wire)
    if (Result.isFailure(missing)) errors.push(missing.failure)
    assert.strictEqual(errors.length, malformed.length + 2)
    const shown = [service, ...errors].flatMap((e) => [String(e), JSON.stringify(e) ?? "", inspect(e, { depth: 5 })])
    for (const text of shown) for (const secret of secrets) assert.notInclude(text, secret)
  })
})

describe("the master key", () => {
  const base = { appId: "a", key: "k", secret: Redacted.make("s") }
  const resolve = (encoded: string) =>
    Effect.provide(
      Effect.gen(function* () {
        return yield* SockudoConfig.SockudoConfig
      }),
      SockudoConfig.layer({ ...base, encryptionMasterKeyBase64: Redacted.make(encoded) })
    )

  for (const length of [0, 1, 16, 31, 33, 48, 64]) {
    it.effect(`decoding to ${length} bytes is a SockudoConfigError that does not echo the key`, () =>
      Effect.gen(function* () {
        const encoded = b64(new Uint8Array(length).fill(0xab))
        const error = yield* Effect.flip(resolve(encoded))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "encryptionMasterKeyBase64" })
        if (encoded !== "") {
          assert.notInclude(error.message, encoded)
          assert.notInclude(JSON.stringify(error), encoded)
        }
      })
    )
  }

  for (const [name, encoded] of [
    ["without padding", b64(new Uint8Array(32).fill(0xab)).replace(/=+$/, "")],
    ["url-safe base64", b64(new Uint8Array(32).fill(0xfb)).replace(/\+/g, "-").replace(/\//g, "_")],
    ["a raw 32-character string (pusher's deprecated form)", "This is a string that is 32 char"],
    ["with surrounding whitespace", ` ${b64(new Uint8Array(32))} `]
  ] as const) {
    it.effect(`${name} is refused rather than silently decoded to other bytes`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(resolve(encoded))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "encryptionMasterKeyBase64" })
      })
    )
  }

  it.effect("exactly 32 bytes is accepted, and its bytes are the ones the channel key is derived from", () =>
    Effect.gen(function* () {
      const master = G.make(99).bytes(32)
      const config = yield* resolve(b64(master))
      assert.deepStrictEqual(Redacted.value(config.encryptionMasterKey!), master)
      const service = Crypto.make(config.encryptionMasterKey)
      assert.deepStrictEqual(
        service.sharedSecretBase64("private-encrypted-x"),
        Result.succeed(b64(channelKey(master, "private-encrypted-x")))
      )
    })
  )
})
