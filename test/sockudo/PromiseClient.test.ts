/**
 * The Promise facade (`PromiseClient`) against the real server and the emulator: an operation
 * is a Promise, a Stream an async iterable, and a server refusal a rejection with the typed error.
 */
import * as Layer from "effect/Layer"
import { expect } from "vitest"
import { PromiseClient } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

/** The facade over the session's SDK, so that its exchanges are recorded and compared. */
const promised = async (s: Session) => PromiseClient.make(Layer.succeedContext(await s.sdk.runtime.context()))

differential(peers, "PromiseClient: a trigger reaches a client", async (s) => {
  await using sockudo = await promised(s)
  const channel = s.name("orders")
  const client = await s.connect()
  await client.subscribe(channel)
  const result = await sockudo.trigger(channel, "order.created", { id: "ord_1" }, { info: ["subscription_count"] })
  expect(result.channels[channel]).toMatchObject({ subscription_count: 1 })
  await client.waitFor("the event", () => client.events(channel).length >= 1)
  expect(client.events(channel)).toMatchObject([{ event: "order.created", data: { id: "ord_1" } }])
  expect(await sockudo.channels.get(channel, { info: ["subscription_count"] })).toEqual({
    occupied: true,
    subscription_count: 1
  })
})

differential(peers, "PromiseClient: history as an async iterable, page by page", async (s) => {
  await using sockudo = await promised(s)
  const channel = s.name("ledger")
  for (const n of [1, 2, 3, 4, 5]) await sockudo.trigger(channel, "entry", { n })
  const seen: Array<unknown> = []
  for await (const item of sockudo.history.stream(channel, { limit: 2, direction: "oldest_first" })) {
    seen.push(item.message.data)
  }
  expect(seen.map((data) => JSON.parse(String(data)))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }])
  // Three pages of at most two.
  expect(s.exchanges().filter((e) => e.path.endsWith("/history")).length).toBe(3)
})

differential(peers, "PromiseClient: a server refusal rejects with the typed error", async (s) => {
  await using sockudo = await promised(s)
  const channel = s.name("versions")
  const missing = "00000000000000000001:nobody:00000000000000000001"
  const error = await sockudo.messages.get(channel, missing).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toMatchObject({ _tag: "SockudoNotFoundError", status: 404, code: "not_found", isRetryable: false })
  // A refusal by the SDK itself rejects the same way, without a request.
  const before = s.exchanges().length
  await expect(sockudo.channels.users(channel)).rejects.toMatchObject({ _tag: "SockudoValidationError" })
  expect(s.exchanges().length).toBe(before)
})
