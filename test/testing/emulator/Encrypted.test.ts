/**
 * End-to-end encryption through the emulator: a simulated client authorized with the SDK's
 * `shared_secret` opens, with tweetnacl, exactly what the SDK published; the emulator only ever
 * sees the sealed envelope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import nacl from "tweetnacl"
import { Sockudo } from "../../../src/index.ts"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"

const masterKey = Redacted.make(Buffer.alloc(32, 7).toString("base64"))
const channel = "private-encrypted-orders@eu=1"

const open = (data: unknown, sharedSecret: string): unknown => {
  assert.isString(data)
  const envelope = JSON.parse(data as string) as { nonce: string; ciphertext: string }
  assert.deepStrictEqual(Object.keys(envelope).sort(), ["ciphertext", "nonce"])
  const plain = nacl.secretbox.open(
    Buffer.from(envelope.ciphertext, "base64"),
    Buffer.from(envelope.nonce, "base64"),
    Buffer.from(sharedSecret, "base64")
  )
  assert.isNotNull(plain)
  return JSON.parse(Buffer.from(plain!).toString("utf8"))
}

describe("private-encrypted- channels through the emulator", () => {
  it.effect("trigger and triggerBatch reach the subscriber sealed, and open with the shared_secret", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emulator.connect()
      const auth = yield* sockudo.authorizeChannel(client.socketId, channel)
      assert.isString(auth.shared_secret)
      yield* client.subscribe(channel, { auth: auth.auth })

      yield* sockudo.trigger(channel, "created", { id: 1, note: "grüße 👋" })
      yield* sockudo.triggerBatch([
        { channel, name: "paid", data: { id: 1 } },
        { channel, name: "shipped", data: "as a string" }
      ])

      const events = yield* client.events(channel)
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ["created", "paid", "shipped"]
      )
      assert.deepStrictEqual(
        events.map((e) => open(e.data, auth.shared_secret!)),
        [{ id: 1, note: "grüße 👋" }, { id: 1 }, "as a string"]
      )
      for (const e of events) assert.notInclude(String(e.data), "grüße")
    }).pipe(Effect.provide(Emulator.layerTest({ sockudo: { encryptionMasterKeyBase64: masterKey } })))
  )

  it.effect("a secret for another channel does not open the events", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emulator.connect()
      const auth = yield* sockudo.authorizeChannel(client.socketId, channel)
      const other = yield* sockudo.authorizeChannel(client.socketId, "private-encrypted-other")
      yield* client.subscribe(channel, { auth: auth.auth })
      yield* sockudo.trigger(channel, "created", { id: 2 })
      const [event] = yield* client.events(channel)
      const envelope = JSON.parse(event!.data as string) as { nonce: string; ciphertext: string }
      const opened = nacl.secretbox.open(
        Buffer.from(envelope.ciphertext, "base64"),
        Buffer.from(envelope.nonce, "base64"),
        Buffer.from(other.shared_secret!, "base64")
      )
      assert.isNull(opened)
    }).pipe(Effect.provide(Emulator.layerTest({ sockudo: { encryptionMasterKeyBase64: masterKey } })))
  )
})
