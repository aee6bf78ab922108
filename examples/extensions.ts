/**
 * The README's snippets as written, each in the context it assumes (a `sockudo` service, a
 * verified `webhook`, a Promise client): `test/examples/readme.test.ts` checks that every line of
 * them is here, in order, and runs them against the emulator.
 */
import { Config, Effect, Redacted, Stream } from "effect"
import { PromiseClient, Sockudo, SockudoConfig, SockudoError, type Webhook } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"

// ### Retries you write: what each form means
export const retries = Effect.gen(function* () {
  const sockudo = yield* Sockudo.Sockudo

  // One publish, retried: every run of this Effect value sends the same key, so the server publishes it once
  // (Effect.repeat of it publishes once too).
  const publish = sockudo.trigger("orders", "order.created", { id: "ord_1" })
  yield* publish.pipe(Effect.retry({ times: 3, while: (e) => e.isRetryable }))

  // Each call is a new publish, with a new key: two calls, two events.
  yield* sockudo.trigger("orders", "ping", 1)
  yield* sockudo.trigger("orders", "ping", 1)

  // A whole program, retry-safe: inside Sockudo.idempotent every publish and mutation without a key of its
  // own gets "<key>:<position>", so a retry re-sends the same keys and nothing is published twice.
  const checkout = (orderId: string) =>
    Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      yield* sockudo.trigger("orders", "order.paid", { id: orderId })
      yield* sockudo.sendToUser("user-1", "receipt", { id: orderId })
    })
  yield* Sockudo.idempotent(checkout("ord_1"), "checkout-ord_1").pipe(
    Effect.retry({ times: 3, while: (e) => e.isRetryable })
  )
})

// ### Webhooks
// While rotating the app secret, webhooks signed with the previous one are still accepted; webhooks older than
// webhookMaxAge (off by default) are refused with SockudoWebhookExpiredError.
export const Rotating = SockudoConfig.layer({
  appId: "app-id",
  key: "app-key",
  secret: Redacted.make("new-secret"),
  previousSecrets: [Redacted.make("old-secret")],
  webhookMaxAge: "10 minutes"
})

export const webhookEvents = (request: Webhook.WebhookRequest, rawBody: string) =>
  Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const webhook = yield* sockudo.webhooks.verify({ headers: request.headers, body: rawBody })
    // A client event that cannot be decrypted does not fail the whole webhook (the server batches up to 100 events
    // and retries): it comes as its own entry, beside the others.
    for (const event of webhook.events) {
      if (event._tag === "UndecryptableEvent") yield* Effect.logWarning(`${event.channel}: ${event.error.reason}`)
    }
    return webhook
  })

// ### History, versioned messages and annotations
export const tour = Effect.gen(function* () {
  const sockudo = yield* Sockudo.Sockudo

  // One page, or every item as a Stream that fetches the next page only when it is needed
  const page = yield* sockudo.history.list("chat", { limit: 50, direction: "oldest_first" })
  const last20 = yield* sockudo.history.stream("chat").pipe(Stream.take(20), Stream.runCollect)

  // Versioned messages: the serial comes from the trigger receipt (or a versioned history item). `info` asks for the
  // per-channel receipt (an empty list: without counts); it holds the serials on channels with versioned messages on.
  const receipt = yield* sockudo.trigger("chat", "message", "hello", { info: [] })
  const serial = receipt.channels.chat!.message_serial!
  yield* sockudo.messages.update("chat", serial, { data: "hello, edited", opId: "edit-42" })
  yield* sockudo.messages.append("chat", serial, " and more")
  const latest = yield* sockudo.messages.get("chat", serial)

  // Annotations, checked against the summarizer's rules before sending
  yield* sockudo.annotations.publish("chat", serial, { type: "reactions:distinct.v1", name: "like", clientId: "u1" })
  return { page, last20, latest }
})

// ### Without Effect
export const withoutEffect = async (url: string) => {
  const process = { env: { SOCKUDO_URL: url } }
  await using sockudo = await PromiseClient.make(SockudoNode.layerFromUrl(Redacted.make(process.env.SOCKUDO_URL!)))
  await sockudo.trigger("orders", "order.created", { id: "ord_1" })
  for await (const item of sockudo.history.stream("orders")) console.log(item.serial)

  // A retry loop around one unit: the same key re-sends the same keys, so each event is published once.
  for (let attempt = 1; ; attempt++) {
    try {
      await sockudo.idempotent("checkout-ord_1", async (s) => {
        await s.trigger("orders", "order.paid", { id: "ord_1" })
        await s.sendToUser("user-1", "receipt", { id: "ord_1" })
      })
      break
    } catch (error) {
      if (attempt === 3 || !SockudoError.isSockudoError(error) || !error.isRetryable) throw error
    }
  }
}

// ### Configuration and limits
// BILLING_SOCKUDO_URL, BILLING_SOCKUDO_TIMEOUT, ... for a second app beside the default one
export const Billing = SockudoConfig.layerFromConfig(SockudoConfig.config.pipe(Config.nested("BILLING")))
