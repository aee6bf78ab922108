/**
 * The server's refusals, each mapped to the typed error a caller can act on: limits the SDK
 * leaves to the server, unknown serials, switched-off features, idempotency replays and keys
 * poisoned by a failure. (The rate limiter is in RateLimit.test.ts: it runs on its own node.)
 */
import { randomUUID } from "node:crypto"
import { expect } from "vitest"
import type { SockudoError } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"

const peers = usePeers()

/** What a caller sees of a failure: its tag, status, server code and whether to retry. */
const seen = (error: unknown) => {
  const e = error as SockudoError.SockudoError & { status?: number; code?: string }
  return { tag: e._tag, status: e.status, code: e.code, retryable: e.isRetryable }
}

differential(peers, "limits the server enforces (the SDK's own are off)", async (s) => {
  const limited = s.sdkFor(apps.limits)
  const channel = s.name("lim")
  const client = await s.connect({ app: apps.limits })
  await client.subscribe(channel)

  // 4 KB is the app's payload limit: 4096 bytes of data pass, 4097 do not.
  await limited.run((sdk) => sdk.trigger(channel, "fits", "x".repeat(4096)))
  expect(seen(await limited.fail((sdk) => sdk.trigger(channel, "too-big", "x".repeat(4097))))).toEqual({
    tag: "SockudoClientError",
    status: 413,
    code: "payload_too_large",
    retryable: false
  })
  const batch = [1, 2, 3, 4].map((n) => ({ channel, name: "item", data: { n } }))
  expect(seen(await limited.fail((sdk) => sdk.triggerBatch(batch)))).toEqual({
    tag: "SockudoClientError",
    status: 400,
    code: "limit_exceeded",
    retryable: false
  })
  const channels = ["a", "b", "c", "d"].map((c) => s.name(c))
  expect(seen(await limited.fail((sdk) => sdk.trigger(channels, "wide", {})))).toEqual({
    tag: "SockudoClientError",
    status: 400,
    code: "limit_exceeded",
    retryable: false
  })
  expect(seen(await limited.fail((sdk) => sdk.trigger(channel, "e".repeat(21), {})))).toEqual({
    tag: "SockudoClientError",
    status: 400,
    code: "limit_exceeded",
    retryable: false
  })
  expect(seen(await limited.fail((sdk) => sdk.trigger(`${channel}-${"n".repeat(40)}`, "long-channel", {})))).toEqual({
    tag: "SockudoClientError",
    status: 400,
    code: "invalid_input",
    retryable: false
  })
  // Only the publish that fitted reached the client.
  await limited.run((sdk) => sdk.trigger(channel, "fence", {}))
  await client.waitFor("the fence", () => client.events(channel).length >= 2)
  expect(client.events(channel).map((e) => e.event)).toEqual(["fits", "fence"])
})

differential(peers, "an unknown message serial is not found", async (s) => {
  const channel = s.name("versions")
  const missing = "00000000000000000001:nobody:00000000000000000001"
  expect(seen(await s.sdk.fail((sdk) => sdk.messages.get(channel, missing)))).toEqual({
    tag: "SockudoNotFoundError",
    status: 404,
    code: "not_found",
    retryable: false
  })
  expect(seen(await s.sdk.fail((sdk) => sdk.messages.update(channel, missing, { data: "new" })))).toMatchObject({
    tag: "SockudoNotFoundError",
    status: 404
  })
  // Listing the annotations of an unknown message is not an error: there are none.
  expect((await s.sdk.run((sdk) => sdk.annotations.list(channel, missing))).items).toEqual([])
})

differential(peers, "features switched off for an app", async (s) => {
  const off = s.sdkFor(apps.off)
  const channel = s.name("plain")
  const published = await off.run((sdk) => sdk.trigger(channel, "e", { n: 1 }, { info: [] }))
  expect(published.channels[channel]?.message_serial).toBeUndefined()
  expect(seen(await off.fail((sdk) => sdk.history.list(channel)))).toEqual({
    tag: "SockudoClientError",
    status: 422,
    code: "feature_disabled",
    retryable: false
  })
  expect(seen(await off.fail((sdk) => sdk.presenceHistory.list(`presence-${channel}`)))).toEqual({
    tag: "SockudoClientError",
    status: 422,
    code: "feature_disabled",
    retryable: false
  })
  const serial = "00000000000000000001:nobody:00000000000000000001"
  expect(seen(await off.fail((sdk) => sdk.messages.update(channel, serial, { data: "x" })))).toMatchObject({
    status: 422,
    code: "feature_disabled"
  })
  expect(
    seen(await off.fail((sdk) => sdk.annotations.publish(channel, serial, { type: "reactions:total.v1" })))
  ).toMatchObject({ status: 403, code: "forbidden", retryable: false })
})

differential(peers, "an idempotency replay answers what the first publish answered", async (s) => {
  const channel = s.name("replay")
  const client = await s.connect()
  await client.subscribe(channel)
  const key = `replay-${randomUUID()}`
  const first = await s.sdk.run((sdk) =>
    sdk.trigger(channel, "first", { n: 1 }, { idempotencyKey: key, info: ["subscription_count"] })
  )
  expect(first.channels[channel]).toMatchObject({ subscription_count: 1 })
  await client.waitFor("the first event", () => client.events(channel).length === 1)
  // Another payload and another channel under the same key: the first answer, nothing published.
  const other = s.name("other")
  const replay = await s.sdk.run((sdk) =>
    sdk.trigger(other, "second", { n: 2 }, { idempotencyKey: key, info: ["subscription_count"] })
  )
  expect(replay.channels).toEqual(first.channels)
  const history = await s.sdk.run((sdk) => sdk.history.list(other))
  expect(history.items).toEqual([])
})

differential(peers, "a key poisoned by a failure answers 503 backpressure", async (s) => {
  const limited = s.sdkFor(apps.limits)
  const channel = s.name("poison")
  const key = `poison-${randomUUID()}`
  expect(
    seen(await limited.fail((sdk) => sdk.trigger(channel, "too-big", "x".repeat(5000), { idempotencyKey: key })))
  ).toMatchObject({ status: 413, code: "payload_too_large" })
  const poisoned = await limited.fail((sdk) => sdk.trigger(channel, "small", "ok", { idempotencyKey: key }))
  expect(seen(poisoned)).toEqual({ tag: "SockudoServerError", status: 503, code: "backpressure", retryable: true })
  expect((poisoned as { retryAfterMillis?: number }).retryAfterMillis).toBe(1000)
  // A new key publishes.
  await limited.run((sdk) => sdk.trigger(channel, "small", "ok", { idempotencyKey: `${key}-new` }))
})
