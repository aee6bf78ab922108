/**
 * Push publishes in time against the real server and the emulator: a publish held until
 * `notBeforeMs` (and what `cancelScheduled` does to it), and one whose `expiresAtMs` passed.
 * Each expires before it can be dispatched, so no delivery fails here (see `PushPublish.test.ts`
 * for the server's WNS circuit breaker).
 */
import { expect } from "vitest"
import { Push } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import { freshPushState, registerWns, useClosedPort, waitForPublish, zeroCounters as zero } from "./support/push.ts"

const peers = usePeers()
const closed = useClosedPort()

differential(
  peers,
  "push scheduled publish: held until notBeforeMs; cancelScheduled does not stop it",
  async (s) => {
    await freshPushState(s.peer)
    const { device } = await registerWns(s, closed(), "desk")
    const publishId = s.name("later")
    // Due in 2.5 s and expired after 2 s: when it is taken up, it expires instead of failing.
    const notBeforeMs = Date.now() + 2500
    const request = {
      publishId,
      recipients: [Push.target.device(device.id)],
      payload: { title: "Later" },
      notBeforeMs,
      expiresAtMs: notBeforeMs - 500
    }
    expect(await s.sdk.run((sdk) => sdk.push.schedule(request))).toMatchObject({
      publishId,
      status: "accepted",
      expectedRecipients: 1
    })
    await waitForPublish(s.peer, publishId, (status) => status.state === "dispatching")
    const held = await s.sdk.run((sdk) => sdk.push.status(publishId))
    expect(held).toMatchObject({ state: "dispatching", counters: { ...zero, planned: 1 }, retryAfterMs: notBeforeMs })

    // 5.0.1 keeps no scheduler job for an HTTP publish: the cancellation finds nothing to delete.
    await s.sdk.run((sdk) => sdk.push.cancelScheduled(publishId))
    expect(await s.sdk.run((sdk) => sdk.push.status(publishId))).toEqual(held)

    await waitForPublish(s.peer, publishId)
    expect(Date.now()).toBeGreaterThanOrEqual(notBeforeMs)
    expect(await s.sdk.run((sdk) => sdk.push.status(publishId))).toMatchObject({
      state: "expired",
      counters: { ...zero, planned: 1, dispatched: 1, expired: 1 },
      retryAfterMs: notBeforeMs
    })
    expect(await s.sdk.run((sdk) => sdk.push.devices.get(device.id))).toMatchObject({ id: device.id })
  },
  { timeout: 30_000 }
)

differential(peers, "push publish: past expiresAtMs, delivered as expired; the device stays registered", async (s) => {
  await freshPushState(s.peer)
  const { device } = await registerWns(s, closed(), "desk")
  const publishId = s.name("stale")
  const request = {
    publishId,
    recipients: [Push.target.device(device.id)],
    payload: { title: "Stale" },
    expiresAtMs: Date.now() - 1000
  }
  expect(await s.sdk.run((sdk) => sdk.push.publish(request))).toMatchObject({ status: "accepted" })
  await waitForPublish(s.peer, publishId)
  expect(await s.sdk.run((sdk) => sdk.push.status(publishId))).toMatchObject({
    state: "expired",
    counters: { ...zero, planned: 1, dispatched: 1, expired: 1 }
  })
  expect(await s.sdk.run((sdk) => sdk.push.devices.get(device.id))).toMatchObject({ id: device.id })
  // Its dedupe record expired with it, but the status remains: the same id still answers it.
  expect(await s.sdk.run((sdk) => sdk.push.publish(request))).toMatchObject({ publishId, status: "expired" })
})
