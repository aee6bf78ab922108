/**
 * Annotations against the real server and the emulator: a publish for each summarizer with its
 * field rules, the summaries Protocol V2 subscribers receive (`sockudo_internal:message`), lists
 * filtered by type and paged by the server's cursor, deletes (and deleting again), and the
 * webhooks.
 */
import * as Stream from "effect/Stream"
import { expect } from "vitest"
import type { Annotations, SockudoError } from "../../src/index.ts"
import type { Frame, PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

/** Summaries and single annotation events reach V2 connections as internal frames. */
const annotationFrames = /^sockudo_internal:(message|annotation)/

const seen = (error: unknown) => {
  const e = error as SockudoError.SockudoError & { status?: number; code?: string; message: string }
  return { tag: e._tag, status: e.status, code: e.code, message: e.message }
}

/** A versioned message on `channel` and a V2 connection that watches it. */
const message = async (s: Session, channel: string) => {
  const v2 = await s.connect({ protocol: 2 })
  expect(await v2.subscribe(channel)).toEqual({ ok: true })
  const result = await s.sdk.run((sdk) => sdk.trigger(channel, "post", "a post", { info: [] }))
  return { v2, serial: result.channels[channel]!.message_serial! }
}

/** The summaries a connection received, in order. */
const summaries = async (client: PeerClient, n: number): Promise<ReadonlyArray<unknown>> => {
  const pick = () =>
    client
      .frames()
      .filter((f: Frame) => f.event === "sockudo_internal:message")
      .map((f) => (f.data as { annotations?: { summary?: unknown } }).annotations?.summary)
  await client.waitFor(`${n} summaries`, () => pick().length >= n)
  return pick()
}

const publish = (s: Session, channel: string, serial: string, options: Annotations.PublishOptions) =>
  s.sdk.run((sdk) => sdk.annotations.publish(channel, serial, options))

differential(
  peers,
  "each summarizer summarises what was published",
  async (s) => {
    const channel = s.name("reactions")
    const { v2, serial } = await message(s, channel)
    await publish(s, channel, serial, { type: "views:total.v1" })
    await publish(s, channel, serial, { type: "views:total.v1", clientId: "ada" })
    await publish(s, channel, serial, { type: "pinned:flag.v1", clientId: "ada" })
    await publish(s, channel, serial, { type: "pinned:flag.v1", clientId: "ada" })
    await publish(s, channel, serial, { type: "emoji:distinct.v1", name: "👍", clientId: "ada" })
    await publish(s, channel, serial, { type: "emoji:distinct.v1", name: "👍", clientId: "bob" })
    await publish(s, channel, serial, { type: "emoji:distinct.v1", name: "👍", clientId: "bob" })
    await publish(s, channel, serial, { type: "poll:unique.v1", name: "yes", clientId: "ada" })
    await publish(s, channel, serial, { type: "poll:unique.v1", name: "no", clientId: "ada" })
    await publish(s, channel, serial, { type: "votes:multiple.v1", name: "up", count: 3, clientId: "ada" })
    await publish(s, channel, serial, { type: "votes:multiple.v1", name: "up" })
    const seenSummaries = await summaries(v2, 11)
    expect(seenSummaries).toEqual([
      { "views:total.v1": { total: 1 } },
      { "views:total.v1": { total: 2 } },
      { "pinned:flag.v1": { total: 1, clientIds: ["ada"], clipped: false } },
      { "pinned:flag.v1": { total: 1, clientIds: ["ada"], clipped: false } },
      { "emoji:distinct.v1": { "👍": { total: 1, clientIds: ["ada"], clipped: false } } },
      { "emoji:distinct.v1": { "👍": { total: 2, clientIds: ["ada", "bob"], clipped: false } } },
      { "emoji:distinct.v1": { "👍": { total: 2, clientIds: ["ada", "bob"], clipped: false } } },
      { "poll:unique.v1": { yes: { total: 1, clientIds: ["ada"], clipped: false } } },
      // unique: a client's newer choice replaces its older one.
      { "poll:unique.v1": { no: { total: 1, clientIds: ["ada"], clipped: false } } },
      {
        "votes:multiple.v1": {
          up: { total: 3, clientCounts: { ada: 3 }, totalClientIds: 1, totalUnidentified: 0, clipped: false }
        }
      },
      {
        "votes:multiple.v1": {
          up: { total: 4, clientCounts: { ada: 3 }, totalClientIds: 1, totalUnidentified: 1, clipped: false }
        }
      }
    ])
    const frame = v2.frames().find((f) => f.event === "sockudo_internal:message")
    expect(frame).toMatchObject({ channel, data: { action: "message.summary", serial }, extras: { ephemeral: true } })
    // Every publish is kept as an event, in order.
    const all = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial))
    expect(all.items.map((a) => [a.action, a.type, a.name, a.clientId, a.count])).toEqual([
      ["annotation.create", "views:total.v1", undefined, undefined, undefined],
      ["annotation.create", "views:total.v1", undefined, "ada", undefined],
      ["annotation.create", "pinned:flag.v1", undefined, "ada", undefined],
      ["annotation.create", "pinned:flag.v1", undefined, "ada", undefined],
      ["annotation.create", "emoji:distinct.v1", "👍", "ada", undefined],
      ["annotation.create", "emoji:distinct.v1", "👍", "bob", undefined],
      ["annotation.create", "emoji:distinct.v1", "👍", "bob", undefined],
      ["annotation.create", "poll:unique.v1", "yes", "ada", undefined],
      ["annotation.create", "poll:unique.v1", "no", "ada", undefined],
      ["annotation.create", "votes:multiple.v1", "up", "ada", 3],
      ["annotation.create", "votes:multiple.v1", "up", undefined, undefined]
    ])
    // The message itself is not changed by its annotations.
    expect((await s.sdk.run((sdk) => sdk.messages.get(channel, serial))).item.action).toBe("create")
  },
  { frames: annotationFrames }
)

differential(peers, "the field rules of each summarizer, as the server checks them", async (s) => {
  const channel = s.name("rules")
  const { serial } = await message(s, channel)
  const path = `/channels/${channel}/messages/${encodeURIComponent(serial)}/annotations`
  const post = (body: Record<string, unknown>) => s.sdk.raw("POST", path, { body: JSON.stringify(body) })
  const refused = [
    await post({ type: "pinned:flag.v1" }),
    await post({ type: "emoji:distinct.v1", clientId: "ada" }),
    await post({ type: "emoji:distinct.v1", name: "👍" }),
    await post({ type: "poll:unique.v1", name: " ", clientId: "ada" }),
    await post({ type: "votes:multiple.v1", clientId: "ada" }),
    await post({ type: "votes:multiple.v1", name: "up", count: 0 }),
    // The body is camelCase: a snake_case client_id is not read.
    await post({ type: "pinned:flag.v1", client_id: "ada" }),
    await post({ type: "reactions:sum.v1" }),
    await post({ type: "reactions:total.v2" }),
    await post({ type: "no-colon.v1" })
  ]
  for (const answer of refused) expect(answer).toMatchObject({ status: 400, body: { code: "invalid_input" } })
  // Sockudo 5.0.1 cannot read any `data` value into an annotation (a null is read as absent).
  expect(await post({ type: "views:total.v1", data: { a: 1 } })).toMatchObject({ status: 422 })
  expect(await post({ type: "views:total.v1", data: null })).toMatchObject({ status: 200 })
  // An unknown message is not found.
  expect(
    await s.sdk.raw("POST", `/channels/${channel}/messages/00000000000000000001:x:00000000000000000001/annotations`, {
      body: JSON.stringify({ type: "views:total.v1" })
    })
  ).toMatchObject({ status: 404, body: { code: "not_found" } })
  // Only the publish with a null data was kept.
  const kept = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial))
  expect(kept.items.map((a) => a.type)).toEqual(["views:total.v1"])
  // The SDK refuses what it can tell is wrong before sending anything.
  const before = s.exchanges().length
  expect(
    seen(await s.sdk.fail((sdk) => sdk.annotations.publish(channel, serial, { type: "pinned:flag.v1" })))
  ).toMatchObject({ tag: "SockudoValidationError" })
  expect(s.exchanges().length).toBe(before)
})

differential(peers, "annotations.list filters by type and pages by the server's cursor", async (s) => {
  const channel = s.name("listed")
  const { serial } = await message(s, channel)
  const published: Array<string> = []
  for (const [type, name] of [
    ["emoji:distinct.v1", "👍"],
    ["views:total.v1", undefined],
    ["emoji:distinct.v1", "🎉"],
    ["views:total.v1", undefined],
    ["emoji:distinct.v1", "👀"]
  ] as const) {
    published.push((await publish(s, channel, serial, { type, name, clientId: "ada" })).annotationSerial)
  }
  const first = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial, { limit: 2 }))
  expect(first).toMatchObject({ channel, messageSerial: serial, limit: 2, hasMore: true })
  expect(first.items.map((a) => a.serial)).toEqual(published.slice(0, 2))
  // The cursor is the last serial of the page; `fromSerial` is exclusive.
  expect(first.nextCursor).toBe(published[1])
  const second = await s.sdk.run((sdk) =>
    sdk.annotations.list(channel, serial, { limit: 2, fromSerial: first.nextCursor! })
  )
  expect(second.items.map((a) => a.serial)).toEqual(published.slice(2, 4))
  const last = await s.sdk.run((sdk) =>
    sdk.annotations.list(channel, serial, { limit: 2, fromSerial: second.nextCursor! })
  )
  expect(last).toMatchObject({ hasMore: false, nextCursor: null })
  expect(last.items.map((a) => a.serial)).toEqual(published.slice(4))

  const emoji = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial, { type: "emoji:distinct.v1" }))
  expect(emoji.items.map((a) => a.name)).toEqual(["👍", "🎉", "👀"])
  const before = s.exchanges().length
  const streamed = await s.sdk.run((sdk) =>
    Stream.runCollect(sdk.annotations.stream(channel, serial, { type: "emoji:distinct.v1", limit: 2 }))
  )
  expect(streamed.map((a) => a.serial)).toEqual([published[0], published[2], published[4]])
  expect(s.exchanges().length - before).toBe(2)
  const none = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial, { type: "poll:unique.v1" }))
  expect(none).toMatchObject({ items: [], hasMore: false })
})

differential(
  peers,
  "annotations.delete: a delete event, the summary updated, a second delete answered the same",
  async (s) => {
    const channel = s.name("undo")
    const { v2, serial } = await message(s, channel)
    const ada = await publish(s, channel, serial, { type: "emoji:distinct.v1", name: "👍", clientId: "ada" })
    await publish(s, channel, serial, { type: "emoji:distinct.v1", name: "👍", clientId: "bob" })
    const deleted = await s.sdk.run((sdk) => sdk.annotations.delete(channel, serial, ada.annotationSerial))
    expect(deleted.deletedAnnotationSerial).toBe(ada.annotationSerial)
    expect(deleted.annotationSerial > ada.annotationSerial).toBe(true)
    expect(await summaries(v2, 3)).toEqual([
      { "emoji:distinct.v1": { "👍": { total: 1, clientIds: ["ada"], clipped: false } } },
      { "emoji:distinct.v1": { "👍": { total: 2, clientIds: ["ada", "bob"], clipped: false } } },
      { "emoji:distinct.v1": { "👍": { total: 1, clientIds: ["bob"], clipped: false } } }
    ])
    const events = await s.sdk.run((sdk) => sdk.annotations.list(channel, serial))
    expect(events.items.map((a) => [a.action, a.serial, a.clientId])).toEqual([
      ["annotation.create", ada.annotationSerial, "ada"],
      ["annotation.create", expect.any(String), "bob"],
      ["annotation.delete", deleted.annotationSerial, "ada"]
    ])
    // Deleting it again changes nothing: both serials are the deleted annotation's.
    const again = await s.sdk.run((sdk) => sdk.annotations.delete(channel, serial, ada.annotationSerial))
    expect(again).toEqual({ annotationSerial: ada.annotationSerial, deletedAnnotationSerial: ada.annotationSerial })
    expect((await s.sdk.run((sdk) => sdk.annotations.list(channel, serial))).items).toHaveLength(3)
    // A delete event itself cannot be deleted; an unknown annotation is not found.
    expect(
      seen(await s.sdk.fail((sdk) => sdk.annotations.delete(channel, serial, deleted.annotationSerial)))
    ).toMatchObject({ status: 400, code: "invalid_input" })
    const unknown = "00000000000000000001:nobody:00000000000000000001"
    expect(seen(await s.sdk.fail((sdk) => sdk.annotations.delete(channel, serial, unknown)))).toMatchObject({
      tag: "SockudoNotFoundError",
      status: 404
    })
    // The webhooks tell the app about each create and the delete (the others, of the connection
    // coming and going, are timed by the server and left out).
    const annotationHooks = () => s.webhooks().filter((e) => e.name.startsWith("annotation_"))
    await s.waitForWebhooks("the annotation webhooks", () => annotationHooks().length >= 3)
    expect(annotationHooks().map((e) => e.name)).toEqual([
      "annotation_created",
      "annotation_created",
      "annotation_deleted"
    ])
    expect(annotationHooks()[0]).toMatchObject({
      channel,
      message_serial: serial,
      annotation_serial: ada.annotationSerial
    })
    expect(annotationHooks()[2]).toMatchObject({ annotation_serial: deleted.annotationSerial })
  },
  { frames: annotationFrames }
)
