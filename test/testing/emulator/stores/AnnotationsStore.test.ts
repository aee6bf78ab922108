/**
 * The annotations store against the server reference, sections 3.11 and 10.4.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Features, Limits } from "../../../../src/testing/emulator/Api.ts"
import { type AnnotationEvent, makeStores, summarize } from "../../../../src/testing/emulator/stores/index.ts"
import { body, call, counterIds, fakeApp, publishOk, T0 } from "./support.ts"

const setup = (
  features: Partial<Features> = {},
  options: { readonly policy?: (channel: string) => boolean; readonly limits?: Partial<Limits> } = {}
) => {
  const fake = fakeApp({ features, limits: options.limits ?? {} })
  const stores = makeStores({ newId: counterIds("id"), versionsMaxPageSize: 2, annotationsEnabledFor: options.policy })
  const serial =
    features.versionedMessages === false ? "none" : publishOk(stores, fake.app, { channel: "chat" }).message_serial!
  const base = `/channels/chat/messages/${encodeURIComponent(serial)}/annotations`
  const publish = (json: unknown, target = base) => call(stores, fake.app, "POST", target, { body: json })
  const list = (query = "") => call(stores, fake.app, "GET", `${base}${query}`)
  const remove = (annotation: string, query = "") =>
    call(stores, fake.app, "DELETE", `${base}/${encodeURIComponent(annotation)}${query}`)
  fake.broadcasts.length = 0
  fake.webhooks.length = 0
  return { ...fake, stores, serial, base, publish, list, remove }
}

const envelope = (status: number, code: string, error: string) => ({ status, json: { error, code, status } })

/** The summary of `type` in the last `sockudo_internal:message` broadcast. */
const lastSummary = (broadcasts: ReturnType<typeof setup>["broadcasts"], type: string) => {
  const summaries = broadcasts.filter((b) => b.event === "sockudo_internal:message")
  return JSON.parse(summaries[summaries.length - 1]!.data).annotations.summary[type]
}

describe("annotations store", () => {
  it("publish answers the annotation serial; list is camelCase, ascending, id only on creates, absent optionals omitted", () => {
    const a = setup()
    // Sockudo 5.0.1 cannot read any annotation data (its body decoder refuses every value but null).
    expect(a.publish({ type: "reactions:distinct.v1", name: "like", clientId: "u1", data: { e: 1 } })).toEqual({
      status: 422,
      text: "Failed to deserialize the JSON body into the target type: data: invalid type: newtype struct, expected a valid json"
    })
    const like = body(
      a.publish({ type: "reactions:distinct.v1", name: "like", clientId: "u1", data: null, encoding: "json" })
    )
    expect(like.annotationSerial).toMatch(/^\d{20}:node:\d{20}$/)
    const total = body(a.publish({ type: "views:total.v1" }))
    expect(total.annotationSerial > like.annotationSerial).toBe(true)
    const page = body(a.list())
    expect(page).toEqual({
      channel: "chat",
      messageSerial: a.serial,
      limit: 2,
      hasMore: false,
      nextCursor: null,
      items: [
        {
          action: "annotation.create",
          id: expect.stringMatching(/^id-/),
          serial: like.annotationSerial,
          messageSerial: a.serial,
          type: "reactions:distinct.v1",
          name: "like",
          clientId: "u1",
          encoding: "json",
          timestamp: T0
        },
        {
          action: "annotation.create",
          id: expect.stringMatching(/^id-/),
          serial: total.annotationSerial,
          messageSerial: a.serial,
          type: "views:total.v1",
          timestamp: T0
        }
      ]
    })
    expect(a.webhooks[0]).toEqual({
      name: "annotation_created",
      channel: "chat",
      message_serial: a.serial,
      annotation_serial: like.annotationSerial,
      annotation_type: "reactions:distinct.v1"
    })
    expect(a.broadcasts.map((b) => b.event)).toEqual([
      "sockudo_internal:message",
      "sockudo_internal:annotation",
      "sockudo_internal:message",
      "sockudo_internal:annotation"
    ])
    expect(a.broadcasts[0]!.extras).toEqual({ ephemeral: true })
    expect(JSON.parse(a.broadcasts[1]!.data)).toEqual(page.items[0])
  })

  it("checks the type: namespace:summarizer.v1, five summarizers, version 1, no whitespace, at most 256 bytes", () => {
    const a = setup()
    for (const type of [
      "reactions",
      "reactions:bogus.v1",
      "reactions:total.v2",
      "reactions:total",
      "re actions:total.v1"
    ]) {
      expect(a.publish({ type })).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    }
    expect(a.publish({ type: `${"n".repeat(250)}:total.v1` })).toMatchObject({ status: 400 })
    for (const type of ["a:total.v1", "a:flag.v1", "a:distinct.v1", "a:unique.v1", "a:multiple.v1"]) {
      expect(a.publish({ type, name: "n", clientId: "c" })).toMatchObject({ status: 200 })
    }
    expect(a.publish({ name: "n" })).toMatchObject({ status: 422, text: expect.any(String) })
  })

  it("requires name for distinct/unique/multiple, clientId for flag/distinct/unique, count > 0; snake_case is ignored", () => {
    const a = setup()
    expect(a.publish({ type: "r:distinct.v1", clientId: "u1" })).toMatchObject({ status: 400 })
    expect(a.publish({ type: "r:multiple.v1" })).toMatchObject({ status: 400 })
    expect(a.publish({ type: "r:flag.v1" })).toMatchObject({ status: 400 })
    expect(a.publish({ type: "r:unique.v1", name: "x", client_id: "u1" })).toMatchObject({ status: 400 })
    expect(a.publish({ type: "r:multiple.v1", name: "x", count: 0 })).toEqual(
      envelope(400, "invalid_input", "Annotation count must be greater than 0")
    )
    expect(a.publish({ type: "r:multiple.v1", name: "x" })).toMatchObject({ status: 200 })
    expect(a.publish({ type: "r:total.v1" }, "/channels/chat/messages/missing/annotations")).toMatchObject({
      status: 404,
      json: { code: "not_found" }
    })
  })

  it("needs versioned messages (422), annotations (422), the channel policy (403) and history (422)", () => {
    expect(setup({ versionedMessages: false }).publish({ type: "r:total.v1" })).toMatchObject({
      status: 422,
      json: { code: "feature_disabled" }
    })
    expect(setup({ annotations: false }).list()).toEqual(
      envelope(422, "feature_disabled", "Annotations are disabled globally for channel 'chat'")
    )
    expect(setup({}, { policy: () => false }).publish({ type: "r:total.v1" })).toEqual(
      envelope(403, "forbidden", "Annotations are disabled by channel policy for channel 'chat'")
    )
    const fake = fakeApp({ features: { history: false } })
    const stores = makeStores()
    expect(call(stores, fake.app, "GET", "/channels/chat/messages/m/annotations")).toMatchObject({ status: 422 })
  })

  it("lists by type with a limit and from_serial (exclusive) cursor; bad limits and serials are 400s", () => {
    const a = setup()
    const serials = [1, 2, 3].map(() => body(a.publish({ type: "v:total.v1" })).annotationSerial as string)
    a.publish({ type: "r:flag.v1", clientId: "u1" })
    const first = body(a.list("?type=v:total.v1"))
    expect(first).toMatchObject({ limit: 2, hasMore: true, nextCursor: serials[1] })
    const next = body(a.list(`?type=v:total.v1&from_serial=${encodeURIComponent(first.nextCursor)}`))
    expect(next.items.map((i: { serial: string }) => i.serial)).toEqual([serials[2]])
    expect(next).toMatchObject({ hasMore: false, nextCursor: null })
    expect(body(a.list("?limit=100")).limit).toBe(2)
    expect(a.list("?limit=0")).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(a.list("?limit=-1")).toMatchObject({ status: 400, text: expect.any(String) })
    expect(a.list("?type=bad")).toMatchObject({ status: 400 })
    expect(a.list("?from_serial=a%20b")).toMatchObject({ status: 400 })
    expect(a.list("?limit=1&limit=2")).toMatchObject({ status: 400, text: expect.any(String) })
    expect(a.list("?socket_id=1.1")).toMatchObject({ status: 401, json: { code: "auth_failed" } })
  })

  it("delete records a delete event; deleting again answers the target twice; only creates of this message", () => {
    const a = setup()
    const created = body(a.publish({ type: "r:distinct.v1", name: "like", clientId: "u1" })).annotationSerial
    const deleted = body(a.remove(created))
    expect(deleted.deletedAnnotationSerial).toBe(created)
    expect(deleted.annotationSerial > created).toBe(true)
    expect(body(a.remove(created))).toEqual({ annotationSerial: created, deletedAnnotationSerial: created })
    expect(a.remove(deleted.annotationSerial)).toMatchObject({ status: 400, json: { code: "invalid_input" } })
    expect(a.remove("00000000000000000001:node:00000000000000000999")).toMatchObject({
      status: 404,
      json: { code: "not_found" }
    })
    const items = body(a.list()).items
    expect(items[1]).toEqual({
      action: "annotation.delete",
      serial: deleted.annotationSerial,
      messageSerial: a.serial,
      type: "r:distinct.v1",
      name: "like",
      clientId: "u1",
      timestamp: T0
    })
    expect(a.webhooks[a.webhooks.length - 1]).toEqual({
      name: "annotation_deleted",
      channel: "chat",
      message_serial: a.serial,
      annotation_serial: deleted.annotationSerial,
      deleted_annotation_serial: created,
      annotation_type: "r:distinct.v1"
    })
    const other = publishOk(a.stores, a.app, { channel: "chat" }).message_serial!
    const onOther = body(
      a.publish({ type: "r:total.v1" }, `/channels/chat/messages/${encodeURIComponent(other)}/annotations`)
    ).annotationSerial
    expect(a.remove(onOther)).toMatchObject({ status: 404 })
  })

  it("takes the actor from a connected, signed-in socket; an unknown socket is a 401", () => {
    const a = setup()
    expect(a.publish({ type: "r:flag.v1", socketId: "7.7" })).toMatchObject({ status: 401 })
    a.connect("1.1", "alice")
    const serial = body(a.publish({ type: "r:flag.v1", socketId: "1.1" })).annotationSerial
    expect(body(a.list()).items[0]).toMatchObject({ serial, clientId: "alice" })
    expect(a.publish({ type: "r:flag.v1", socketId: "1.1", clientId: "bob" })).toMatchObject({ status: 401 })
  })

  it("summaries follow each summarizer's rules (section 10.4)", () => {
    const a = setup()
    const pub = (json: Record<string, unknown>) => body(a.publish(json)).annotationSerial as string
    const t1 = pub({ type: "v:total.v1" })
    pub({ type: "v:total.v1" })
    a.remove(t1)
    expect(lastSummary(a.broadcasts, "v:total.v1")).toEqual({ total: 1 })

    const f1 = pub({ type: "f:flag.v1", clientId: "u1" })
    pub({ type: "f:flag.v1", clientId: "u2" })
    expect(lastSummary(a.broadcasts, "f:flag.v1")).toEqual({ total: 2, clientIds: ["u1", "u2"], clipped: false })
    a.remove(f1)
    expect(lastSummary(a.broadcasts, "f:flag.v1")).toEqual({ total: 1, clientIds: ["u2"], clipped: false })

    pub({ type: "d:distinct.v1", name: "like", clientId: "u1" })
    pub({ type: "d:distinct.v1", name: "love", clientId: "u1" })
    pub({ type: "d:distinct.v1", name: "like", clientId: "u2" })
    expect(lastSummary(a.broadcasts, "d:distinct.v1")).toEqual({
      like: { total: 2, clientIds: ["u1", "u2"], clipped: false },
      love: { total: 1, clientIds: ["u1"], clipped: false }
    })

    pub({ type: "u:unique.v1", name: "like", clientId: "u1" })
    pub({ type: "u:unique.v1", name: "love", clientId: "u1" })
    pub({ type: "u:unique.v1", name: "like", clientId: "u2" })
    expect(lastSummary(a.broadcasts, "u:unique.v1")).toEqual({
      like: { total: 1, clientIds: ["u2"], clipped: false },
      love: { total: 1, clientIds: ["u1"], clipped: false }
    })

    const m1 = pub({ type: "m:multiple.v1", name: "up", clientId: "u1", count: 2 })
    pub({ type: "m:multiple.v1", name: "up", clientId: "u1", count: 3 })
    pub({ type: "m:multiple.v1", name: "up", clientId: "u2" })
    const anon = pub({ type: "m:multiple.v1", name: "up", count: 4 })
    expect(lastSummary(a.broadcasts, "m:multiple.v1")).toEqual({
      up: { total: 10, clientCounts: { u1: 5, u2: 1 }, totalUnidentified: 4, clipped: false, totalClientIds: 2 }
    })
    a.remove(m1)
    a.remove(anon)
    expect(lastSummary(a.broadcasts, "m:multiple.v1")).toEqual({
      up: { total: 5, clientCounts: { u2: 1 }, totalUnidentified: 4, clipped: false, totalClientIds: 1 }
    })
    const summary = JSON.parse(a.broadcasts[a.broadcasts.length - 2]!.data)
    expect(summary).toMatchObject({ action: "message.summary", serial: a.serial })
  })

  it("clips client lists to fit the payload limit and says so", () => {
    const a = setup({}, { limits: { maxEventPayloadInKb: 1 } })
    for (let i = 0; i < 100; i++)
      a.publish({ type: "f:flag.v1", clientId: `client-with-a-long-id-${String(i).padStart(3, "0")}` })
    const summary = lastSummary(a.broadcasts, "f:flag.v1")
    expect(summary.total).toBe(100)
    expect(summary.clipped).toBe(true)
    expect(summary.clientIds.length).toBeLessThan(100)
    const event = a.broadcasts[a.broadcasts.length - 2]!
    expect(new TextEncoder().encode(event.data).length).toBeLessThan(1024)
  })

  it("summarize folds events in serial order whatever order they are given", () => {
    const ev = (serial: string, action: AnnotationEvent["action"], clientId?: string): AnnotationEvent => ({
      action,
      id: `id-${clientId}`,
      serial,
      messageSerial: "m",
      type: "f:flag.v1",
      name: undefined,
      clientId,
      count: undefined,
      data: undefined,
      encoding: undefined,
      timestamp: 0
    })
    const events = [
      ev("3", "annotation.delete", "a"),
      ev("1", "annotation.create", "a"),
      ev("2", "annotation.create", "b")
    ]
    expect(summarize("flag", events)).toEqual({ total: 1, clientIds: ["b"], clipped: false })
    expect(summarize("total", events)).toEqual({ total: 1 })
    expect(summarize("flag", events, 0)).toEqual({ total: 1, clientIds: [], clipped: true })
  })
})
