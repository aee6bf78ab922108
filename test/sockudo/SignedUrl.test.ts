/**
 * `sockudo.signedUrl` against the real server and the emulator: URLs sent with plain `fetch`
 * (a GET whose parameters need encoding, a POST with a body, a DELETE) are accepted and do what
 * they say; a URL with one byte changed is refused.
 */
import { expect } from "vitest"
import type { PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

type Method = "GET" | "POST" | "DELETE"

const sign = (
  s: Session,
  method: Method,
  path: string,
  params?: Readonly<Record<string, string | number | boolean>>,
  body?: unknown
) => s.sdk.run((sdk) => sdk.signedUrl(method, path, params, body))

/** Sends a request with plain `fetch`; resolves with the status and the JSON (else text) body. */
const send = async (method: Method, url: string, body?: string) => {
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } })
  })
  const text = await response.text()
  try {
    return { status: response.status, body: JSON.parse(text) as unknown }
  } catch {
    return { status: response.status, body: text }
  }
}

const join = async (s: Session, client: PeerClient, channel: string, userId: string) => {
  const auth = await s.sdk.run((sdk) => sdk.authorizeChannel(client.socketId, channel, { user_id: userId }))
  expect(await client.subscribe(channel, auth)).toEqual({ ok: true })
}

differential(peers, "signedUrl: a GET whose parameters need encoding", async (s) => {
  // `=` and `@` are allowed in channel names and percent-encoded in a query, as is info's `,`.
  const prefix = `presence-${s.name("q")}=a@b`
  const room = `${prefix}d`
  const client = await s.connect()
  await join(s, client, room, "ada")
  const url = await sign(s, "GET", "/channels", { filter_by_prefix: prefix, info: "user_count,subscription_count" })
  expect(new URL(url).searchParams.get("filter_by_prefix")).toBe(prefix)
  expect(await send("GET", url)).toEqual({
    status: 200,
    body: { channels: { [room]: { user_count: 1, subscription_count: 1 } } }
  })
  // The channel's own path, percent-encoded as `signedUrl` expects.
  const users = await sign(s, "GET", `/channels/${encodeURIComponent(room)}/users`)
  expect(await send("GET", users)).toEqual({ status: 200, body: { users: [{ id: "ada" }] } })
})

differential(peers, "signedUrl: a POST with a body publishes", async (s) => {
  const channel = s.name("orders")
  const client = await s.connect()
  await client.subscribe(channel)
  const body = { name: "order.created", channel, data: JSON.stringify({ id: "ord_1", note: "zażółć & co" }) }
  const url = await sign(s, "POST", "/events", {}, body)
  expect(await send("POST", url, JSON.stringify(body))).toEqual({ status: 200, body: { ok: true } })
  await client.waitFor("the event", () => client.events(channel).length >= 1)
  expect(client.events(channel)).toMatchObject([
    { event: "order.created", channel, data: { id: "ord_1", note: "zażółć & co" } }
  ])
})

differential(peers, "signedUrl: a DELETE removes an annotation", async (s) => {
  const channel = s.name("posts")
  const published = await s.sdk.run((sdk) => sdk.trigger(channel, "post", { text: "hi" }, { info: [] }))
  const serial = published.channels[channel]!.message_serial!
  const type = "reactions:distinct.v1" as const
  const { annotationSerial } = await s.sdk.run((sdk) =>
    sdk.annotations.publish(channel, serial, { type, name: "👍", clientId: "ada" })
  )
  const path = `/channels/${channel}/messages/${encodeURIComponent(serial)}/annotations/${encodeURIComponent(annotationSerial)}`
  const deleted = await send("DELETE", await sign(s, "DELETE", path))
  expect(deleted).toMatchObject({ status: 200, body: { deletedAnnotationSerial: annotationSerial } })
  const events = (await s.sdk.run((sdk) => sdk.annotations.list(channel, serial))).items
  expect(events.map((e) => e.action)).toEqual(["annotation.create", "annotation.delete"])
})

/** `url` with the character at `index` replaced by another one of the same kind. */
const changeByte = (url: string, index: number) => {
  const c = url[index]!
  const other = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : c === "a" ? "b" : "a"
  return `${url.slice(0, index)}${other}${url.slice(index + 1)}`
}

differential(peers, "signedUrl: one byte changed and the server refuses", async (s) => {
  const channel = s.name("tamper")
  const client = await s.connect()
  await client.subscribe(channel)
  const url = await sign(s, "GET", `/channels/${channel}`, { info: "subscription_count" })
  const signature = url.indexOf("auth_signature=") + "auth_signature=".length
  const invalid = { status: 401, body: { error: "Invalid API signature", code: "auth_failed", status: 401 } }
  expect(await send("GET", changeByte(url, signature + 5))).toEqual(invalid)
  // A changed parameter, path or timestamp no longer matches the signature.
  expect(await send("GET", url.replace("info=subscription_count", "info=subscription_counu"))).toEqual(invalid)
  expect(await send("GET", url.replace(`/channels/${channel}`, `/channels/${channel.slice(0, -1)}x`))).toEqual(invalid)
  const timestamp = url.indexOf("auth_timestamp=") + "auth_timestamp=".length
  expect(await send("GET", changeByte(url, timestamp + 9))).toEqual(invalid)
  // A changed body no longer matches its body_md5.
  const body = { name: "e", channel, data: "1" }
  const post = await sign(s, "POST", "/events", {}, body)
  expect(await send("POST", post, JSON.stringify({ ...body, data: "2" }))).toMatchObject({ status: 401 })
  // The untouched URLs are accepted.
  expect(await send("GET", url)).toEqual({ status: 200, body: { occupied: true, subscription_count: 1 } })
  expect(await send("POST", post, JSON.stringify(body))).toEqual({ status: 200, body: { ok: true } })
  await client.waitFor("the one event", () => client.events(channel).length >= 1)
  expect(client.events(channel).map((e) => e.data)).toEqual([1])
})
