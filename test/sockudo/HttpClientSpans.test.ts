/**
 * `httpClientSpans: true` against the real server and the emulator. With it the signature travels
 * as a redacted URL parameter of the HttpClient's request, which serialises the query its own way
 * (the URL standard's encoding): the server must still accept every request, whose parameters and
 * path need encoding.
 */
import { expect } from "vitest"
import { differential, usePeers } from "./support/differential.ts"
import { apps } from "./support/env.ts"
import { makeSdk } from "./support/sdk.ts"

const peers = usePeers()

differential(peers, "with httpClientSpans, requests whose query and path need encoding are accepted", async (s) => {
  // `=` and `@` are allowed in channel names and percent-encoded in a query; the room's name
  // is also a path segment of channels.get and channels.users.
  const prefix = `presence-${s.name("spans")}=a@b`
  const room = `${prefix}d`
  const client = await s.connect()
  const auth = await s.sdk.run((sdk) => sdk.authorizeChannel(client.socketId, room, { user_id: "ada" }))
  expect(await client.subscribe(room, auth)).toEqual({ ok: true })
  const traced = makeSdk(s.peer.baseUrl, apps.test, undefined, { httpClientSpans: true })
  try {
    expect(
      await traced.run((sdk) => sdk.channels.list({ filterByPrefix: prefix, info: ["user_count"] }))
    ).toMatchObject({ channels: { [room]: { user_count: 1 } } })
    expect(
      await traced.run((sdk) => sdk.channels.get(room, { info: ["user_count", "subscription_count"] }))
    ).toMatchObject({
      occupied: true,
      user_count: 1,
      subscription_count: 1
    })
    expect(await traced.run((sdk) => sdk.channels.users(room))).toMatchObject({ users: [{ id: "ada" }] })
    await traced.run((sdk) => sdk.trigger(room, "note", { text: "zażółć & co ~+" }))
    await client.waitFor("the event", () => client.events(room).some((e) => e.event === "note"))
  } finally {
    await traced.dispose()
  }
})
