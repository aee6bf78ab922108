/**
 * An in-memory Sockudo server for tests: the HTTP API with the server's request verification,
 * error shapes, idempotency and response shapes; simulated client connections; signed webhooks;
 * fault injection. Served on a real loopback port (`layerServer`) or answered in-process by an
 * `HttpClient` (`layerHttpClient`), from the same handler.
 *
 * ```ts
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
import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import type { ServeError } from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { SockudoConfigError } from "../../Errors.ts"
import * as Sockudo from "../../Sockudo.ts"
import * as SockudoConfig from "../../SockudoConfig.ts"
import type { Features, Limits, Store } from "./Api.ts"
import * as App from "./App.ts"
import * as Client from "./Client.ts"
import * as Core from "./Core.ts"
import * as Faults from "./Faults.ts"
import * as Idempotency from "./Idempotency.ts"
import type { Namespace } from "./Names.ts"
import * as Router from "./Router.ts"
import { makeStores } from "./stores/index.ts"
import type { AppCredentials } from "./Verify.ts"
import * as Webhooks from "./Webhooks.ts"

export type { Features, Limits, Store } from "./Api.ts"
export { type Connection, type ConnectOptions, EmulatorClientError, type SubscribeOptions } from "./Client.ts"
export type { CloseInfo, ReceivedMessage, SignedInUser } from "./Connections.ts"
export type { Fault, FaultRule, FaultTarget } from "./Faults.ts"
export type { Namespace } from "./Names.ts"
export type { RequestLogEntry } from "./Router.ts"
export type { AppCredentials } from "./Verify.ts"
export type { Batching, WebhookDelivery, WebhookRequest, WebhookTarget } from "./Webhooks.ts"

/**
 * One emulated app. Features, limits and idempotency override the emulator-wide settings.
 *
 * @since 0.1.0
 */
export interface AppOptions extends AppCredentials {
  readonly features?: Partial<Features> | undefined
  readonly limits?: Partial<Limits> | undefined
  readonly idempotency?: IdempotencyOptions | undefined
  /** Channel namespaces (`chat:` in `chat:room-1`); channels in others are rejected. */
  readonly namespaces?: ReadonlyArray<Namespace> | undefined
  readonly webhooks?: ReadonlyArray<Webhooks.WebhookTarget> | undefined
  /** Whether simulated clients may send client events. Default true. */
  readonly clientMessages?: boolean | undefined
}

/**
 * Idempotency settings (section 5). Defaults: enabled, 120 seconds, 128-byte keys.
 *
 * @since 0.1.0
 */
export interface IdempotencyOptions {
  readonly enabled?: boolean | undefined
  readonly ttl?: Duration.Input | undefined
  readonly maxKeyLength?: number | undefined
}

/**
 * Options of the emulator.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The apps (default: one app, {@link defaultApp}). */
  readonly apps?: ReadonlyArray<AppOptions> | undefined
  /** Features of every app (each off by default, as on the server). */
  readonly features?: Partial<Features> | undefined
  /** Limits of every app (default: the server's, section 4). */
  readonly limits?: Partial<Limits> | undefined
  readonly idempotency?: IdempotencyOptions | undefined
  /** Rate limiting per client address, off by default (the server's default is 100 per 60 s). */
  readonly rateLimit?: { readonly maxRequests: number; readonly window: Duration.Input } | undefined
  /** The body size limit. Default 10 MiB. */
  readonly requestLimitInMb?: number | undefined
  /** Webhook batching, off by default (the server's default is 50 ms, 100 events). */
  readonly webhookBatching?: Webhooks.Batching | undefined
  /** Retry failed webhook deliveries as the server does. Default true. */
  readonly webhookRetry?: boolean | undefined
  /** The HttpClient that POSTs webhooks to URLs. Default: the platform's fetch. */
  readonly webhookClient?: HttpClient.HttpClient | undefined
  /** How long after the last connection of a member leaves `member_removed` is sent. Default 3 s. */
  readonly memberRemovedDelay?: Duration.Input | undefined
  /** How long `GET /channels` answers from a cache. Default 0 (the server caches for 2 s). */
  readonly channelListCacheTtl?: Duration.Input | undefined
  /**
   * The durable stores of one app (history, presence history, versioned messages, annotations,
   * push), built once per app. Default: `makeStores` of `./stores`.
   */
  readonly stores?: ((app: AppCredentials) => ReadonlyArray<Store>) | undefined
}

/**
 * The credentials of the app an emulator has when none are given.
 *
 * @since 0.1.0
 */
export const defaultApp: AppCredentials = { id: "app-id", key: "app-key", secret: "app-secret" }

/**
 * The features of a server with nothing switched on.
 *
 * @since 0.1.0
 */
export const defaultFeatures: Features = {
  history: false,
  presenceHistory: false,
  versionedMessages: false,
  annotations: false,
  push: false,
  userAuthentication: false
}

/**
 * The server's default limits.
 *
 * @since 0.1.0
 */
export const defaultLimits: Limits = { maxChannelNameLength: 200, maxEventNameLength: 200, maxHistoryPageSize: 100 }

/**
 * The emulator service.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly apps: ReadonlyArray<AppCredentials>
  /** The HTTP handler; a dropped connection answers {@link Router.dropped}. */
  readonly handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
  /** Opens a simulated client connection. */
  readonly connect: (options?: Client.ConnectOptions) => Effect.Effect<Client.Connection, Client.EmulatorClientError>
  readonly faults: {
    readonly inject: (rule: Faults.FaultRule) => Effect.Effect<void>
    readonly clear: Effect.Effect<void>
  }
  readonly webhooks: {
    /** Every webhook body sent so far. */
    readonly deliveries: Effect.Effect<ReadonlyArray<Webhooks.WebhookDelivery>>
    /** Waits for the next webhook body to be sent. */
    readonly next: Effect.Effect<Webhooks.WebhookDelivery>
  }
  /** Every API request received so far. */
  readonly requests: Effect.Effect<ReadonlyArray<Router.RequestLogEntry>>
  /** Waits until background work (webhook deliveries, batching windows, delayed removals) is done. */
  readonly settled: Effect.Effect<void>
}

/**
 * @since 0.1.0
 */
export class Emulator extends Context.Service<Emulator, Service>()("effect-sockudo/testing/Emulator") {}

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
    const outbox: App.Outbox = { nowMs: 0, webhooks: [], memberLeft: [] }
    const faults = new Faults.Faults()
    const log: Array<Router.RequestLogEntry> = []
    const removalDelay = Duration.fromInputUnsafe(options.memberRemovedDelay ?? "3 seconds")
    const idempotency = idempotencySettings(options.idempotency, Idempotency.defaults)
    const settings: App.SharedSettings = { channelListCacheMs: millis(options.channelListCacheTtl, 0) }

    const appOptionsList: ReadonlyArray<AppOptions> = options.apps ?? [defaultApp]
    const apps = appOptionsList.map((appOptions) => {
      const features = { ...defaultFeatures, ...options.features, ...appOptions.features }
      const credentials = { id: appOptions.id, key: appOptions.key, secret: appOptions.secret }
      const appIdempotency = idempotencySettings(appOptions.idempotency, idempotency)
      const stores = options.stores?.(credentials) ?? makeStores({ idempotencyTtlMs: appIdempotency.ttlMs })
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
      if (hooks.length === 0 && left.length === 0) return Effect.void
      const removal = (entry: (typeof left)[number]) =>
        Effect.andThen(
          Effect.sleep(removalDelay),
          Effect.suspend(() =>
            entry.app.hub.isMember(entry.channel, entry.userId)
              ? Effect.void
              : Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  sender.enqueue(
                    entry.app.webhook,
                    { name: "member_removed", channel: entry.channel, user_id: entry.userId },
                    now
                  )
                )
          )
        )
      return Effect.andThen(
        Effect.forEach(hooks, (h) => sender.enqueue(h.app.webhook, h.event, h.atMs), { discard: true }),
        Effect.forEach(left, (entry) => FiberSet.run(fibers, removal(entry)), { discard: true })
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
 * The base URL the in-process `HttpClient` answers (any host works).
 *
 * @since 0.1.0
 */
export const inProcessBaseUrl = "http://sockudo.emulator"

/**
 * An `HttpClient` answered by the emulator in-process, without a socket. A dropped connection
 * fails with a `TransportError`.
 *
 * @since 0.1.0
 */
export const layerHttpClient: Layer.Layer<HttpClient.HttpClient, never, Emulator> = Layer.effect(
  HttpClient.HttpClient,
  Emulator.use((emulator) =>
    Effect.succeed(
      HttpClient.make((request) => {
        const base = HttpServerRequest.fromClientRequest(request)
        const contentType = request.body._tag === "Empty" ? undefined : request.body.contentType
        const serverRequest =
          contentType === undefined || base.headers["content-type"] !== undefined
            ? base
            : base.modify({ headers: Headers.set(base.headers, "content-type", contentType) })
        return emulator.handler.pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, serverRequest),
          Effect.scoped,
          Effect.flatMap((response) =>
            response === Router.dropped
              ? Effect.fail(
                  new HttpClientError.HttpClientError({
                    reason: new HttpClientError.TransportError({
                      request,
                      description: "the emulator dropped the connection"
                    })
                  })
                )
              : Effect.succeed(HttpServerResponse.toClientResponse(response, { request }))
          )
        )
      })
    )
  )
)

/**
 * The emulator served on a loopback port.
 *
 * @since 0.1.0
 */
export class EmulatorServer extends Context.Service<
  EmulatorServer,
  { readonly baseUrl: string; readonly port: number }
>()("effect-sockudo/testing/EmulatorServer") {}

/**
 * Serves the emulator on `127.0.0.1`, on a free port, with `@effect/platform-node`'s HTTP
 * server. A dropped connection destroys the socket.
 *
 * @since 0.1.0
 */
export const layerServer: Layer.Layer<EmulatorServer, ServeError, Emulator> = Layer.effect(
  EmulatorServer,
  Effect.gen(function* () {
    const emulator = yield* Emulator
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { port: 0, host: "127.0.0.1" })
    const app = Effect.flatMap(emulator.handler, (response) =>
      response === Router.dropped
        ? HttpServerRequest.HttpServerRequest.use((request) =>
            Effect.sync(() => {
              ;(NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage).socket.destroy()
              return HttpServerResponse.empty()
            })
          )
        : Effect.succeed(response)
    )
    yield* server.serve(app)
    const address = server.address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    return { baseUrl: `http://127.0.0.1:${port}`, port }
  })
)

/**
 * A `SockudoConfig` for one of the emulator's apps (default: the first), pointing at the
 * loopback server when `EmulatorServer` is provided, else at {@link inProcessBaseUrl}.
 *
 * @since 0.1.0
 */
export const layerSockudoConfig = (
  settings: SockudoConfig.Settings & { readonly app?: string | undefined } = {}
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
  options: Options & { readonly sockudo?: SockudoConfig.Settings | undefined } = {}
): Layer.Layer<Emulator | Sockudo.Sockudo | SockudoConfig.SockudoConfig, SockudoConfigError> =>
  Sockudo.layer.pipe(
    Layer.provideMerge(layerSockudoConfig(options.sockudo)),
    Layer.provide(layerHttpClient),
    Layer.provideMerge(layer(options))
  )
