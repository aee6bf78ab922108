/**
 * User control against the real server and the emulator: `users.terminateConnections` and
 * `users.forceReconnect` close every connection of a user (signed in, or known only as a
 * presence member) with the code a client acts on, and no one else's.
 */
import { expect } from "vitest"
import type { Closed, PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

const signin = async (s: Session, client: PeerClient, id: string) => {
  const auth = await s.sdk.run((sdk) => sdk.authenticateUser(client.socketId, { id, name: id }))
  expect(await client.signin(auth)).toEqual({ ok: true })
}

const join = async (s: Session, client: PeerClient, channel: string, userId: string) => {
  const auth = await s.sdk.run((sdk) => sdk.authorizeChannel(client.socketId, channel, { user_id: userId }))
  expect(await client.subscribe(channel, auth)).toEqual({ ok: true })
}

/** The frame a client receives just before the server closes it: the close code and reason. */
const lastFrame = (client: PeerClient) => client.frames().at(-1)

const errorFrame = (closed: Closed) => ({ event: "pusher:error", data: { code: closed.code, message: closed.reason } })

/** A later event on `channel` reached every one of `clients`: they are still connected. */
const stillConnected = async (s: Session, channel: string, clients: ReadonlyArray<PeerClient>) => {
  await s.sdk.run((sdk) => sdk.trigger(channel, "still-there", {}))
  for (const client of clients) {
    await client.waitFor("the later event", () => client.events(channel).some((e) => e.event === "still-there"))
  }
}

const operations = [
  {
    title: "users.terminateConnections",
    run: (s: Session, user: string) => s.sdk.run((sdk) => sdk.users.terminateConnections(user)),
    closed: { code: 4009, reason: "You got disconnected by the app." }
  },
  {
    title: "users.forceReconnect",
    run: (s: Session, user: string) => s.sdk.run((sdk) => sdk.users.forceReconnect(user)),
    closed: { code: 4200, reason: "Force reconnect requested by the app." }
  }
] as const

for (const operation of operations) {
  differential(peers, `${operation.title} closes both connections of a signed-in user, no one else's`, async (s) => {
    const user = s.name("ada")
    const other = s.name("bob")
    const channel = s.name("news")
    const [first, second, stranger] = [await s.connect(), await s.connect(), await s.connect()]
    await signin(s, first, user)
    await signin(s, second, user)
    await signin(s, stranger, other)
    for (const client of [first, second, stranger]) await client.subscribe(channel)

    expect(await operation.run(s, user)).toBeUndefined()
    const closed: Array<Closed> = [await first.closed(), await second.closed()]
    expect(closed).toEqual([operation.closed, operation.closed])
    expect([lastFrame(first), lastFrame(second)]).toEqual([errorFrame(operation.closed), errorFrame(operation.closed)])
    await stillConnected(s, channel, [stranger])
    expect(stranger.events(channel).map((e) => e.event)).toEqual(["still-there"])
    expect(first.events(channel)).toEqual([])
  })

  differential(peers, `${operation.title} closes a presence member who did not sign in`, async (s) => {
    const room = `presence-${s.name("room")}`
    const member = s.name("cy")
    const [guest, host] = [await s.connect(), await s.connect()]
    await join(s, guest, room, member)
    await join(s, host, room, s.name("host"))

    await operation.run(s, member)
    expect(await guest.closed()).toEqual(operation.closed)
    expect(lastFrame(guest)).toEqual(errorFrame(operation.closed))
    await stillConnected(s, room, [host])
    // The member's departure reached the others.
    await host.waitFor("member_removed", () =>
      host.frames().some((f) => f.event === "pusher_internal:member_removed" && f.channel === room)
    )
    expect(host.frames().filter((f) => f.event === "pusher_internal:member_removed")).toMatchObject([
      { channel: room, data: { user_id: member } }
    ])
  })
}

differential(peers, "an unknown user: nothing to close, still ok", async (s) => {
  const client = await s.connect()
  const channel = s.name("quiet")
  await client.subscribe(channel)
  await s.sdk.run((sdk) => sdk.users.terminateConnections(s.name("nobody")))
  await s.sdk.run((sdk) => sdk.users.forceReconnect(s.name("nobody")))
  await stillConnected(s, channel, [client])
})
