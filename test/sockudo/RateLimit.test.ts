/**
 * The API rate limiter (the node of `config/ratelimit.toml`: 5 requests per 2 s per client
 * address): its 429 is a `SockudoRateLimitError` carrying `Retry-After`, and the SDK's retries
 * wait at least that long, then succeed.
 */
import { expect } from "vitest"
import { SockudoConfig } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import { servers } from "./support/env.ts"
import { emulatorOptions } from "./support/peers.ts"

const peers = usePeers({
  port: () => servers.rateLimitPort,
  emulator: (url) => ({ ...emulatorOptions(url), rateLimit: { maxRequests: 5, window: "2 seconds" } })
})

differential(peers, "the rate limiter's 429, and a retry that honours Retry-After", async (s) => {
  const channel = s.name("limited")
  // Wait for a fresh window, so that this scenario has the limiter to itself.
  await new Promise((resolve) => setTimeout(resolve, 2_100))
  for (let n = 0; n < 5; n++) await s.sdk.run((sdk) => sdk.trigger(channel, "e", { n }))
  const refused = await s.sdk.fail((sdk) => sdk.trigger(channel, "e", { n: 5 }))
  expect(refused).toMatchObject({ _tag: "SockudoRateLimitError", status: 429, isRetryable: true })
  const retryAfter = (refused as { retryAfterMillis?: number }).retryAfterMillis
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(2_000)

  // With retries on, the SDK waits out Retry-After (plus the second the limiter rounds it down
  // by: it answers 1 with 1.9 s of its window left) and the publish goes through.
  const retrying = s.sdkFor(s.sdk.app, { retry: SockudoConfig.defaultRetrySchedule })
  const before = s.exchanges().length
  await retrying.run((sdk) => sdk.trigger(channel, "e", { n: 6 }))
  const attempts = s.exchanges().slice(before)
  expect(attempts.at(-1)?.status).toBe(200)
  for (let i = 1; i < attempts.length; i++) {
    const previous = attempts[i - 1]!
    if (previous.status === 429) {
      expect(attempts[i]!.at - previous.at).toBeGreaterThanOrEqual(Number(previous.retryAfter) * 1000 - 50)
    }
  }
})
