/**
 * Capability-token revocation against the real server and the emulator: `revocations.revoke`
 * by token id and by client id closes the Protocol V2 connections that use such a token, and
 * later connections with it are refused.
 */
import { expect } from "vitest"
import type { PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

/**
 * What a client sees of a revocation: the frames after `connection_established` (event and data;
 * the V2 envelope's `message_id` is the server's own), and the close.
 */
const revoked = async (client: PeerClient) => ({
  closed: await client.closed(),
  frames: client
    .frames()
    .slice(1)
    .map((f) => ({ event: f.event, data: f.data }))
})

const revokedAs = {
  closed: { code: 4009, reason: "capability token revoked" },
  frames: [
    { event: "sockudo:token_expired", data: { code: 40160, reason: "revoked" } },
    // The close's own error frame keeps its V1 name on a V2 connection.
    { event: "pusher:error", data: { code: 4009, message: "capability token revoked" } }
  ]
}

/** A later event on `channel` reached `client`: it is still connected. */
const stillConnected = async (s: Session, client: PeerClient) => {
  const channel = s.name("after")
  expect(await client.subscribe(channel)).toEqual({ ok: true })
  await s.sdk.run((sdk) => sdk.trigger(channel, "still-there", {}))
  await client.waitFor("the later event", () => client.events(channel).length >= 1)
}

/** How a connection with a revoked token is refused. */
const refusal = async (s: Session, token: { jti: string; clientId: string }) =>
  s.connect({ token }).then(
    () => "connected",
    (error: unknown) => String((error as Error).message)
  )

differential(peers, "revoke by jti closes the connection using that token", async (s) => {
  const [jti, other] = [s.name("jti"), s.name("other-jti")]
  const clientId = s.name("client")
  const target = await s.connect({ token: { jti, clientId } })
  const sibling = await s.connect({ token: { jti: other, clientId } })
  const result = await s.sdk.run((sdk) => sdk.revocations.revoke({ jti }))
  expect(result).toEqual({ revoked_jti: true, revoked_client_id: false, closed_connections: 1 })
  expect(await revoked(target)).toEqual(revokedAs)
  await stillConnected(s, sibling)
  expect(await refusal(s, { jti, clientId: s.name("someone-else") })).toBe(
    "could not connect: closed 4009 Authentication error: capability token has been revoked"
  )
})

differential(peers, "revoke by clientId closes every connection of that client", async (s) => {
  const clientId = s.name("client")
  const [a, b] = [
    await s.connect({ token: { jti: s.name("a"), clientId } }),
    await s.connect({ token: { jti: s.name("b"), clientId } })
  ]
  const bystander = await s.connect({ token: { jti: s.name("c"), clientId: s.name("bystander") } })
  const plain = await s.connect({ protocol: 2 })
  const result = await s.sdk.run((sdk) =>
    sdk.revocations.revoke({ clientId, ttlSeconds: 600, reason: "account locked" })
  )
  expect(result).toEqual({ revoked_jti: false, revoked_client_id: true, closed_connections: 2 })
  // The reason is stored with the revocation; the clients are told "revoked".
  expect(await revoked(a)).toEqual(revokedAs)
  expect(await revoked(b)).toEqual(revokedAs)
  await stillConnected(s, bystander)
  await stillConnected(s, plain)
  expect(await refusal(s, { jti: s.name("fresh"), clientId })).toBe(
    "could not connect: closed 4009 Authentication error: capability token has been revoked"
  )
})

differential(peers, "revoke both at once, and nothing to close", async (s) => {
  const result = await s.sdk.run((sdk) =>
    sdk.revocations.revoke({ jti: s.name("unused"), clientId: s.name("nobody"), expiresAt: 4_102_444_800 })
  )
  expect(result).toEqual({ revoked_jti: true, revoked_client_id: true, closed_connections: 0 })
})

differential(peers, "a revocation without ids: the SDK and the server refuse", async (s) => {
  expect(await s.sdk.fail((sdk) => sdk.revocations.revoke({ reason: "x" }))).toMatchObject({
    _tag: "SockudoValidationError",
    field: "jti"
  })
  expect(await s.sdk.raw("POST", "/revocations", { body: JSON.stringify({ reason: "x" }) })).toEqual({
    status: 401,
    body: { error: "revocation requires jti or client_id", code: "auth_failed", status: 401 }
  })
})
