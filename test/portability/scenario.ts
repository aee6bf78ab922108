/**
 * What `Portability.test.ts` runs in a bundle built for `platform=neutral`, in a process whose
 * globals have no `Buffer` and no `process` (as on Workers without `nodejs_compat`): signing,
 * webhook verification, encryption, a publish through `effect-sockudo/fetch` to the in-process
 * emulator, and the mock layer of `effect-sockudo/testing`. It returns what it computed; the
 * test checks the values against independent implementations.
 */
import { Effect, Redacted, Result } from "effect"
import { FetchHttpClient, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as SockudoFetch from "../../src/Fetch.ts"
import { Crypto, Signer, Sockudo, Webhook } from "../../src/index.ts"
import { digest } from "../../src/internal/Digest.ts"
import * as SockudoTest from "../../src/testing/index.ts"

/** The inputs, shared with the test. */
export const inputs = {
  key: "278d425bdf160c739803",
  secret: "7ad3773142a6692b25b8",
  socketId: "1234.1234",
  channelData: '{"user_id":"u1","user_info":{"name":"Ada é"}}',
  userData: '{"id":"u1"}',
  body: '{"time_ms":1,"events":[{"name":"channel_occupied","channel":"orders"}]}',
  masterKey: Uint8Array.from({ length: 32 }, (_, i) => i)
} as const

const { Emulator } = SockudoTest

/** A `fetch` the emulator answers in-process. */
const emulatorFetch =
  (emulator: SockudoTest.Emulator.Emulator["Service"]): typeof globalThis.fetch =>
  (input, init) =>
    Effect.runPromise(
      emulator.handler.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(new Request(input, init))),
        Effect.scoped
      )
    ).then((response) => HttpServerResponse.toWeb(response as HttpServerResponse.HttpServerResponse))

const published = Effect.gen(function* () {
  const emulator = yield* Emulator.Emulator
  const client = yield* emulator.connect()
  yield* client.subscribe("orders")
  const { id, key, secret } = Emulator.defaultApp
  const receipt = yield* Effect.flatMap(Sockudo.Sockudo, (sockudo) =>
    sockudo.trigger("orders", "order.created", { id: "ord_1" }, { info: ["subscription_count"] })
  ).pipe(
    Effect.provide(
      SockudoFetch.layer({ appId: id, key, secret: Redacted.make(secret), baseUrl: "http://sockudo.emulator" })
    ),
    Effect.provideService(FetchHttpClient.Fetch, emulatorFetch(emulator))
  )
  const events = yield* client.events("orders")
  return { subscriptions: receipt.channels.orders?.subscription_count, events: events.map((e) => [e.event, e.data]) }
}).pipe(Effect.provide(Emulator.layer()))

const mocked = Effect.gen(function* () {
  yield* Effect.flatMap(Sockudo.Sockudo, (sockudo) => sockudo.channels.get("orders"))
  const { requests } = yield* SockudoTest.RequestRecorder
  return requests.map((r) => `${r.method} ${r.path}`)
}).pipe(Effect.provide(SockudoTest.layer({ handler: () => SockudoTest.json(200, { occupied: false }) })))

/** Everything the scenario computed. */
export const main = async () => {
  const signer = Signer.makeUnsafe(inputs.key, Redacted.make(inputs.secret))
  const signature = signer.signWebhook(inputs.body)
  const verified = Webhook.verifyResult(
    { headers: { "x-pusher-key": inputs.key, "x-pusher-signature": signature }, body: inputs.body },
    { key: inputs.key, secret: Redacted.make(inputs.secret) }
  )
  const encryption = Crypto.make(Redacted.make(inputs.masterKey))
  const sealed = Result.getOrThrow(encryption.seal("private-encrypted-room", "secret message é"))
  return {
    globals: { Buffer: typeof (globalThis as { Buffer?: unknown }).Buffer, process: typeof globalThis.process },
    digests: digest.name,
    channelAuth: signer.authorizeChannel(inputs.socketId, "presence-room", inputs.channelData),
    userAuth: signer.authenticateUser(inputs.socketId, inputs.userData),
    webhookSignature: signature,
    webhookVerified: Result.isSuccess(verified),
    md5: Signer.md5Hex(inputs.body),
    requestQuery: signer.signQuery(
      "POST",
      "/apps/3/events",
      [["info", "user_count"]],
      Signer.md5Hex(inputs.body),
      1_700_000_000
    ),
    sharedSecret: Result.getOrThrow(encryption.sharedSecretBase64("private-encrypted-room")),
    opened: Result.getOrThrow(encryption.open("private-encrypted-room", sealed)),
    published: await Effect.runPromise(published),
    mocked: await Effect.runPromise(mocked)
  }
}
