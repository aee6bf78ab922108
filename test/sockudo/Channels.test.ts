/**
 * Channel state against the real server and the emulator: one channel's occupancy and counts,
 * a cache channel's last event, a presence channel's members, and the list of occupied channels.
 */
import type * as Effect from "effect/Effect"
import { expect } from "vitest"
import type { Sockudo } from "../../src/index.ts"
import { type PeerClient, sleep } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import type { Session } from "./support/peers.ts"
import { makeSdk } from "./support/sdk.ts"

const peers = usePeers()

/** Subscribes `client` to a presence channel as `userId`, with the auth the app's server hands out. */
const join = async (s: Session, client: PeerClient, channel: string, userId: string) => {
  const auth = await s.sdk.run((sdk) => sdk.authorizeChannel(client.socketId, channel, { user_id: userId }))
  expect(await client.subscribe(channel, auth)).toEqual({ ok: true })
}

/**
 * Waits until `read` (a channel state read) satisfies `done`. The real server handles a client's
 * departure asynchronously, so this polls, with an SDK whose exchanges are not compared.
 */
const settled = async <A>(
  s: Session,
  what: string,
  read: (sdk: Sockudo.Service) => Effect.Effect<A, unknown>,
  done: (a: A) => boolean
) => {
  const probe = makeSdk(s.peer.baseUrl, apps.test)
  try {
    const deadline = Date.now() + 5_000
    while (!done(await probe.run(read))) {
      if (Date.now() > deadline) throw new Error(`timed out after 5 s waiting for ${what}`)
      await sleep(20)
    }
  } finally {
    await probe.dispose()
  }
}

const vacated = (s: Session, channel: string) =>
  settled(
    s,
    `${channel} to be vacated`,
    (sdk) => sdk.channels.get(channel),
    (state) => !state.occupied
  )

differential(peers, "channels.get: occupancy and subscription_count", async (s) => {
  const channel = s.name("lobby")
  const nobody = s.name("nobody")
  expect(await s.sdk.run((sdk) => sdk.channels.get(nobody, { info: ["subscription_count"] }))).toEqual({
    occupied: false,
    subscription_count: 0
  })
  const a = await s.connect()
  const b = await s.connect()
  await a.subscribe(channel)
  await b.subscribe(channel)
  expect(await s.sdk.run((sdk) => sdk.channels.get(channel))).toEqual({ occupied: true })
  expect(await s.sdk.run((sdk) => sdk.channels.get(channel, { info: ["subscription_count"] }))).toEqual({
    occupied: true,
    subscription_count: 2
  })
  await a.unsubscribe(channel)
  await b.disconnect()
  await vacated(s, channel)
  expect(await s.sdk.run((sdk) => sdk.channels.get(channel, { info: ["subscription_count"] }))).toEqual({
    occupied: false,
    subscription_count: 0
  })
})

differential(peers, "channels.get on a presence channel: user_count counts users, not connections", async (s) => {
  const room = `presence-${s.name("room")}`
  const [ada1, ada2, bob] = [await s.connect(), await s.connect(), await s.connect()]
  await join(s, ada1, room, "ada")
  await join(s, ada2, room, "ada")
  await join(s, bob, room, "bob")
  expect(await s.sdk.run((sdk) => sdk.channels.get(room, { info: ["user_count", "subscription_count"] }))).toEqual({
    occupied: true,
    user_count: 2,
    subscription_count: 3
  })
  expect((await s.sdk.run((sdk) => sdk.channels.users(room))).users.map((u) => u.id).sort()).toEqual(["ada", "bob"])
  // One of ada's connections leaves: she is still there. Then bob leaves.
  await ada2.disconnect()
  await bob.disconnect()
  await settled(
    s,
    "one connection left",
    (sdk) => sdk.channels.get(room, { info: ["subscription_count"] }),
    (state) => state.subscription_count === 1
  )
  expect(await s.sdk.run((sdk) => sdk.channels.get(room, { info: ["user_count", "subscription_count"] }))).toEqual({
    occupied: true,
    user_count: 1,
    subscription_count: 1
  })
  expect(await s.sdk.run((sdk) => sdk.channels.users(room))).toEqual({ users: [{ id: "ada" }] })
})

differential(peers, "user_count and users only for presence channels: the SDK and the server refuse", async (s) => {
  const channel = s.name("plain")
  const client = await s.connect()
  await client.subscribe(channel)
  expect(await s.sdk.fail((sdk) => sdk.channels.get(channel, { info: ["user_count"] }))).toMatchObject({
    _tag: "SockudoValidationError",
    field: "info"
  })
  expect(await s.sdk.fail((sdk) => sdk.channels.users(channel))).toMatchObject({
    _tag: "SockudoValidationError",
    field: "channel"
  })
  // What the server answers when asked anyway.
  expect(await s.sdk.raw("GET", `/channels/${channel}`, { query: { info: "user_count" } })).toEqual({
    status: 400,
    body: { error: "user_count is only available for presence channels", code: "invalid_input", status: 400 }
  })
  expect(await s.sdk.raw("GET", `/channels/${channel}/users`)).toEqual({
    status: 400,
    body: { error: "Only presence channels support this endpoint", code: "invalid_input", status: 400 }
  })
})

differential(peers, "a cache channel keeps its last event", async (s) => {
  const channel = `cache-${s.name("ticker")}`
  expect(await s.sdk.run((sdk) => sdk.channels.get(channel, { info: ["cache"] }))).toEqual({ occupied: false })
  await s.sdk.run((sdk) => sdk.trigger(channel, "tick", { n: 1 }))
  await s.sdk.run((sdk) => sdk.trigger(channel, "tick", { n: 2 }))
  const state = await s.sdk.run((sdk) => sdk.channels.get(channel, { info: ["cache", "subscription_count"] }))
  // The memory cache driver reports its own TTL (node.toml's cache.memory.ttl, 120 s; 300 s by
  // default), not the 3600 s the server asks for.
  expect(state).toMatchObject({ occupied: false, subscription_count: 0, cache: { ttl: 120 } })
  expect(JSON.parse(state.cache!.data)).toEqual({ event: "tick", channel, data: JSON.stringify({ n: 2 }) })
  // A subscriber gets that event at once.
  const client = await s.connect()
  await client.subscribe(channel)
  await client.waitFor("the cached event", () => client.events(channel).length >= 1)
  expect(client.events(channel)).toMatchObject([{ event: "tick", channel, data: { n: 2 } }])
})

differential(peers, "channels.list: by prefix, with and without info", async (s) => {
  const prefix = s.name("list")
  const [a, b] = [`${prefix}-a`, `${prefix}-b`]
  const room = `presence-${prefix}-room`
  const x = await s.connect()
  const y = await s.connect()
  await x.subscribe(a)
  await y.subscribe(a)
  await y.subscribe(b)
  await join(s, x, room, "ada")
  await join(s, y, room, "bob")
  expect(await s.sdk.run((sdk) => sdk.channels.list({ filterByPrefix: prefix }))).toEqual({
    channels: { [a]: {}, [b]: {} }
  })
  expect(await s.sdk.run((sdk) => sdk.channels.list({ filterByPrefix: prefix, info: ["subscription_count"] }))).toEqual(
    { channels: { [a]: { subscription_count: 2 }, [b]: { subscription_count: 1 } } }
  )
  // user_count needs a presence- prefix (the server caches each prefix's answer: this one is the scenario's own).
  expect(
    await s.sdk.run((sdk) =>
      sdk.channels.list({ filterByPrefix: `presence-${prefix}`, info: ["user_count", "subscription_count"] })
    )
  ).toEqual({ channels: { [room]: { user_count: 2, subscription_count: 2 } } })
  // user_count over channels that are not all presence channels: the SDK refuses, so does the server.
  expect(await s.sdk.fail((sdk) => sdk.channels.list({ filterByPrefix: prefix, info: ["user_count"] }))).toMatchObject({
    _tag: "SockudoValidationError",
    field: "info"
  })
  expect(await s.sdk.raw("GET", "/channels", { query: { filter_by_prefix: prefix, info: "user_count" } })).toEqual({
    status: 400,
    body: {
      error: "user_count is only available for presence channels. Use filter_by_prefix=presence-",
      code: "invalid_input",
      status: 400
    }
  })
})

differential(peers, "channels.list: a vacated channel leaves the list", async (s) => {
  const prefix = s.name("gone")
  const [stays, leaves] = [`${prefix}-stays`, `${prefix}-leaves`]
  const keeper = await s.connect()
  const leaver = await s.connect()
  await keeper.subscribe(stays)
  await leaver.subscribe(leaves)
  expect(await s.sdk.run((sdk) => sdk.channels.list({ filterByPrefix: prefix }))).toEqual({
    channels: { [stays]: {}, [leaves]: {} }
  })
  await leaver.disconnect()
  await vacated(s, leaves)
  // The same query is answered from the server's cache; another prefix is computed afresh.
  expect(await s.sdk.run((sdk) => sdk.channels.list({ filterByPrefix: prefix }))).toEqual({
    channels: { [stays]: {}, [leaves]: {} }
  })
  expect(await s.sdk.run((sdk) => sdk.channels.list({ filterByPrefix: `${prefix}-` }))).toEqual({
    channels: { [stays]: {} }
  })
})
