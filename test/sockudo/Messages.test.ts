/**
 * Versioned messages against the real server and the emulator (test-app versions every
 * message): the serials a publish returns, the latest version read back after update, append
 * and delete, the versions list and its stream, `opId` replays, and what Protocol V2 and V1
 * connections receive for each mutation.
 */
import * as Stream from "effect/Stream"
import { expect } from "vitest"
import type { Messages, SockudoError } from "../../src/index.ts"
import type { Frame, PeerClient } from "./support/clients.ts"
import { differential, usePeers } from "./support/differential.ts"
import type { Session } from "./support/peers.ts"

const peers = usePeers()

/** The mutation frames and the publishes are compared between the peers, not only asserted. */
const mutationFrames = /^sockudo:message\./

const seen = (error: unknown) => {
  const e = error as SockudoError.SockudoError & { status?: number; code?: string; message: string }
  return { tag: e._tag, status: e.status, code: e.code, message: e.message }
}

/** Publishes one message and returns its receipt (`info: []` asks for the per-channel form). */
const publish = async (s: Session, channel: string, name: string, data: unknown) => {
  const result = await s.sdk.run((sdk) => sdk.trigger(channel, name, data, { info: [] }))
  const receipt = result.channels[channel]
  expect(receipt?.message_serial).toEqual(expect.any(String))
  return { ...receipt, message_serial: receipt?.message_serial ?? "" }
}

/** A V2 and a V1 connection subscribed to `channel`. */
const watchers = async (s: Session, channel: string) => {
  const v2 = await s.connect({ protocol: 2 })
  const v1 = await s.connect()
  expect(await v2.subscribe(channel)).toEqual({ ok: true })
  expect(await v1.subscribe(channel)).toEqual({ ok: true })
  return { v2, v1 }
}

/** Waits for `n` frames named `sockudo:message.*` on `client`. */
const mutations = async (client: PeerClient, n: number): Promise<ReadonlyArray<Frame>> => {
  const pick = () => client.frames().filter((f) => mutationFrames.test(f.event))
  await client.waitFor(`${n} mutation frames`, () => pick().length >= n)
  return pick()
}

const latest = (s: Session, channel: string, serial: string) =>
  s.sdk.run((sdk) => sdk.messages.get(channel, serial)).then((r) => r.item)

const headers = (frame: Frame | Messages.VersionedMessage | undefined) =>
  (frame?.extras as { headers?: Record<string, unknown> } | undefined)?.headers ?? {}

differential(
  peers,
  "a publish returns its message serial; get reads the created version back",
  async (s) => {
    const channel = s.name("created")
    const { v2, v1 } = await watchers(s, channel)
    const receipt = await publish(s, channel, "said", "hello")
    const serial = receipt.message_serial
    // The first version's serial is the message serial; the acknowledgement is that serial too.
    expect(receipt).toMatchObject({
      acknowledgement_id: serial,
      version_serial: serial,
      history_serial: 1,
      delivery_serial: 1
    })
    expect(await latest(s, channel, serial)).toMatchObject({
      event: "sockudo:message.create",
      channel,
      action: "create",
      name: "said",
      data: "hello",
      message_serial: serial,
      history_serial: 1,
      delivery_serial: 1,
      serial: 1,
      version: { serial }
    })
    // V2 connections get the publish with the server's sockudo_* headers; V1 connections without.
    await v2.waitFor("the publish", () => v2.events(channel).length === 1)
    await v1.waitFor("the publish", () => v1.events(channel).length === 1)
    expect(headers(v2.events(channel)[0])).toMatchObject({
      sockudo_action: "message.create",
      sockudo_message_serial: serial,
      sockudo_version_serial: serial,
      sockudo_history_serial: 1
    })
    expect(v1.events(channel)[0]?.extras).toBeUndefined()
  },
  { frames: mutationFrames }
)

differential(
  peers,
  "messages.update: name, data, extras and clearFields, seen by V2 connections only",
  async (s) => {
    const channel = s.name("edited")
    const { v2, v1 } = await watchers(s, channel)
    const { message_serial: serial } = await publish(s, channel, "said", "first draft")
    const first = await s.sdk.run((sdk) =>
      sdk.messages.update(channel, serial, {
        data: { text: "second draft" },
        extras: { headers: { edited: true, by: "ada" } },
        clientId: "ada",
        description: "fix a typo"
      })
    )
    expect(first).toMatchObject({
      channel,
      message_serial: serial,
      action: "update",
      accepted: true,
      status: "applied"
    })
    expect(first.version_serial! > serial).toBe(true)
    expect(first).toMatchObject({ history_serial: 1, delivery_serial: 2 })
    const updated = await latest(s, channel, serial)
    expect(updated).toMatchObject({
      event: "sockudo:message.update",
      action: "update",
      name: "said",
      data: JSON.stringify({ text: "second draft" }),
      extras: { headers: { edited: true, by: "ada" } },
      version: {
        serial: first.version_serial,
        client_id: "ada",
        description: "fix a typo"
      }
    })
    // A shallow mix-in: a new name keeps the data; clearing extras drops them.
    const second = await s.sdk.run((sdk) =>
      sdk.messages.update(channel, serial, { name: "renamed", clearFields: ["extras"] })
    )
    const renamed = await latest(s, channel, serial)
    expect(renamed).toMatchObject({ name: "renamed", data: JSON.stringify({ text: "second draft" }) })
    expect(renamed.extras).toBeUndefined()
    expect(renamed.version?.serial).toBe(second.version_serial)
    await s.sdk.run((sdk) => sdk.messages.update(channel, serial, { clearFields: ["data"] }))
    expect((await latest(s, channel, serial)).data).toBeUndefined()

    // V2 connections receive each version, with the server's headers beside the caller's.
    const frames = await mutations(v2, 3)
    expect(frames.map((f) => [f.event, f.data])).toEqual([
      ["sockudo:message.update", { text: "second draft" }],
      ["sockudo:message.update", { text: "second draft" }],
      ["sockudo:message.update", undefined]
    ])
    expect(headers(frames[0])).toMatchObject({
      edited: true,
      by: "ada",
      sockudo_action: "message.update",
      sockudo_message_serial: serial,
      sockudo_version_serial: first.version_serial,
      sockudo_history_serial: 1
    })
    expect(headers(frames[1])).toMatchObject({ sockudo_version_serial: second.version_serial })
    expect(headers(frames[1]).edited).toBeUndefined()
    // V1 connections only ever saw the publish.
    await s.sdk.run((sdk) => sdk.trigger(channel, "fence", {}))
    await v1.waitFor("the fence", () => v1.events(channel).length === 2)
    expect(
      v1
        .frames()
        .filter((f) => f.channel === channel && !f.event.startsWith("pusher"))
        .map((f) => f.event)
    ).toEqual(["said", "fence"])
    // Sockudo 5.0.1 cannot read any `metadata` value (its body decoder refuses them all).
    expect(
      seen(await s.sdk.fail((sdk) => sdk.messages.update(channel, serial, { data: "x", metadata: { reason: "typo" } })))
    ).toMatchObject({ tag: "SockudoClientError", status: 422 })
    // History shows the message's latest version in the row of its publish.
    const history = await s.sdk.run((sdk) => sdk.history.list(channel, { direction: "oldest_first" }))
    expect(history.items.map((i) => [i.operation_kind, i.message.name])).toEqual([
      ["message.update", "renamed"],
      ["message.create", "fence"]
    ])
  },
  { frames: mutationFrames }
)

differential(
  peers,
  "messages.append accumulates the latest view; versions keep the fragments",
  async (s) => {
    const channel = s.name("stream")
    const { v2 } = await watchers(s, channel)
    const { message_serial: serial } = await publish(s, channel, "answer", "Hel")
    const one = await s.sdk.run((sdk) => sdk.messages.append(channel, serial, "lo"))
    const two = await s.sdk.run((sdk) => sdk.messages.append(channel, serial, ", world"))
    expect([one.action, one.delivery_serial, two.delivery_serial]).toEqual(["append", 2, 3])
    expect(await latest(s, channel, serial)).toMatchObject({
      event: "sockudo:message.append",
      action: "append",
      name: "answer",
      data: "Hello, world",
      version: { serial: two.version_serial }
    })
    const versions = await s.sdk.run((sdk) => sdk.messages.versions(channel, serial, { direction: "oldest_first" }))
    expect(versions.items.map((v) => [v.action, v.data, v.delivery_serial])).toEqual([
      ["create", "Hel", 1],
      ["append", "lo", 2],
      ["append", ", world", 3]
    ])
    // Each V2 delivery carries only its fragment.
    expect((await mutations(v2, 2)).map((f) => [f.event, f.data])).toEqual([
      ["sockudo:message.append", "lo"],
      ["sockudo:message.append", ", world"]
    ])
    // An empty fragment is refused before sending, unless it closes an AI stream.
    expect(seen(await s.sdk.fail((sdk) => sdk.messages.append(channel, serial, "")))).toMatchObject({
      tag: "SockudoValidationError"
    })
  },
  { frames: mutationFrames }
)

differential(
  peers,
  "messages.delete is a version: data kept unless replaced or cleared",
  async (s) => {
    const channel = s.name("deleted")
    const { v2 } = await watchers(s, channel)
    const kept = await publish(s, channel, "note", "keep me")
    const cleared = await publish(s, channel, "note", "clear me")
    const first = await s.sdk.run((sdk) => sdk.messages.delete(channel, kept.message_serial))
    // Delivery serials count every delivery on the channel: two creates, then this delete.
    expect(first).toMatchObject({ action: "delete", status: "applied", delivery_serial: 3 })
    expect(await latest(s, channel, kept.message_serial)).toMatchObject({
      event: "sockudo:message.delete",
      action: "delete",
      data: "keep me"
    })
    await s.sdk.run((sdk) =>
      sdk.messages.delete(channel, cleared.message_serial, { clearFields: ["data"], description: "spam" })
    )
    const gone = await latest(s, channel, cleared.message_serial)
    expect(gone).toMatchObject({ action: "delete", version: { description: "spam" } })
    expect(gone.data).toBeUndefined()
    // A deleted message can still be updated: deletion is a version like the others.
    await s.sdk.run((sdk) => sdk.messages.update(channel, kept.message_serial, { data: "restored" }))
    expect(await latest(s, channel, kept.message_serial)).toMatchObject({ action: "update", data: "restored" })
    expect((await mutations(v2, 3)).map((f) => [f.event, f.data])).toEqual([
      ["sockudo:message.delete", "keep me"],
      ["sockudo:message.delete", undefined],
      ["sockudo:message.update", "restored"]
    ])
  },
  { frames: mutationFrames }
)

differential(peers, "versions and versionsStream page by version serial", async (s) => {
  const channel = s.name("versions")
  const { message_serial: serial } = await publish(s, channel, "doc", "v1")
  const applied: Array<string> = [serial]
  for (const data of ["v2", "v3", "v4", "v5"]) {
    applied.push((await s.sdk.run((sdk) => sdk.messages.update(channel, serial, { data }))).version_serial!)
  }
  const newest = await s.sdk.run((sdk) => sdk.messages.versions(channel, serial, { limit: 2 }))
  expect(newest).toMatchObject({ channel, direction: "newest_first", limit: 2, has_more: true })
  expect(newest.items.map((v) => v.data)).toEqual(["v5", "v4"])
  // The cursor is the last version serial of the page, exclusive.
  expect(newest.next_cursor).toBe(applied[3])
  const next = await s.sdk.run((sdk) =>
    sdk.messages.versions(channel, serial, { limit: 2, cursor: newest.next_cursor! })
  )
  expect(next.items.map((v) => v.data)).toEqual(["v3", "v2"])
  const before = s.exchanges().length
  const all = await s.sdk.run((sdk) =>
    Stream.runCollect(sdk.messages.versionsStream(channel, serial, { limit: 2, direction: "oldest_first" }))
  )
  expect(all.map((v) => [v.action, v.data, v.version?.serial])).toEqual(
    applied.map((version, i) => [i === 0 ? "create" : "update", `v${i + 1}`, version])
  )
  expect(s.exchanges().length - before).toBe(3)
  const few = await s.sdk.run((sdk) =>
    Stream.runCollect(Stream.take(sdk.messages.versionsStream(channel, serial, { limit: 2 }), 3))
  )
  expect(few.map((v) => v.data)).toEqual(["v5", "v4", "v3"])
})

differential(
  peers,
  "an opId replays as a duplicate; with other content it is refused",
  async (s) => {
    const channel = s.name("replay")
    const { v2 } = await watchers(s, channel)
    const { message_serial: serial } = await publish(s, channel, "said", "hello")
    const opId = `edit-${s.name("op")}`
    const applied = await s.sdk.run((sdk) => sdk.messages.update(channel, serial, { data: "hello!", opId }))
    const again = await s.sdk.run((sdk) => sdk.messages.update(channel, serial, { data: "hello!", opId }))
    expect(applied).toMatchObject({ status: "applied", opId })
    expect(again).toMatchObject({
      status: "duplicate",
      opId,
      version_serial: applied.version_serial,
      delivery_serial: applied.delivery_serial,
      history_serial: applied.history_serial
    })
    expect(
      seen(await s.sdk.fail((sdk) => sdk.messages.update(channel, serial, { data: "other", opId })))
    ).toMatchObject({
      tag: "SockudoClientError",
      status: 400
    })
    // The same op_id on an append is another operation on the same message.
    const appendId = `append-${s.name("op")}`
    const appended = await s.sdk.run((sdk) => sdk.messages.append(channel, serial, " there", { opId: appendId }))
    const replayed = await s.sdk.run((sdk) => sdk.messages.append(channel, serial, " there", { opId: appendId }))
    expect(replayed).toMatchObject({ status: "duplicate", version_serial: appended.version_serial })
    // Only what was applied is stored and delivered.
    const versions = await s.sdk.run((sdk) => sdk.messages.versions(channel, serial, { direction: "oldest_first" }))
    expect(versions.items.map((v) => [v.action, v.data])).toEqual([
      ["create", "hello"],
      ["update", "hello!"],
      ["append", " there"]
    ])
    expect((await latest(s, channel, serial)).data).toBe("hello! there")
    await s.sdk.run((sdk) => sdk.trigger(channel, "fence", {}))
    await v2.waitFor("the fence", () => v2.events(channel).length === 2)
    expect((await mutations(v2, 2)).map((f) => f.event)).toEqual(["sockudo:message.update", "sockudo:message.append"])
  },
  { frames: mutationFrames }
)
