/**
 * An in-memory Sockudo server for tests: the HTTP API with the server's request verification,
 * error shapes, idempotency and response shapes; simulated client connections; signed webhooks;
 * fault injection. Served on a real loopback port (`layerServer` of `effect-sockudo/testing/node`) or answered in-process by an
 * `HttpClient` (`layerHttpClient`), from the same handler.
 *
 * ```ts test
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Sockudo } from "effect-sockudo"
 * import { Emulator } from "effect-sockudo/testing"
 *
 * const TestLive = Emulator.layerTest({ features: { history: true, userAuthentication: true } })
 *
 * it.effect("delivers the order event", () =>
 *   Effect.gen(function* () {
 *     const emulator = yield* Emulator.Emulator
 *     const sockudo = yield* Sockudo.Sockudo
 *     const client = yield* emulator.connect()
 *     yield* client.subscribe("orders")
 *     yield* sockudo.trigger("orders", "order.created", { id: 1 })
 *     expect(yield* client.events("orders")).toMatchObject([{ event: "order.created", data: '{"id":1}' }])
 *   }).pipe(Effect.provide(TestLive)))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { SockudoConfigError } from "../../Errors.ts"
import * as Sockudo from "../../Sockudo.ts"
import * as SockudoConfig from "../../SockudoConfig.ts"
import * as App from "./App.ts"
import * as Client from "./Client.ts"
import * as Core from "./Core.ts"
import {
  type AppOptions,
  defaultApp,
  defaultFeatures,
  defaultLimits,
  Emulator,
  type IdempotencyOptions,
  type Options,
  type Service
} from "./EmulatorService.ts"
import * as Faults from "./Faults.ts"
import * as Idempotency from "./Idempotency.ts"
import * as Names from "./Names.ts"
import * as Router from "./Router.ts"
import { makeStores } from "./stores/index.ts"
import { EmulatorServer, inProcessBaseUrl, layerHttpClient } from "./Transports.ts"
import * as Webhooks from "./Webhooks.ts"

export type {
  ApiRequest,
  ApiResponse,
  AppHandle,
  Features,
  Limits,
  PresenceChange,
  PublishedEvent,
  PublishReceipt,
  Route,
  Store
} from "./Api.ts"
export { type Connection, type ConnectOptions, EmulatorClientError, type SubscribeOptions } from "./Client.ts"
export type { CloseInfo, ReceivedMessage, SignedInUser } from "./ConnectionState.ts"
export * from "./EmulatorService.ts"
export type { Fault, FaultRule, FaultTarget } from "./Faults.ts"
export type { Namespace } from "./Names.ts"
export type { RequestLogEntry } from "./Router.ts"
export { EmulatorServer, inProcessBaseUrl, layerHttpClient } from "./Transports.ts"
export type { AppCredentials } from "./Verify.ts"
export type { Batching, WebhookDelivery, WebhookRequest, WebhookTarget } from "./Webhooks.ts"

const millis = (input: Duration.Input | undefined, fallback: number) =>
  input === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(input))

const idempotencySettings = (options: IdempotencyOptions | undefined, base: Idempotency.Settings) => ({
  enabled: options?.enabled ?? base.enabled,
  ttlMs: millis(options?.ttl, base.ttlMs),
  maxKeyLength: options?.maxKeyLength ?? base.maxKeyLength
})

/**
 * Builds an emulator; background work runs until the scope closes.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fibers = yield* FiberSet.make<unknown, unknown>()
    const client = options.webhookClient ?? (yield* Webhooks.defaultClient)
    const sender = yield* Webhooks.makeSender(
      { batching: options.webhookBatching, retry: options.webhookRetry },
      client,
      fibers
    )
    const outbox: App.Outbox = { nowMs: 0, webhooks: [], memberLeft: [], emptied: [] }
    const faults = new Faults.Faults()
    const log: Array<Router.RequestLogEntry> = []
    const removalDelay = Duration.fromInputUnsafe(options.memberRemovedDelay ?? "3 seconds")
    const vacatedDelay = Duration.fromInputUnsafe(options.channelVacatedDelay ?? "3 seconds")
    const idempotency = idempotencySettings(options.idempotency, Idempotency.defaults)
    const settings: App.SharedSettings = {
      channelListCacheMs: millis(options.channelListCacheTtl, 0),
      memoryCacheMs: options.memoryCacheTtl === undefined ? undefined : millis(options.memoryCacheTtl, 0)
    }

    const appOptionsList: ReadonlyArray<AppOptions> = options.apps ?? [defaultApp]
    const apps = appOptionsList.map((appOptions) => {
      const features = { ...defaultFeatures, ...options.features, ...appOptions.features }
      const credentials = { id: appOptions.id, key: appOptions.key, secret: appOptions.secret }
      const appIdempotency = idempotencySettings(appOptions.idempotency, idempotency)
      const namespaces = new Map((appOptions.namespaces ?? []).map((ns) => [ns.name, ns]))
      const annotationsEnabledFor = (channel: string) => {
        const namespace = Names.namespaceOf(channel)
        const override = namespace === undefined ? undefined : namespaces.get(namespace)?.annotationsEnabled
        return override ?? appOptions.annotationsEnabled ?? true
      }
      const stores =
        options.stores?.(credentials) ??
        makeStores({
          idempotencyTtlMs: appIdempotency.ttlMs,
          annotationsEnabledFor,
          pushProviders: options.pushProviders,
          presenceHistoryInHistoryStore: options.features?.history ?? defaultFeatures.history
        })
      const app = App.make(
        {
          credentials,
          features,
          limits: { ...defaultLimits, ...options.limits, ...appOptions.limits },
          namespaces: appOptions.namespaces ?? [],
          clientMessages: appOptions.clientMessages ?? true,
          idempotency: appIdempotency,
          webhooks: appOptions.webhooks ?? [],
          settings,
          stores
        },
        outbox
      )
      for (const route of Core.routes) app.routes.set(App.routeKey(route), route)
      for (const store of stores) {
        for (const route of store.routes) {
          const key = App.routeKey(route)
          if (app.routes.has(key) || (route.path.startsWith("/push/") && !features.push)) continue
          app.routes.set(key, {
            method: route.method,
            path: route.path,
            body: route.body ?? (route.method === "POST" ? "json" : "none"),
            handle: (request, runtime) => Effect.sync(() => route.handle(request, runtime.handle))
          })
        }
      }
      return app
    })

    const drain: Effect.Effect<void> = Effect.suspend(() => {
      const hooks = outbox.webhooks.splice(0)
      const left = outbox.memberLeft.splice(0)
      const emptied = outbox.emptied.splice(0)
      if (hooks.length === 0 && left.length === 0 && emptied.length === 0) return Effect.void
      /** Sends `event` after `delay` if `still` holds then, in the background. */
      const later = (
        delay: Duration.Duration,
        app: App.AppRuntime,
        still: () => boolean,
        event: Readonly<Record<string, unknown>>
      ) =>
        FiberSet.run(
          fibers,
          Effect.andThen(
            Effect.sleep(delay),
            Effect.suspend(() =>
              still()
                ? Effect.flatMap(Clock.currentTimeMillis, (now) => sender.enqueue(app.webhook, event, now))
                : Effect.void
            )
          )
        )
      return Effect.andThen(
        Effect.forEach(hooks, (h) => sender.enqueue(h.app.webhook, h.event, h.atMs), { discard: true }),
        Effect.andThen(
          Effect.forEach(
            left,
            ({ app, channel, userId }) =>
              later(removalDelay, app, () => !app.hub.isMember(channel, userId), {
                name: "member_removed",
                channel,
                user_id: userId
              }),
            { discard: true }
          ),
          Effect.forEach(
            emptied,
            ({ app, channel }) =>
              later(vacatedDelay, app, () => app.hub.subscriptionCount(channel) === 0, {
                name: "channel_vacated",
                channel
              }),
            { discard: true }
          )
        )
      )
    })

    const handler = yield* Router.make({
      apps,
      faults,
      rateLimit:
        options.rateLimit === undefined
          ? undefined
          : { maxRequests: options.rateLimit.maxRequests, windowMs: millis(options.rateLimit.window, 60_000) },
      requestLimitBytes: (options.requestLimitInMb ?? 10) * 1024 * 1024,
      outbox,
      drain,
      log
    })

    const connect = (connectOptions: Client.ConnectOptions = {}) =>
      Effect.suspend(() => {
        const app =
          connectOptions.app === undefined ? apps[0] : apps.find((a) => a.credentials.id === connectOptions.app)
        return app === undefined
          ? Effect.fail(
              new Client.EmulatorClientError({ operation: "connect", message: `no app '${connectOptions.app}'` })
            )
          : Client.connect(app, connectOptions, outbox, drain)
      })

    return Emulator.of({
      apps: apps.map((app) => app.credentials),
      handler,
      connect,
      faults: { inject: (rule) => Effect.sync(() => faults.add(rule)), clear: Effect.sync(() => faults.clear()) },
      webhooks: { deliveries: Effect.sync(() => sender.deliveries.slice()), next: sender.next },
      requests: Effect.sync(() => log.slice()),
      settled: FiberSet.awaitEmpty(fibers)
    })
  })

/**
 * The emulator service.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Emulator> => Layer.effect(Emulator, make(options))

/**
 * A `SockudoConfig` for one of the emulator's apps (default: the first), pointing at the
 * loopback server when `EmulatorServer` is provided, else at {@link inProcessBaseUrl}.
 *
 * @since 0.1.0
 */
export const layerSockudoConfig = (
  settings: SockudoConfig.Settings & {
    /** The app's id (default: the emulator's first app). */
    readonly app?: string | undefined
  } = {}
): Layer.Layer<SockudoConfig.SockudoConfig, SockudoConfigError, Emulator> =>
  Layer.effect(
    SockudoConfig.SockudoConfig,
    Effect.gen(function* () {
      const emulator = yield* Emulator
      const server = yield* Effect.serviceOption(EmulatorServer)
      const { app: appId, ...rest } = settings
      const app = emulator.apps.find((a) => appId === undefined || a.id === appId) ?? emulator.apps[0]!
      return yield* SockudoConfig.make({
        ...rest,
        appId: app.id,
        key: app.key,
        secret: Redacted.make(app.secret),
        baseUrl: Option.match(server, { onNone: () => inProcessBaseUrl, onSome: (s) => s.baseUrl })
      })
    })
  )

/**
 * Everything in-process: the emulator, the `Sockudo` service talking to it through
 * {@link layerHttpClient}, and its `SockudoConfig`.
 *
 * @since 0.1.0
 */
export const layerTest = (
  options: Options & {
    /** Settings of the SDK (retry, timeout, limits...); the app's credentials come from the emulator. */
    readonly sockudo?: SockudoConfig.Settings | undefined
  } = {}
): Layer.Layer<Emulator | Sockudo.Sockudo | SockudoConfig.SockudoConfig, SockudoConfigError> =>
  // Fresh, so that inside a runtime that built another Sockudo layer this one still talks to its
  // own emulator.
  Layer.fresh(Sockudo.layer).pipe(
    Layer.provideMerge(layerSockudoConfig(options.sockudo)),
    Layer.provide(Layer.fresh(layerHttpClient)),
    Layer.provideMerge(layer(options))
  )
