/**
 * End-to-end encryption of `private-encrypted-` channels, the scheme Pusher clients implement:
 * each channel's key is SHA-256(channel name || master key), messages are sealed with NaCl
 * secretbox (XSalsa20-Poly1305) under a random 24-byte nonce, and travel as the JSON string
 * `{"nonce":"<base64>","ciphertext":"<base64>"}`. The master key never leaves this module.
 *
 * @since 0.1.0
 */
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Base64 from "effect/encoding/Base64"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { SockudoEncryptionError } from "./Errors.ts"
import { digest } from "./internal/Digest.ts"
import { SockudoConfig } from "./SockudoConfig.ts"

const utf8 = new TextEncoder()
// `ignoreBOM`: a leading U+FEFF is part of the plaintext, not framing to strip.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/**
 * The channel's 32-byte shared secret: SHA-256(utf8(channel) || masterKey).
 *
 * @since 0.1.0
 */
export const sharedSecret = (masterKey: Uint8Array, channel: string): Uint8Array => {
  const name = utf8.encode(channel)
  const input = new Uint8Array(name.length + masterKey.length)
  input.set(name)
  input.set(masterKey, name.length)
  return digest.sha256(input)
}

/**
 * Seals a UTF-8 plaintext under a channel key; returns the wire string
 * `{"nonce":"...","ciphertext":"..."}`. The nonce is random unless given (tests only).
 *
 * @since 0.1.0
 */
export const seal = (key: Uint8Array, plaintext: string, nonce?: Uint8Array): string => {
  const n = nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(24))
  const ciphertext = xsalsa20poly1305(key, n).encrypt(utf8.encode(plaintext))
  return JSON.stringify({
    nonce: Base64.encode(n),
    ciphertext: Base64.encode(ciphertext)
  })
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Opens a wire string produced by {@link seal} (or by any Pusher-compatible client).
 *
 * @since 0.1.0
 */
export const open = (key: Uint8Array, channel: string, data: string): Result.Result<string, SockudoEncryptionError> => {
  const malformed = (message: string) =>
    Result.fail(new SockudoEncryptionError({ reason: "Malformed", channel, message }))
  let envelope: unknown
  try {
    envelope = JSON.parse(data)
  } catch {
    return malformed("encrypted data is not JSON")
  }
  if (typeof envelope !== "object" || envelope === null) return malformed("encrypted data is not an object")
  const { nonce, ciphertext } = envelope as Record<string, unknown>
  if (typeof nonce !== "string" || typeof ciphertext !== "string" || !BASE64.test(nonce) || !BASE64.test(ciphertext)) {
    return malformed("encrypted data needs base64 'nonce' and 'ciphertext' fields")
  }
  const nonceBytes = Base64.decode(nonce)
  const sealed = Base64.decode(ciphertext)
  if (Result.isFailure(nonceBytes) || Result.isFailure(sealed)) {
    return malformed("encrypted data needs base64 'nonce' and 'ciphertext' fields")
  }
  if (nonceBytes.success.length !== 24) return malformed("the nonce must be 24 bytes")
  let plain: Uint8Array
  try {
    plain = xsalsa20poly1305(key, nonceBytes.success).decrypt(sealed.success)
  } catch {
    return Result.fail(
      new SockudoEncryptionError({
        reason: "DecryptionFailed",
        channel,
        message: "the data could not be decrypted (wrong key, or tampered with)"
      })
    )
  }
  try {
    return Result.succeed(utf8Decoder.decode(plain))
  } catch {
    // Authentic (the tag verified), so the key was right: the sender sealed bytes that are not text.
    return malformed("the decrypted data is not UTF-8 text")
  }
}

/**
 * The Encryption service of the configured app.
 *
 * @since 0.1.0
 */
export interface Service {
  /** True when the configuration has a master key; every operation fails with `MissingMasterKey` otherwise. */
  readonly enabled: boolean
  /** The channel's shared secret, base64, as handed to clients in channel auth responses. */
  readonly sharedSecretBase64: (channel: string) => Result.Result<string, SockudoEncryptionError>
  /** Seals a plaintext under the channel's key, as the `data` of an event: `{"nonce","ciphertext"}`. */
  readonly seal: (channel: string, plaintext: string) => Result.Result<string, SockudoEncryptionError>
  /** Opens `data` sealed under the channel's key (by this SDK or a client). */
  readonly open: (channel: string, data: string) => Result.Result<string, SockudoEncryptionError>
}

/**
 * @since 0.1.0
 */
export class Encryption extends Context.Service<Encryption, Service>()("effect-sockudo/Encryption") {}

const missingKey = (channel: string) =>
  Result.fail(
    new SockudoEncryptionError({
      reason: "MissingMasterKey",
      channel,
      message: "encrypted channels need encryptionMasterKeyBase64 in the SDK configuration"
    })
  )

/**
 * An Encryption service for a master key (or none: every operation then fails with
 * `MissingMasterKey`).
 *
 * @since 0.1.0
 */
export const make = (masterKey: Redacted.Redacted<Uint8Array> | undefined): Service => {
  if (masterKey === undefined) {
    return { enabled: false, sharedSecretBase64: missingKey, seal: missingKey, open: missingKey }
  }
  const master = Redacted.value(masterKey)
  return {
    enabled: true,
    sharedSecretBase64: (channel) => Result.succeed(Base64.encode(sharedSecret(master, channel))),
    seal: (channel, plaintext) => Result.succeed(seal(sharedSecret(master, channel), plaintext)),
    open: (channel, data) => open(sharedSecret(master, channel), channel, data)
  }
}

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Encryption, never, SockudoConfig> = Layer.effect(
  Encryption,
  Effect.map(SockudoConfig, (config) => make(config.encryptionMasterKey))
)
