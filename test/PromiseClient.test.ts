import { Effect, Layer, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { PromiseClient, SockudoConfig, SockudoError } from "../src/index.ts"
import * as SockudoTest from "../src/testing/index.ts"
import { pagedHandler } from "./support/paging.ts"

const client = (handler: SockudoTest.Handler, config: Partial<SockudoConfig.Options> = {}) => {
  const seen: Array<SockudoTest.RecordedRequest> = []
  const recording: SockudoTest.Handler = (request) => {
    seen.push(request)
    return handler(request)
  }
  return PromiseClient.make(SockudoTest.layer({ handler: recording, config })).then((sockudo) => ({ sockudo, seen }))
}

describe("PromiseClient", () => {
  it("runs an operation and resolves with its decoded result", async () => {
    const { sockudo, seen } = await client(() => SockudoTest.json(200, { ok: true }))
    const receipt = await sockudo.trigger("orders", "order.created", { id: "ord_1" }, { idempotencyKey: "k-1" })
    expect(receipt).toEqual({ idempotencyKey: "k-1", channels: {} })
    expect(seen).toHaveLength(1)
    expect(seen[0]?.json).toMatchObject({ name: "order.created", data: '{"id":"ord_1"}', channels: ["orders"] })
    await sockudo.close()
  })

  it("promises nested groups and keeps synchronous values", async () => {
    const { sockudo, seen } = await client(() =>
      SockudoTest.json(200, { channels: { "presence-a": { user_count: 2 } } })
    )
    const list = await sockudo.channels.list({ filterByPrefix: "presence-", info: ["user_count"] })
    expect(list.channels["presence-a"]?.user_count).toBe(2)
    expect(seen[0]?.path).toBe("/apps/app-id/channels")
    expect(seen[0]?.query.get("filter_by_prefix")).toBe("presence-")
    const auth = await sockudo.authorizeChannel("123.456", "private-a")
    expect(auth.auth.startsWith("app-key:")).toBe(true)
    await sockudo.close()
  })

  it("rejects with the same typed error the Effect fails with, before sending invalid input", async () => {
    const { sockudo, seen } = await client(() => SockudoTest.json(200, { ok: true }))
    const error = await sockudo.trigger("bad channel", "e", 1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SockudoError.SockudoValidationError)
    expect(error).toMatchObject({ _tag: "SockudoValidationError", field: "channel", operation: "trigger" })
    expect(seen).toHaveLength(0)
    await sockudo.close()
  })

  it("rejects with server errors, carrying isRetryable", async () => {
    const { sockudo } = await client(
      () => SockudoTest.json(500, { error: "Internal server error", code: "internal_error", status: 500 }),
      {
        retry: SockudoConfig.noRetries
      }
    )
    const error = await sockudo.channels.get("orders").catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SockudoError.SockudoServerError)
    expect((error as SockudoError.SockudoServerError).isRetryable).toBe(true)
    await sockudo.close()
  })

  it("turns a Stream method (history.stream) into an AsyncIterable over every page, lazily", async () => {
    const historyPage = (items: ReadonlyArray<number>, hasMore: boolean, next: string | null) => ({
      items: items.map((serial) => ({
        stream_id: "s-1",
        serial,
        published_at_ms: 1710000000000 + serial,
        operation_kind: "append",
        payload_size_bytes: 10,
        message: { event: "order.created", channel: "orders", data: `{"n":${serial}}`, serial }
      })),
      direction: "oldest_first",
      limit: 3,
      has_more: hasMore,
      next_cursor: next,
      bounds: { start_serial: null, end_serial: null, start_time_ms: null, end_time_ms: null },
      continuity: {
        stream_id: "s-1",
        oldest_available_serial: 0,
        newest_available_serial: 7,
        oldest_available_published_at_ms: null,
        newest_available_published_at_ms: null,
        retained_bytes: 80,
        retained_messages: 8,
        complete: true,
        truncated_by_retention: false
      },
      stream_state: {
        stream_id: "s-1",
        durable_state: "healthy",
        reset_required: false,
        reason: null,
        node_id: null,
        last_transition_at_ms: null,
        authoritative_source: "memory",
        observed_source: "memory",
        recovery_allowed: true
      }
    })
    const { sockudo, seen } = await client(
      pagedHandler({ total: 8, pageSize: 3, cursorParam: "cursor", render: historyPage })
    )
    const iterable = sockudo.history.stream("orders", { limit: 3, direction: "oldest_first" })
    expect(typeof iterable[Symbol.asyncIterator]).toBe("function")
    expect(seen).toHaveLength(0)
    const serials: Array<number> = []
    for await (const item of iterable) serials.push(item.serial)
    expect(serials).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(seen.map((r) => r.query.get("cursor"))).toEqual([null, "c3", "c6"])
    // Breaking out early stops paging: only the first page is requested.
    const first: Array<number> = []
    for await (const item of sockudo.history.stream("orders", { limit: 3 })) {
      first.push(item.serial)
      if (first.length === 2) break
    }
    expect(first).toEqual([0, 1])
    expect(seen).toHaveLength(4)
    await sockudo.close()
  })

  it("rejects construction with the configuration error, naming the field and not the secret", async () => {
    const error = await PromiseClient.make(
      SockudoTest.layer({ config: { appId: "", secret: Redacted.make("s3cr3t-value") } })
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SockudoError.SockudoConfigError)
    expect((error as SockudoError.SockudoConfigError).field).toBe("appId")
    expect(JSON.stringify(error)).not.toContain("s3cr3t-value")
    expect(String(error)).not.toContain("s3cr3t-value")
  })

  it("releases what the layer opened on close and with await using", async () => {
    const released: Array<string> = []
    const tracked = (name: string) =>
      SockudoTest.layer().pipe(
        Layer.merge(Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => released.push(name)))))
      )
    const explicit = await PromiseClient.make(tracked("explicit"))
    expect(released).toEqual([])
    await explicit.close()
    expect(released).toEqual(["explicit"])
    {
      await using scoped = await PromiseClient.make(tracked("scoped"))
      await scoped.authorizeChannel("1.2", "private-a")
    }
    expect(released).toEqual(["explicit", "scoped"])
  })

  it("a call after close rejects with a typed SockudoClientClosedError, not a bare string; nothing is sent", async () => {
    const { sockudo, seen } = await client(() => SockudoTest.json(200, { ok: true }))
    await sockudo.close()
    for (const call of [
      () => sockudo.trigger("orders", "e", 1),
      () => sockudo.channels.get("orders"),
      () => sockudo.idempotent("k", (s) => s.trigger("orders", "e", 1))
    ]) {
      const error: unknown = await call().then(
        () => undefined,
        (e: unknown) => e
      )
      expect(error).toBeInstanceOf(Error)
      expect(error).toMatchObject({ _tag: "SockudoClientClosedError", isRetryable: false })
      expect(SockudoError.isSockudoError(error)).toBe(true)
    }
    const iterate = async () => {
      for await (const _ of sockudo.history.stream("orders")) return
    }
    await expect(iterate()).rejects.toMatchObject({ _tag: "SockudoClientClosedError" })
    expect(seen).toEqual([])
    await sockudo.close()
  })
})
