/**
 * The versioned-messages store against the server reference, sections 3.10, 5.2 and 10.3.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Features } from "../../../../src/testing/emulator/Api.ts"
import { makeStores } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, publishOk, T0 } from "./support.ts"

const SERIAL = /^\d{20}:node:\d{20}$/

const setup = (features: Partial<Features> = {}) => {
  const fake = fakeApp({ features })
  const stores = makeStores({ newId: counterIds("id"), versionsMaxPageSize: 3 })
  const create = (channel = "chat", data: unknown = "hello") =>
    publishOk(stores, fake.app, { channel, name: "said", data: data as string }).message_serial!
  const path = (serial: string, rest = "", channel = "chat") =>
    `/channels/${encodeURIComponent(channel)}/messages/${encodeURIComponent(serial)}${rest}`
  const get = (target: string) => call(stores, fake.app, "GET", target)
  const mutate = (serial: string, action: "update" | "delete" | "append", json: unknown, nowMs = T0 + 10) =>
    call(stores, fake.app, "POST", path(serial, `/${action}`), { body: json, nowMs })
  return { ...fake, stores, create, path, get, mutate }
}

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })

describe("messages store", () => {
  it("GET answers the latest version with the documented VersionedRealtimeMessage shape", () => {
    const m = setup()
    const serial = m.create()
    expect(serial).toMatch(SERIAL)
    expect(body(m.get(m.path(serial)))).toEqual({
      channel: "chat",
      item: {
        event: "sockudo:message.create",
        channel: "chat",
        data: "hello",
        name: "said",
        serial: 1,
        extras: {
          headers: {
            sockudo_action: "message.create",
            sockudo_message_serial: serial,
            sockudo_version_serial: serial,
            sockudo_version_timestamp_ms: T0,
            sockudo_history_serial: 1
          }
        },
        action: "create",
        message_serial: serial,
        history_serial: 1,
        delivery_serial: 1,
        version: { serial, timestamp_ms: T0 }
      }
    })
  })

  it("needs versioned messages (422), and history for mutations (422); checks the serial (400) and existence (404)", () => {
    const off = setup({ versionedMessages: false })
    expect(off.get("/channels/chat/messages/x")).toEqual(
      envelope(422, "feature_disabled", "Versioned messages are disabled for channel 'chat'")
    )
    const noHistory = setup({ history: false })
    expect(noHistory.mutate("x", "update", { name: "n" })).toEqual(
      envelope(422, "feature_disabled", "Durable history is disabled by policy for channel 'chat'")
    )
    const m = setup()
    expect(m.get("/channels/chat/messages/%20")).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(m.get("/channels/chat/messages/a%20b")).toMatchObject({ status: 400 })
    expect(m.get(`/channels/chat/messages/${"x".repeat(129)}`)).toMatchObject({ status: 400 })
    expect(m.get("/channels/chat/messages/nope")).toEqual(
      envelope(404, "not_found", "Message 'nope' was not found in channel 'chat'")
    )
    expect(m.get("/channels/bad%20name/messages/x")).toMatchObject({ status: 400 })
  })

  it("update is a shallow mix-in; clear_fields nulls; each mutation gets a new, larger version and delivery serial", () => {
    const m = setup()
    const serial = m.create()
    const other = m.create("chat", "other")
    const updated = body(
      m.mutate(serial, "update", {
        name: "edited",
        extras: { headers: { k: "v" } },
        client_id: "u1"
      })
    )
    expect(updated).toMatchObject({
      channel: "chat",
      message_serial: serial,
      action: "update",
      accepted: true,
      history_serial: 1,
      delivery_serial: 3,
      status: "applied"
    })
    expect(updated.version_serial).toMatch(SERIAL)
    expect(updated.version_serial > other).toBe(true)
    const item = body(m.get(m.path(serial))).item
    expect(item).toMatchObject({
      event: "sockudo:message.update",
      action: "update",
      name: "edited",
      data: "hello",
      extras: { headers: { k: "v" } },
      serial: 3,
      version: { serial: updated.version_serial, client_id: "u1", timestamp_ms: T0 + 10 }
    })
    const cleared = body(m.mutate(serial, "update", { clear_fields: ["extras", "name"] }))
    expect(cleared.version_serial > updated.version_serial).toBe(true)
    const after = body(m.get(m.path(serial))).item
    expect(after.extras).toBeUndefined()
    expect(after.name).toBeUndefined()
    expect(after.data).toBe("hello")
    expect(publishOk(m.stores, m.app, { channel: "chat", name: "n" }).delivery_serial).toBe(5)
  })

  it("refuses any metadata, as Sockudo 5.0.1 cannot read one (422); null is read as absent", () => {
    const m = setup()
    const serial = m.create()
    expect(m.mutate(serial, "update", { name: "x", metadata: { a: 1 } })).toEqual({
      status: 422,
      text: "Failed to deserialize the JSON body into the target type: metadata: invalid type: newtype struct, expected a valid json"
    })
    expect(m.mutate(serial, "delete", { metadata: "why" })).toMatchObject({ status: 422 })
    expect(m.mutate(serial, "update", { name: "x", metadata: null })).toMatchObject({ status: 200 })
  })

  it("rejects empty updates, duplicate or contradictory clear_fields and unknown fields to clear", () => {
    const m = setup()
    const serial = m.create()
    expect(m.mutate(serial, "update", {})).toEqual(
      envelope(400, "invalid_input", "update request must include at least one patch field or operation metadata")
    )
    expect(m.mutate(serial, "update", { clear_fields: ["name", "name"] })).toEqual(
      envelope(400, "invalid_input", "clear_fields must not contain duplicates")
    )
    expect(m.mutate(serial, "update", { data: "x", clear_fields: ["data"] })).toMatchObject({ status: 400 })
    expect(m.mutate(serial, "delete", { extras: {}, clear_fields: ["extras"] })).toMatchObject({ status: 400 })
    expect(m.mutate(serial, "update", { clear_fields: ["tags"] })).toMatchObject({
      status: 422,
      text: expect.any(String)
    })
    expect(m.mutate(serial, "update", { name: 5 })).toMatchObject({ status: 422 })
    expect(m.mutate(serial, "update", { extras: { headers: { nested: { a: 1 } } } })).toMatchObject({ status: 422 })
    expect(m.mutate("unknown", "update", { name: "x" })).toMatchObject({ status: 404, json: { code: "not_found" } })
  })

  it("delete is a soft delete that keeps data and extras unless replaced or cleared; {} is accepted", () => {
    const m = setup()
    const serial = m.create()
    expect(body(m.mutate(serial, "delete", {}))).toMatchObject({ action: "delete", status: "applied" })
    expect(body(m.get(m.path(serial))).item).toMatchObject({ action: "delete", data: "hello", name: "said" })
    body(m.mutate(serial, "delete", { clear_fields: ["data"], description: "gone" }))
    const item = body(m.get(m.path(serial))).item
    expect(item.data).toBeUndefined()
    expect(item.version.description).toBe("gone")
  })

  it("append concatenates string data; the versions list shows each fragment; non-string or empty data is refused", () => {
    const m = setup()
    const serial = m.create("chat", "Hel")
    body(m.mutate(serial, "append", { data: "lo" }))
    body(m.mutate(serial, "append", { data: " world" }))
    expect(body(m.get(m.path(serial))).item).toMatchObject({ action: "append", data: "Hello world" })
    const versions = body(m.get(m.path(serial, "/versions?direction=oldest_first")))
    expect(versions.items.map((v: { action: string; data: string }) => [v.action, v.data])).toEqual([
      ["create", "Hel"],
      ["append", "lo"],
      ["append", " world"]
    ])
    expect(m.mutate(serial, "append", { data: "" })).toEqual(
      envelope(400, "invalid_input", "append request data must not be empty")
    )
    expect(
      m.mutate(serial, "append", { data: "", extras: { ai: { transport: { status: "complete" } } } })
    ).toMatchObject({
      status: 200
    })
    expect(m.mutate(serial, "append", {})).toMatchObject({ status: 422 })
    const json = m.create()
    m.mutate(json, "update", { data: { n: 1 } })
    expect(m.mutate(json, "append", { data: "x" })).toMatchObject({ status: 400, json: { code: "invalid_input" } })
  })

  it("op_id: a replay answers duplicate with the original serials, other content is a 400, scoped per action", () => {
    const m = setup()
    const serial = m.create()
    const first = body(m.mutate(serial, "update", { name: "a", op_id: "op-1" }))
    const again = body(m.mutate(serial, "update", { name: "a", op_id: "op-1" }, T0 + 99))
    expect(again).toEqual({ ...first, status: "duplicate" })
    expect(m.mutate(serial, "update", { name: "b", op_id: "op-1" })).toEqual(
      envelope(400, "invalid_input", "idempotency key was already used with a different payload")
    )
    expect(body(m.mutate(serial, "delete", { op_id: "op-1" })).status).toBe("applied")
    expect(m.mutate(serial, "update", { name: "c", op_id: "x".repeat(65) })).toMatchObject({ status: 400 })
    expect(m.mutate(serial, "update", { op_id: "op-only" })).toMatchObject({ status: 200 })
    const versions = body(m.get(m.path(serial, "/versions"))).items
    expect(versions.map((v: { action: string }) => v.action)).toEqual(["update", "delete", "update"])
  })

  it("versions: newest first by default, clamped limit, exclusive raw version_serial cursor, strict direction names", () => {
    const m = setup()
    const serial = m.create()
    const serials = [serial]
    for (const name of ["b", "c", "d", "e"]) serials.push(body(m.mutate(serial, "update", { name })).version_serial)
    const first = body(m.get(m.path(serial, "/versions?limit=50")))
    expect(first).toMatchObject({ channel: "chat", direction: "newest_first", limit: 3, has_more: true })
    expect(first.next_cursor).toBe(serials[2])
    expect(first.items.map((v: { version: { serial: string } }) => v.version.serial)).toEqual(
      [...serials].reverse().slice(0, 3)
    )
    const rest = body(m.get(m.path(serial, `/versions?cursor=${encodeURIComponent(first.next_cursor)}`)))
    expect(rest.items.map((v: { version: { serial: string } }) => v.version.serial)).toEqual([serials[1], serials[0]])
    expect(rest.has_more).toBe(false)
    expect("next_cursor" in rest).toBe(false)
    const forward = body(
      m.get(m.path(serial, `/versions?direction=oldest_first&cursor=${encodeURIComponent(serials[2]!)}`))
    )
    expect(forward.items.map((v: { version: { serial: string } }) => v.version.serial)).toEqual([
      serials[3],
      serials[4]
    ])
    expect(m.get(m.path(serial, "/versions?direction=OLDEST_FIRST"))).toMatchObject({
      status: 400,
      text: expect.any(String)
    })
    expect(m.get(m.path(serial, "/versions?direction=backwards"))).toMatchObject({
      status: 400,
      text: expect.any(String)
    })
    expect(m.get(m.path(serial, "/versions?limit=0"))).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(m.get(m.path("missing", "/versions"))).toMatchObject({ status: 404 })
  })

  it("acts for a connected socket: not connected is a 401, a client_id other than its user is a 401", () => {
    const m = setup()
    const serial = m.create()
    expect(m.mutate(serial, "update", { name: "x", socket_id: "9.9" })).toMatchObject({
      status: 401,
      json: { code: "auth_failed" }
    })
    m.connect("1.1", "alice")
    m.connect("2.2")
    expect(m.mutate(serial, "update", { name: "x", socket_id: "1.1", client_id: "bob" })).toMatchObject({ status: 401 })
    expect(m.mutate(serial, "update", { name: "x", socket_id: "2.2", client_id: "bob" })).toMatchObject({ status: 401 })
    body(m.mutate(serial, "update", { name: "x", socket_id: "1.1" }))
    expect(body(m.get(m.path(serial))).item.version.client_id).toBe("alice")
  })

  it("broadcasts each mutation as sockudo:message.<action> and sends message_version_created", () => {
    const m = setup()
    const serial = m.create()
    m.broadcasts.length = 0
    m.webhooks.length = 0
    const appended = body(m.mutate(serial, "append", { data: "!", client_id: "u1" }))
    // An append is delivered as its fragment (append_mode=delta), without the internal fragment header.
    expect(m.broadcasts).toEqual([
      {
        channel: "chat",
        event: "sockudo:message.append",
        data: "!",
        extras: {
          headers: {
            sockudo_action: "message.append",
            sockudo_message_serial: serial,
            sockudo_version_serial: appended.version_serial,
            sockudo_version_timestamp_ms: T0 + 10,
            sockudo_history_serial: 1
          }
        },
        exceptSocketId: undefined
      }
    ])
    expect(m.webhooks).toEqual([
      {
        name: "message_version_created",
        channel: "chat",
        message_serial: serial,
        version_serial: appended.version_serial,
        action: "message.append"
      }
    ])
    body(m.mutate(serial, "update", { clear_fields: ["data"] }))
    // The frame names the message and the last client that changed it; cleared data is left out.
    expect(m.frames).toEqual([
      { event: "sockudo:message.append", frame: { data: "!", name: "said", user_id: "u1" } },
      { event: "sockudo:message.update", frame: { data: undefined, name: "said", user_id: "u1" } }
    ])
  })
})
