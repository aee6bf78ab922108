/**
 * One emulated app: its credentials, features, limits and namespaces, its simulated
 * connections, idempotency state, durable stores and routes, and the synchronous outbox through
 * which webhook events and delayed presence removals leave the request that caused them.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type {
  ApiRequest,
  ApiResponse,
  AppHandle,
  Features,
  Limits,
  PresenceChange,
  PublishedEvent,
  Store
} from "./Api.ts"
import { cacheTtlMs, Hub } from "./Connections.ts"
import * as Idempotency from "./Idempotency.ts"
import type { Namespace } from "./Names.ts"
import * as Names from "./Names.ts"
import type { AppCredentials } from "./Verify.ts"
import type { WebhookApp, WebhookTarget } from "./Webhooks.ts"

/**
 * A route as the HTTP front mounts it: the stores' synchronous routes and the core routes alike.
 *
 * @since 0.1.0
 */
export interface MountedRoute {
  readonly method: "GET" | "POST" | "DELETE"
  /** Below `/apps/:appId`. */
  readonly path: string
  readonly body: "json" | "none"
  readonly handle: (request: ApiRequest, app: AppRuntime) => Effect.Effect<ApiResponse>
}

/**
 * The key of a route: `"POST /events"`.
 *
 * @since 0.1.0
 */
export const routeKey = (route: { readonly method: string; readonly path: string }): string =>
  `${route.method} ${route.path}`

/**
 * Work the synchronous parts of the emulator leave for the effectful front to do once the
 * current operation is over.
 *
 * @since 0.1.0
 */
export interface Outbox {
  /** The time of the operation in progress, for events raised without one. */
  nowMs: number
  readonly webhooks: Array<{
    readonly app: AppRuntime
    readonly event: Readonly<Record<string, unknown>>
    readonly atMs: number
  }>
  readonly memberLeft: Array<{ readonly app: AppRuntime; readonly channel: string; readonly userId: string }>
  /** Channels the last subscriber unsubscribed from (the delayed `channel_vacated`). */
  readonly emptied: Array<{ readonly app: AppRuntime; readonly channel: string }>
}

/**
 * Settings shared by every app of an emulator.
 *
 * @since 0.1.0
 */
export interface SharedSettings {
  /** How long `GET /channels` answers from its cache (the server: 2000 ms). */
  readonly channelListCacheMs: number
  /** The memory cache driver's TTL, which replaces every cache entry's own (`Options.memoryCacheTtl`). */
  readonly memoryCacheMs: number | undefined
}

/**
 * Everything the emulator knows about one app.
 *
 * @since 0.1.0
 */
export interface AppRuntime {
  readonly credentials: AppCredentials
  readonly features: Features
  readonly limits: Limits
  readonly namespaces: ReadonlyMap<string, Namespace>
  readonly hub: Hub
  readonly idempotency: Idempotency.Store
  readonly stores: ReadonlyArray<Store>
  /** The routes this app answers, by {@link routeKey}. */
  readonly routes: Map<string, MountedRoute>
  readonly handle: AppHandle
  readonly webhook: WebhookApp
  readonly settings: SharedSettings
  /** Revoked capability-token ids (`jti:<id>`) and client ids (`client:<id>`), with their expiry. */
  readonly revocations: Map<string, number>
  readonly channelListCache: Map<string, { readonly expiresAtMs: number; readonly response: ApiResponse }>
}

/**
 * What {@link make} needs.
 *
 * @since 0.1.0
 */
export interface AppConfig {
  readonly credentials: AppCredentials
  readonly features: Features
  readonly limits: Limits
  readonly namespaces: ReadonlyArray<Namespace>
  readonly clientMessages: boolean
  readonly idempotency: Idempotency.Settings
  readonly webhooks: ReadonlyArray<WebhookTarget>
  readonly settings: SharedSettings
  readonly stores: ReadonlyArray<Store>
}

/**
 * Builds an app, wiring its hub and its stores to the outbox.
 *
 * @since 0.1.0
 */
export const make = (config: AppConfig, outbox: Outbox): AppRuntime => {
  const namespaces = new Map(config.namespaces.map((ns) => [ns.name, ns]))
  let app: AppRuntime | undefined
  const self = (): AppRuntime => app!
  /** Hands an event to the stores as a publish; true when one of them delivered it (a versioned channel). */
  const publish = (event: PublishedEvent): boolean => {
    let delivered = false
    for (const store of config.stores) {
      const result = store.onPublish?.(event, self().handle)
      if (result !== undefined && !("status" in result) && result.message_serial !== undefined) delivered = true
    }
    return delivered
  }
  const hub = new Hub(
    {
      credentials: config.credentials,
      userAuthentication: config.features.userAuthentication,
      cacheTtlMs: config.settings.memoryCacheMs ?? cacheTtlMs,
      clientMessages: config.clientMessages,
      limits: config.limits,
      namespaces
    },
    {
      webhook: (event) => outbox.webhooks.push({ app: self(), event, atMs: outbox.nowMs }),
      presence: (change: PresenceChange) => {
        for (const store of config.stores) store.onPresence?.(change, self().handle)
      },
      memberLeft: (channel, userId) => outbox.memberLeft.push({ app: self(), channel, userId }),
      emptied: (channel) => outbox.emptied.push({ app: self(), channel }),
      publish: (event) => publish(event)
    }
  )
  const handle: AppHandle = {
    appId: config.credentials.id,
    features: config.features,
    limits: config.limits,
    broadcast: (channel, event, data, options) => {
      hub.publish(channel, event, data, options?.extras, options?.exceptSocketId, outbox.nowMs, options?.frame)
    },
    webhook: (event) => outbox.webhooks.push({ app: self(), event, atMs: outbox.nowMs }),
    publish,
    isConnected: (socketId) => hub.connections.has(socketId),
    userOf: (socketId) => hub.connections.get(socketId)?.user?.id,
    channelNameError: (channel) => Names.channelNameError(channel, config.limits.maxChannelNameLength, namespaces)
  }
  app = {
    credentials: config.credentials,
    features: config.features,
    limits: config.limits,
    namespaces,
    hub,
    idempotency: new Idempotency.Store(config.idempotency),
    stores: config.stores,
    routes: new Map(),
    handle,
    webhook: {
      id: config.credentials.id,
      key: config.credentials.key,
      secret: config.credentials.secret,
      targets: config.webhooks
    },
    settings: config.settings,
    revocations: new Map(),
    channelListCache: new Map()
  }
  return app
}
