/**
 * Push channel subscriptions against the real server and the emulator: which devices receive a
 * channel's pushes. Subscribing (as admin and as the device itself), listing by channel, by
 * device and all of them, the channels that have subscribers, and removal by channel or device.
 */
import { expect } from "vitest"
import type { Push } from "../../src/index.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"
import { freshPushState, seen, useClosedPort, wnsDevice } from "./support/push.ts"

const peers = usePeers()
const closed = useClosedPort()

/** Registers a device of the scenario; its id, token hash and identity token. */
const register = async (s: Session, base: string) => {
  const result = await s.sdk.run((sdk) => sdk.push.devices.activate(wnsDevice(s, closed(), base)))
  return { id: result.device.id, tokenHash: result.tokenHash, token: result.deviceIdentityToken! }
}

const pairs = (page: Push.PushPage<Push.ChannelSubscription>) => page.items.map((x) => [x.channel, x.deviceId])

differential(peers, "push subscriptions: subscribed, listed by channel, by device and all, then removed", async (s) => {
  await freshPushState(s.peer)
  const news = s.name("news")
  const sport = s.name("sport")
  const a = await register(s, "device-a")
  const b = await register(s, "device-b")
  const subscribe = (channel: string, device: typeof a, extra: Partial<Push.NewChannelSubscription> = {}) =>
    s.sdk.run((sdk) =>
      sdk.push.subscriptions.upsert({
        channel,
        deviceId: device.id,
        provider: "wns",
        tokenHash: device.tokenHash,
        ...extra
      })
    )
  expect(await subscribe(news, a, { clientId: s.name("ada"), credentialVersion: 2 })).toEqual({
    appId: "test-app",
    channel: news,
    deviceId: a.id,
    clientId: s.name("ada"),
    provider: "wns",
    tokenHash: a.tokenHash,
    credentialVersion: 2
  })
  await subscribe(news, b)
  await subscribe(sport, a)
  // Subscribing again replaces the subscription.
  expect(await subscribe(sport, a)).toMatchObject({ channel: sport, deviceId: a.id })

  expect(pairs(await s.sdk.run((sdk) => sdk.push.subscriptions.list({ channel: news })))).toEqual([
    [news, a.id],
    [news, b.id]
  ])
  expect(pairs(await s.sdk.run((sdk) => sdk.push.subscriptions.list({ deviceId: a.id })))).toEqual([
    [news, a.id],
    [sport, a.id]
  ])
  const firstTwo = await s.sdk.run((sdk) => sdk.push.subscriptions.list({ limit: 2 }))
  expect(firstTwo.has_more).toBe(true)
  const last = await s.sdk.run((sdk) => sdk.push.subscriptions.list({ limit: 2, cursor: firstTwo.next_cursor! }))
  expect([...pairs(firstTwo), ...pairs(last)]).toEqual([
    [news, a.id],
    [news, b.id],
    [sport, a.id]
  ])
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.channels())).toEqual({
    items: [news, sport],
    next_cursor: null,
    has_more: false
  })

  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.delete({ channel: news }))).toEqual({ deleted: 2 })
  expect(pairs(await s.sdk.run((sdk) => sdk.push.subscriptions.list()))).toEqual([[sport, a.id]])
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.delete({ deviceId: a.id }))).toEqual({ deleted: 1 })
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.channels())).toMatchObject({ items: [] })
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.delete({ channel: news }))).toEqual({ deleted: 0 })
})

differential(peers, "push subscriptions: a device manages its own subscriptions with its identity token", async (s) => {
  await freshPushState(s.peer)
  const news = s.name("news")
  const a = await register(s, "device-a")
  const b = await register(s, "device-b")
  const own = { deviceIdentityToken: a.token }
  expect(
    await s.sdk.run((sdk) =>
      sdk.push.subscriptions.upsert({ channel: news, deviceId: a.id, provider: "wns", tokenHash: a.tokenHash }, own)
    )
  ).toMatchObject({ channel: news, deviceId: a.id })
  // Subscribing another device with this token is refused.
  expect(
    seen(
      await s.sdk.fail((sdk) =>
        sdk.push.subscriptions.upsert({ channel: news, deviceId: b.id, provider: "wns", tokenHash: b.tokenHash }, own)
      )
    )
  ).toEqual({ tag: "SockudoAuthenticationError", status: 401, code: "auth_failed" })
  expect(pairs(await s.sdk.run((sdk) => sdk.push.subscriptions.list({ deviceId: a.id, ...own })))).toEqual([
    [news, a.id]
  ])
  expect(seen(await s.sdk.fail((sdk) => sdk.push.subscriptions.list({ deviceId: b.id, ...own })))).toEqual({
    tag: "SockudoAuthenticationError",
    status: 401,
    code: "auth_failed"
  })
  expect(seen(await s.sdk.fail((sdk) => sdk.push.subscriptions.delete({ deviceId: b.id }, own)))).toEqual({
    tag: "SockudoAuthenticationError",
    status: 401,
    code: "auth_failed"
  })
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.delete({ deviceId: a.id }, own))).toEqual({ deleted: 1 })
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.list())).toMatchObject({ items: [] })
  // The channel list is admin-only.
  expect(await s.sdk.run((sdk) => sdk.push.subscriptions.channels())).toMatchObject({ items: [] })
})
