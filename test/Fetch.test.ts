/**
 * `effect-sockudo/fetch`: the SDK over effect's `FetchHttpClient`, against the emulator, which
 * checks every request as the server does (in real time: it refuses stale timestamps). In-process through a `fetch` the emulator answers
 * (`FetchHttpClient.Fetch`), and on a loopback port through the global `fetch`.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { FetchHttpClient, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as SockudoFetch from "../src/Fetch.ts"
import { Sockudo } from "../src/index.ts"
import * as Emulator from "../src/testing/emulator/Emulator.ts"
import * as Router from "../src/testing/emulator/Router.ts"
import * as SockudoTest from "../src/testing/index.ts"
import * as EmulatorNode from "../src/testing/Node.ts"

const { id, key, secret } = Emulator.defaultApp
const base = "http://sockudo.emulator"
const url = `http://${key}:${secret}@sockudo.emulator/apps/${id}`

/** A `fetch` the emulator answers in-process; `seen` gets `METHOD /path` of every request. */
const emulatorFetch =
  (emulator: Emulator.Emulator["Service"], seen: Array<string>): typeof globalThis.fetch =>
  (input, init) => {
    const request = new Request(input, init)
    seen.push(`${request.method} ${new URL(request.url).pathname}`)
    return Effect.runPromise(
      emulator.handler.pipe(
        Effect.provideService(HttpServerRequest.HttpServerRequest, HttpServerRequest.fromWeb(request)),
        Effect.scoped
      )
    ).then((response) => {
      if (response === Router.dropped) throw new TypeError("fetch failed")
      return HttpServerResponse.toWeb(response)
    })
  }

/** Runs `self` with the emulator and the SDK layer `sdk` over a fetch the emulator answers. */
const withEmulator = <A, E>(
  sdk: Layer.Layer<Sockudo.Sockudo, unknown>,
  self: (seen: ReadonlyArray<string>) => Effect.Effect<A, E, Sockudo.Sockudo | Emulator.Emulator>
) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator.Emulator
    const seen: Array<string> = []
    return yield* self(seen).pipe(
      Effect.provide(sdk),
      Effect.provideService(FetchHttpClient.Fetch, emulatorFetch(emulator, seen))
    )
  }).pipe(Effect.provide(Emulator.layer()))

describe("SockudoFetch over the in-process emulator", () => {
  it.live("layer(options): a publish the emulator accepts reaches a subscribed client", () =>
    withEmulator(SockudoFetch.layer({ appId: id, key, secret: Redacted.make(secret), baseUrl: base }), (seen) =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const client = yield* emulator.connect()
        yield* client.subscribe("orders")
        const sockudo = yield* Sockudo.Sockudo
        const receipt = yield* sockudo.trigger(
          "orders",
          "order.created",
          { id: "ord_1" },
          { info: ["subscription_count"] }
        )
        assert.strictEqual(receipt.channels.orders?.subscription_count, 1)
        const events = yield* client.events("orders")
        assert.deepStrictEqual(
          events.map((e) => [e.event, e.data]),
          [["order.created", '{"id":"ord_1"}']]
        )
        assert.deepStrictEqual(seen, ["POST /apps/app-id/events"])
      })
    )
  )

  it.live("layerFromUrl(url): reads channel state", () =>
    withEmulator(SockudoFetch.layerFromUrl(Redacted.make(url)), (seen) =>
      Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        const channels = yield* sockudo.channels.list()
        assert.deepStrictEqual(channels.channels, {})
        assert.deepStrictEqual(seen, ["GET /apps/app-id/channels"])
      })
    )
  )

  it.live("layerConfig: SOCKUDO_URL from the ConfigProvider (a Worker's env object)", () =>
    withEmulator(SockudoFetch.layerConfig, (seen) =>
      Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        yield* sockudo.sendToUser("user-1", "notice", { body: "hi" })
        assert.deepStrictEqual(seen, ["POST /apps/app-id/events"])
      })
    ).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { SOCKUDO_URL: url } })))
  )

  it.live("a refused signature is the SDK's typed error", () =>
    withEmulator(SockudoFetch.layer({ appId: id, key, secret: Redacted.make("wrong"), baseUrl: base }), () =>
      Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        const error = yield* Effect.flip(sockudo.channels.list())
        assert.strictEqual(error._tag, "SockudoAuthenticationError")
      })
    )
  )
})

describe("SockudoFetch over the global fetch", () => {
  it.live("publishes to the emulator on a loopback port", () =>
    Effect.gen(function* () {
      const server = yield* EmulatorNode.EmulatorServer
      const receipt = yield* Effect.flatMap(Sockudo.Sockudo, (sockudo) =>
        sockudo.trigger("orders", "order.created", { id: 1 })
      ).pipe(
        Effect.provide(SockudoFetch.layer({ appId: id, key, secret: Redacted.make(secret), baseUrl: server.baseUrl }))
      )
      const emulator = yield* Emulator.Emulator
      const log = yield* emulator.requests
      assert.isString(receipt.idempotencyKey)
      assert.deepStrictEqual(
        log.map((r) => [r.method, r.url.split("?")[0], r.status]),
        [["POST", "/apps/app-id/events", 200]]
      )
    }).pipe(Effect.provide(EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer()))))
  )
})

describe("a layer provided inside a runtime that built another one", () => {
  // Effect shares a built layer by identity within a runtime; the SDK's one-call layers build their
  // own service each, so the inner configuration is the one used.
  it("uses its own configuration, not the runtime's", async () => {
    const runtime = ManagedRuntime.make(SockudoFetch.layerFromUrl("http://key:secret@prod.example:6001/apps/prod"))
    const signedUrl = Effect.flatMap(Sockudo.Sockudo, (sockudo) => sockudo.signedUrl("GET", "/channels"))
    try {
      const outer = await runtime.runPromise(signedUrl)
      const inner = await runtime.runPromise(
        signedUrl.pipe(Effect.provide(SockudoFetch.layerFromUrl("http://key:secret@staging.example:6001/apps/staging")))
      )
      assert.isTrue(outer.startsWith("http://prod.example:6001/apps/prod/channels?"), outer)
      assert.isTrue(inner.startsWith("http://staging.example:6001/apps/staging/channels?"), inner)
    } finally {
      await runtime.dispose()
    }
  })

  it("the test layers too: an emulator inside the mock layer's runtime receives the publish", async () => {
    const runtime = ManagedRuntime.make(SockudoTest.layer())
    const publish = Effect.flatMap(Sockudo.Sockudo, (sockudo) => sockudo.trigger("orders", "order.created", { id: 1 }))
    try {
      await runtime.runPromise(publish)
      const stored = await runtime.runPromise(
        Effect.gen(function* () {
          yield* publish
          const emulator = yield* Emulator.Emulator
          return (yield* emulator.requests).filter((r) => r.route === "/events").length
        }).pipe(Effect.provide(Emulator.layerTest()))
      )
      const recorded = await runtime.runPromise(Effect.map(SockudoTest.RequestRecorder, (r) => r.requests.length))
      assert.deepStrictEqual({ stored, recorded }, { stored: 1, recorded: 1 })
    } finally {
      await runtime.dispose()
    }
  })
})
