/**
 * Configuration of the SDK: credentials, endpoint, timeouts, retry policy, client-side limits
 * and the end-to-end encryption master key. Built once, at the edge of the program:
 *
 * ```ts
 * import { Redacted } from "effect"
 * import { SockudoConfig } from "effect-sockudo"
 *
 * const fromOptions = SockudoConfig.layer({
 *   appId: "app-id",
 *   key: "app-key",
 *   secret: Redacted.make("app-secret"),
 *   host: "127.0.0.1",
 *   port: 6001
 * })
 * const fromUrl = SockudoConfig.layerFromUrl(Redacted.make("http://app-key:app-secret@127.0.0.1:6001/apps/app-id"))
 * const fromEnvironment = SockudoConfig.layerConfig // SOCKUDO_URL, or SOCKUDO_APP_ID / _APP_KEY / _APP_SECRET / _HOST / ...
 * ```
 *
 * Invalid options fail layer construction with a `SockudoConfigError` naming the field. The
 * secret and the master key stay `Redacted`: they print as `<redacted>` everywhere.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { SockudoConfigError, type SockudoError } from "./Errors.ts"

/**
 * Client-side limits, checked before a request is sent. The defaults match the server's own
 * (200-byte channel and event names, a 10 MiB request body, no payload or batch limit), so set
 * the ones your app configures (`max_event_payload_in_kb`, `max_event_batch_size`,
 * `max_event_channels_at_once`) to have them checked, or split by, on this side.
 *
 * @since 0.1.0
 */
export interface Limits {
  /**
   * The most channels in one publish request. A `trigger` to more channels is split into
   * several requests of at most this many channels. Default 100.
   */
  readonly maxChannelsPerTrigger: number
  /** UTF-8 bytes of a channel name. */
  readonly maxChannelNameBytes: number
  /** UTF-8 bytes of an event name. */
  readonly maxEventNameBytes: number
  /** Byte length of one event's `data` as sent (after serialisation and encryption). */
  readonly maxPayloadBytes: number | undefined
  /** The most events in one `batch_events` request; a larger `triggerBatch` is split. */
  readonly maxBatchSize: number | undefined
  /**
   * The largest request body in bytes (the server's `http_api.request_limit_in_mb`, 10 MiB by
   * default). A `triggerBatch` above it is split; a single event above it is refused.
   */
  readonly maxRequestBytes: number
}

/**
 * The backoff of the SDK's retries: which delays, how many attempts. Whatever schedule is
 * given, the SDK only retries retryable errors (transport, timeout, 5xx, 429) and never sooner
 * than a `Retry-After` header asks.
 *
 * @since 0.1.0
 */
export type RetrySchedule = Schedule.Schedule<unknown, SockudoError>

/**
 * The default retry backoff: exponential from 100 ms, doubling, capped at 2 s per delay,
 * jittered, at most 3 retries (4 attempts).
 *
 * @since 0.1.0
 */
export const defaultRetrySchedule: RetrySchedule = Schedule.min([
  Schedule.exponential("100 millis"),
  Schedule.spaced("2 seconds")
]).pipe(Schedule.jittered, Schedule.upTo({ times: 3 }))

/**
 * A schedule that never retries, for callers who handle failures themselves.
 *
 * @since 0.1.0
 */
export const noRetries: RetrySchedule = Schedule.recurs(0)

/**
 * Options accepted by {@link layer}. Give either `host` (with `port`, `useTLS`), a full
 * `baseUrl`, or a Pusher `cluster`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The app's id, as in `/apps/<appId>`. */
  readonly appId: string
  /** The app key (no `:`). */
  readonly key: string
  /** The app secret: it signs every request and never prints. */
  readonly secret: Redacted.Redacted<string>
  /** Host name or IP, without scheme. Default `127.0.0.1` (unless `cluster` is given). */
  readonly host?: string | undefined
  /** Default 6001 for plain HTTP, 443 with TLS. */
  readonly port?: number | undefined
  /** `https` instead of `http`. Default false (true with `cluster`). */
  readonly useTLS?: boolean | undefined
  /** A full base URL such as `https://realtime.example.com/sockudo`; overrides host, port and TLS. */
  readonly baseUrl?: string | undefined
  /** Pusher cluster shorthand: host `api-<cluster>.pusher.com`, used when no host is given. */
  readonly cluster?: string | undefined
  /** Per-attempt timeout. Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
  /** Retry backoff, see {@link RetrySchedule}. Default {@link defaultRetrySchedule}. */
  readonly retry?: RetrySchedule | undefined
  /** Give every publish a generated idempotency key when the caller gives none. Default true. */
  readonly autoIdempotency?: boolean | undefined
  /** Client-side limits, see {@link Limits}. Default {@link defaultLimits}. */
  readonly limits?: Partial<Limits> | undefined
  /** Base64 of exactly 32 random bytes; enables `private-encrypted-` channels. */
  readonly encryptionMasterKeyBase64?: Redacted.Redacted<string> | undefined
}

/**
 * The resolved configuration.
 *
 * @since 0.1.0
 */
export interface Resolved {
  /** The app's id. */
  readonly appId: string
  /** The app key. */
  readonly key: string
  /** The app secret. */
  readonly secret: Redacted.Redacted<string>
  /** Scheme, host, port and optional path prefix, without a trailing slash. */
  readonly baseUrl: string
  /** The timeout of each attempt. */
  readonly timeout: Duration.Duration
  /** The backoff of the SDK's retries. */
  readonly retry: RetrySchedule
  /** Whether publishes without a key get a generated one. */
  readonly autoIdempotency: boolean
  /** The client-side limits, defaults filled in. */
  readonly limits: Limits
  /** The 32-byte master key of encrypted channels, if configured. */
  readonly encryptionMasterKey: Redacted.Redacted<Uint8Array> | undefined
}

/**
 * The configuration service.
 *
 * @since 0.1.0
 */
export class SockudoConfig extends Context.Service<SockudoConfig, Resolved>()("effect-sockudo/SockudoConfig") {}

/**
 * The server's defaults for client-side limits.
 *
 * @since 0.1.0
 */
export const defaultLimits: Limits = {
  maxChannelsPerTrigger: 100,
  maxChannelNameBytes: 200,
  maxEventNameBytes: 200,
  maxPayloadBytes: undefined,
  maxBatchSize: undefined,
  maxRequestBytes: 10 * 1024 * 1024
}

const fail = (field: string, message: string) => Effect.fail(new SockudoConfigError({ field, message }))

const HOST = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

const positiveInt = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

/**
 * Validates options and resolves defaults.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Resolved, SockudoConfigError> =>
  Effect.suspend(() => {
    if (typeof options.appId !== "string" || options.appId.length === 0) {
      return fail("appId", "appId must be a non-empty string")
    }
    if (typeof options.key !== "string" || options.key.length === 0 || options.key.includes(":")) {
      return fail("key", "key must be a non-empty string without ':'")
    }
    if (!Redacted.isRedacted(options.secret)) {
      return fail("secret", "secret must be a Redacted string (Redacted.make(...))")
    }
    const secret = Redacted.value(options.secret)
    if (typeof secret !== "string" || secret.length === 0) {
      return fail("secret", "secret must be a non-empty string")
    }

    let baseUrl: string
    if (options.baseUrl !== undefined) {
      let url: URL
      try {
        url = new URL(options.baseUrl)
      } catch {
        return fail("baseUrl", "baseUrl is not a valid URL")
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        return fail("baseUrl", "baseUrl must use http or https")
      }
      if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
        return fail("baseUrl", "baseUrl must not carry credentials, a query or a fragment (use layerFromUrl)")
      }
      baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, "")}`
    } else {
      const host = options.host ?? (options.cluster !== undefined ? `api-${options.cluster}.pusher.com` : "127.0.0.1")
      if (options.cluster !== undefined && !/^[a-z0-9-]+$/.test(options.cluster)) {
        return fail("cluster", "cluster must contain only a-z, 0-9 and '-'")
      }
      if (!HOST.test(host)) {
        return fail("host", "host must be a host name or IP address, without scheme, port or path")
      }
      const useTLS = options.useTLS ?? (options.host === undefined && options.cluster !== undefined)
      const port =
        options.port ?? (useTLS ? 443 : options.cluster !== undefined && options.host === undefined ? 80 : 6001)
      if (!positiveInt(port) || port > 65535) {
        return fail("port", "port must be an integer from 1 to 65535")
      }
      const scheme = useTLS ? "https" : "http"
      const defaultPort = useTLS ? 443 : 80
      baseUrl = port === defaultPort ? `${scheme}://${host}` : `${scheme}://${host}:${port}`
    }

    let timeout: Duration.Duration
    if (options.timeout === undefined) {
      timeout = Duration.seconds(10)
    } else {
      const decoded = Duration.fromInput(options.timeout)
      if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) <= 0) {
        return fail("timeout", "timeout must be a positive, finite duration")
      }
      timeout = decoded.value
    }

    const limits: Limits = { ...defaultLimits, ...stripUndefined(options.limits ?? {}) }
    for (const name of [
      "maxChannelsPerTrigger",
      "maxChannelNameBytes",
      "maxEventNameBytes",
      "maxRequestBytes"
    ] as const) {
      if (!positiveInt(limits[name])) return fail(`limits.${name}`, `limits.${name} must be a positive integer`)
    }
    for (const name of ["maxPayloadBytes", "maxBatchSize"] as const) {
      const value = limits[name]
      if (value !== undefined && !positiveInt(value)) {
        return fail(`limits.${name}`, `limits.${name} must be a positive integer`)
      }
    }

    let encryptionMasterKey: Redacted.Redacted<Uint8Array> | undefined
    if (options.encryptionMasterKeyBase64 !== undefined) {
      const encoded = Redacted.isRedacted(options.encryptionMasterKeyBase64)
        ? Redacted.value(options.encryptionMasterKeyBase64)
        : undefined
      if (typeof encoded !== "string") {
        return fail("encryptionMasterKeyBase64", "encryptionMasterKeyBase64 must be a Redacted string")
      }
      const bytes = BASE64.test(encoded) ? Buffer.from(encoded, "base64") : undefined
      if (bytes === undefined || bytes.length !== 32) {
        return fail(
          "encryptionMasterKeyBase64",
          "encryptionMasterKeyBase64 must be the base64 encoding of exactly 32 bytes"
        )
      }
      encryptionMasterKey = Redacted.make(new Uint8Array(bytes), { label: "encryptionMasterKey" })
    }

    return Effect.succeed<Resolved>({
      appId: options.appId,
      key: options.key,
      secret: options.secret,
      baseUrl,
      timeout,
      retry: options.retry ?? defaultRetrySchedule,
      autoIdempotency: options.autoIdempotency ?? true,
      limits,
      encryptionMasterKey
    })
  })

const stripUndefined = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>

/**
 * A configuration layer from options.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<SockudoConfig, SockudoConfigError> =>
  Layer.effect(SockudoConfig, make(options))

/**
 * Options other than credentials and endpoint, for {@link layerFromUrl} and {@link layerConfigWith}.
 *
 * @since 0.1.0
 */
export type Settings = Omit<Options, "appId" | "key" | "secret" | "host" | "port" | "useTLS" | "baseUrl" | "cluster">

/**
 * Parses `http(s)://key:secret@host:port[/prefix]/apps/<appId>` into options. The URL carries
 * the secret, so errors never repeat it.
 *
 * @since 0.1.0
 */
export const optionsFromUrl = (
  url: string | Redacted.Redacted<string>,
  settings: Settings = {}
): Effect.Effect<Options, SockudoConfigError> =>
  Effect.suspend(() => {
    let parsed: URL
    try {
      parsed = new URL(Redacted.isRedacted(url) ? Redacted.value(url) : url)
    } catch {
      return fail("url", "the Sockudo URL is not a valid URL")
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return fail("url", "the Sockudo URL must use http or https")
    }
    const match = /^(.*)\/apps\/([^/]+)\/?$/.exec(parsed.pathname)
    if (match === null) return fail("url", "the Sockudo URL path must end with /apps/<appId>")
    if (parsed.username === "" || parsed.password === "") {
      return fail("url", "the Sockudo URL must carry key:secret@ credentials")
    }
    return Effect.succeed<Options>({
      ...settings,
      appId: decodeURIComponent(match[2]!),
      key: decodeURIComponent(parsed.username),
      secret: Redacted.make(decodeURIComponent(parsed.password)),
      baseUrl: `${parsed.origin}${match[1]!}`
    })
  })

/**
 * A configuration layer from a URL `http(s)://key:secret@host:port/apps/<appId>`.
 *
 * @since 0.1.0
 */
export const layerFromUrl = (
  url: string | Redacted.Redacted<string>,
  settings?: Settings
): Layer.Layer<SockudoConfig, SockudoConfigError> =>
  Layer.effect(SockudoConfig, Effect.flatMap(optionsFromUrl(url, settings), make))

/**
 * Reads the configuration through Effect `Config`: `SOCKUDO_URL`, or `SOCKUDO_APP_ID`,
 * `SOCKUDO_APP_KEY`, `SOCKUDO_APP_SECRET`, `SOCKUDO_HOST`, `SOCKUDO_PORT`, `SOCKUDO_USE_TLS`;
 * plus `SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64` in either case.
 *
 * @since 0.1.0
 */
export const loadOptions = (settings: Settings = {}): Effect.Effect<Options, Config.ConfigError | SockudoConfigError> =>
  Effect.gen(function* () {
    const masterKey = yield* Config.option(Config.Redacted("SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64"))
    const withKey: Settings = Option.isSome(masterKey)
      ? { ...settings, encryptionMasterKeyBase64: masterKey.value }
      : settings
    const url = yield* Config.option(Config.Redacted("SOCKUDO_URL"))
    if (Option.isSome(url)) return yield* optionsFromUrl(url.value, withKey)
    const appId = yield* Config.String("SOCKUDO_APP_ID")
    const key = yield* Config.String("SOCKUDO_APP_KEY")
    const secret = yield* Config.Redacted("SOCKUDO_APP_SECRET")
    const host = yield* Config.option(Config.String("SOCKUDO_HOST"))
    const port = yield* Config.option(Config.Port("SOCKUDO_PORT"))
    const useTLS = yield* Config.option(Config.Boolean("SOCKUDO_USE_TLS"))
    return {
      ...withKey,
      appId,
      key,
      secret,
      host: Option.getOrUndefined(host),
      port: Option.getOrUndefined(port),
      useTLS: Option.getOrUndefined(useTLS)
    }
  })

/**
 * {@link layerConfig} with extra settings (timeout, retry, limits...).
 *
 * @since 0.1.0
 */
export const layerConfigWith = (
  settings?: Settings
): Layer.Layer<SockudoConfig, Config.ConfigError | SockudoConfigError> =>
  Layer.effect(SockudoConfig, Effect.flatMap(loadOptions(settings), make))

/**
 * A configuration layer read from the environment (see {@link loadOptions}).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<SockudoConfig, Config.ConfigError | SockudoConfigError> = layerConfigWith()
