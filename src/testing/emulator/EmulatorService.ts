/**
 * The emulator service and its options: the apps, features, limits and idempotency settings an
 * emulator is built from, the defaults of a server with nothing configured, and the service an
 * `Emulator` layer provides.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import type * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Scope from "effect/Scope"
import type { Features, Limits, Store } from "./Api.ts"
import type * as Client from "./Client.ts"
import type * as Faults from "./Faults.ts"
import type { Namespace } from "./Names.ts"
import type * as Router from "./Router.ts"
import type { AppCredentials } from "./Verify.ts"
import type * as Webhooks from "./Webhooks.ts"

/**
 * One emulated app. Features, limits and idempotency override the emulator-wide settings.
 *
 * @since 0.1.0
 */
export interface AppOptions extends AppCredentials {
  /** This app's features, over the emulator's. */
  readonly features?: Partial<Features> | undefined
  /** This app's limits, over the emulator's. */
  readonly limits?: Partial<Limits> | undefined
  /** This app's idempotency settings, over the emulator's. */
  readonly idempotency?: IdempotencyOptions | undefined
  /** Channel namespaces (`chat:` in `chat:room-1`); channels in others are rejected. */
  readonly namespaces?: ReadonlyArray<Namespace> | undefined
  /** Where this app's webhooks go. */
  readonly webhooks?: ReadonlyArray<Webhooks.WebhookTarget> | undefined
  /** Whether simulated clients may send client events. Default true. */
  readonly clientMessages?: boolean | undefined
  /**
   * The app's annotation policy (the server's `policy.channels.annotations_enabled`, which a
   * namespace's `annotationsEnabled` overrides): `false` answers 403 `forbidden` while the
   * `annotations` feature, the server's global switch, is on. Default true here (the server's
   * default is false: set it there).
   */
  readonly annotationsEnabled?: boolean | undefined
}

/**
 * Idempotency settings (section 5). Defaults: enabled, 120 seconds, 128-byte keys.
 *
 * @since 0.1.0
 */
export interface IdempotencyOptions {
  /** Honour idempotency keys. Default true. */
  readonly enabled?: boolean | undefined
  /** How long a key's answer is kept. Default 120 seconds. */
  readonly ttl?: Duration.Input | undefined
  /** The longest key accepted, in bytes. Default 128. */
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
  /** Idempotency settings of every app. */
  readonly idempotency?: IdempotencyOptions | undefined
  /** Rate limiting per client address, off by default (the server's default is 100 per 60 s). */
  readonly rateLimit?:
    | {
        /** Requests allowed per window. */
        readonly maxRequests: number
        /** The window's length. */
        readonly window: Duration.Input
      }
    | undefined
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
  /**
   * How long after the last subscriber unsubscribes `channel_vacated` is sent, if the channel is
   * still empty then. Default 3 s. (A closing connection's channels are reported vacated at once.)
   */
  readonly channelVacatedDelay?: Duration.Input | undefined
  /** How long `GET /channels` answers from a cache. Default 0 (the server caches for 2 s). */
  readonly channelListCacheTtl?: Duration.Input | undefined
  /**
   * The push providers whose delivery workers run, as the server's `push` configuration decides
   * (default: all of them). A publish naming another provider in a target (a raw recipient, a
   * provider topic or condition) is refused with the server's 503; a device of another provider
   * is never delivered to, so its publish stays `dispatching`.
   */
  readonly pushProviders?: ReadonlyArray<"fcm" | "apns" | "webPush" | "hms" | "wns" | "realtime"> | undefined
  /**
   * Models the server's `memory` cache driver (its default) with this `cache.memory.ttl` (300 s
   * by default): that driver ignores the TTL the server asks for and keeps every entry this long.
   * Here it is how long `GET /channels` answers (when `channelListCacheTtl` is on), a cache
   * channel's last event and a revocation last, and the `ttl` a cache channel reports (the
   * configured TTL, not the time left). Unset: each keeps its own TTL, as with a Redis cache.
   * Idempotency keys keep `idempotency.ttl`.
   */
  readonly memoryCacheTtl?: Duration.Input | undefined
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
  /** The emulated apps' credentials, in order. */
  readonly apps: ReadonlyArray<AppCredentials>
  /** The HTTP handler of the API; a connection a fault drops answers a marker each transport turns into its failure. */
  readonly handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
  /** Opens a simulated client connection. */
  readonly connect: (options?: Client.ConnectOptions) => Effect.Effect<Client.Connection, Client.EmulatorClientError>
  /** Fault injection. */
  readonly faults: {
    /** Adds a rule. Of the rules a request matches, the first status or drop applies, and every latency adds up. */
    readonly inject: (rule: Faults.FaultRule) => Effect.Effect<void>
    /** Removes every rule. */
    readonly clear: Effect.Effect<void>
  }
  /** The webhooks the apps sent. */
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
