/**
 * The README's snippets run as written: every line of each snippet below is in
 * `examples/extensions.ts`, in order, and the example runs against the emulator with the outcome
 * the README describes.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Logger, ManagedRuntime, Redacted } from "effect"
import { vi } from "vitest"
import * as Examples from "../../examples/extensions.ts"
import { Sockudo, SockudoConfig, Webhook } from "../../src/index.ts"
import * as Emulator from "../../src/testing/emulator/Emulator.ts"
import * as SockudoTest from "../../src/testing/index.ts"
import * as EmulatorNode from "../../src/testing/Node.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const readme = readFileSync(`${root}README.md`, "utf8")
const example = readFileSync(`${root}examples/extensions.ts`, "utf8")

/** The README's `ts` block that starts with `first`. */
const snippet = (first: string): ReadonlyArray<string> => {
  const block = [...readme.matchAll(/```ts excerpt\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith(first))
  if (block === undefined) return assert.fail(`no README snippet starting with ${first}`)
  return block.split("\n").filter((line) => line.trim() !== "")
}

describe("README snippets are in examples/extensions.ts, line by line and in order", () => {
  for (const first of [
    "// One publish, retried",
    "// While rotating the app secret",
    "// A retry loop around one unit",
    "// BILLING_SOCKUDO_URL"
  ]) {
    it(first, () => {
      const lines = example.split("\n").map((l) => l.trim())
      let at = 0
      for (const line of snippet(first)) {
        const found = lines.indexOf(line.trim(), at)
        const contained = found === -1 ? lines.findIndex((l, i) => i >= at && l.endsWith(line.trim())) : found
        assert.notStrictEqual(contained, -1, `missing from the example, or out of order: ${line}`)
        at = contained + 1
      }
    })
  }
})

const features = { history: true, versionedMessages: true, annotations: true } as const

describe("and they run", () => {
  it.effect(
    "retries: one publish retried is published once, each call is a new publish, a scope re-run publishes nothing new",
    () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const client = yield* emulator.connect()
        yield* client.subscribe("orders")
        yield* Examples.retries
        yield* Examples.retries
        expect((yield* client.events("orders")).map((m) => m.event)).toEqual([
          "order.created",
          "ping",
          "ping",
          "order.paid",
          "order.created",
          "ping",
          "ping"
        ])
      }).pipe(Effect.provide(Emulator.layerTest()))
  )

  it.effect("webhooks: a webhook signed with the previous secret is accepted; its undecryptable event is logged", () =>
    Effect.gen(function* () {
      const warnings: Array<string> = []
      const body = JSON.stringify({
        time_ms: 1_800_000_000_000,
        events: [
          { name: "channel_occupied", channel: "orders" },
          { name: "client_event", channel: "private-encrypted-x", event: "client-e", data: "{}", socket_id: "1.1" }
        ]
      })
      const headers = {
        "x-pusher-key": "app-key",
        "x-pusher-signature": Webhook.sign(Redacted.make("old-secret"), body)
      }
      const capture = Logger.make(({ message }) => void warnings.push(String(message)))
      const webhook = yield* Examples.webhookEvents({ headers, body }, body).pipe(
        Effect.provide(Logger.layer([capture])),
        Effect.provide(
          Sockudo.layer.pipe(Layer.provide(Examples.Rotating), Layer.provide(SockudoTest.layerHttpClient()))
        )
      )
      expect(webhook.events.map((e) => e._tag)).toEqual(["ChannelOccupied", "UndecryptableEvent"])
      expect(warnings).toEqual(["private-encrypted-x: MissingMasterKey"])
    })
  )

  it.effect("history, versioned messages and annotations: the receipt holds the serial, as written", () =>
    Effect.gen(function* () {
      const { latest } = yield* Examples.tour
      expect(latest.item).toMatchObject({ action: "append", data: "hello, edited and more" })
    }).pipe(Effect.provide(Emulator.layerTest({ features })))
  )

  it("without Effect: the Promise client, history as an async iterable, and the retry loop around idempotent", async () => {
    const runtime = ManagedRuntime.make(EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer({ features }))))
    const log = vi.spyOn(console, "log").mockImplementation(() => {})
    try {
      const emulator = await runtime.runPromise(Emulator.Emulator)
      const server = await runtime.runPromise(Emulator.EmulatorServer)
      const app = emulator.apps[0]!
      const url = new URL(`${server.baseUrl}/apps/${app.id}`)
      url.username = app.key
      url.password = app.secret
      const client = await runtime.runPromise(emulator.connect())
      await runtime.runPromise(client.subscribe("orders"))
      await Examples.withoutEffect(url.href)
      await Examples.withoutEffect(url.href)
      // The second run's unit re-sent the first run's keys: order.paid was published once.
      const delivered = (await runtime.runPromise(client.events("orders"))).map((m) => m.event)
      expect(delivered).toEqual(["order.created", "order.paid", "order.created"])
      expect(log).toHaveBeenCalledWith(1)
    } finally {
      log.mockRestore()
      await runtime.dispose()
    }
  })

  it.effect("configuration: Billing reads the BILLING_ prefix", () =>
    Effect.gen(function* () {
      const config = yield* Effect.provide(SockudoConfig.SockudoConfig, Examples.Billing)
      assert.deepStrictEqual([config.appId, Duration.toMillis(config.timeout)], ["billing", 5000])
    }).pipe(
      Effect.provideService(
        ConfigProvider.ConfigProvider,
        ConfigProvider.fromEnv({
          env: { BILLING_SOCKUDO_URL: "http://k:s@10.0.0.9:6001/apps/billing", BILLING_SOCKUDO_TIMEOUT: "5 seconds" }
        })
      )
    )
  )
})
