/**
 * The README's history, versioned messages, annotations and Promise sections, type-checked with
 * the rest of the project.
 */
import { Effect, Redacted, Stream } from "effect"
import { PromiseClient, Sockudo } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"

export const tour = Effect.gen(function* () {
  const sockudo = yield* Sockudo.Sockudo

  // One page, or every item as a Stream that fetches the next page only when it is needed
  const page = yield* sockudo.history.list("chat", { limit: 50, direction: "oldest_first" })
  const last20 = yield* sockudo.history.stream("chat").pipe(Stream.take(20), Stream.runCollect)

  // Versioned messages: the serial comes from the trigger receipt (or a versioned history item)
  const receipt = yield* sockudo.trigger("chat", "message", "hello")
  const serial = receipt.channels.chat?.message_serial
  if (serial === undefined) return
  yield* sockudo.messages.update("chat", serial, { data: "hello, edited", opId: "edit-42" })
  yield* sockudo.messages.append("chat", serial, " and more")
  const latest = yield* sockudo.messages.get("chat", serial)

  // Annotations, checked against the summarizer's rules before sending
  yield* sockudo.annotations.publish("chat", serial, { type: "reactions:distinct.v1", name: "like", clientId: "u1" })
  return { page, last20, latest }
})

export const withoutEffect = async (url: string) => {
  await using sockudo = await PromiseClient.make(SockudoNode.layerFromUrl(Redacted.make(url)))
  await sockudo.trigger("orders", "order.created", { id: "ord_1" })
  for await (const item of sockudo.history.stream("orders")) console.log(item.serial)
}
