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
import * as Base64 from "effect/encoding/Base64"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { SockudoConfigError, type SockudoError } from "./Errors.ts"
import { isPositiveInt } from "./Validation.ts"

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
 * The default of `maxRetryWait`: 30 seconds.
 *
 * @since 0.1.0
 */
export const defaultMaxRetryWait: Duration.Duration = Duration.seconds(30)

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
  /**
   * The longest the SDK waits before one retry. A `Retry-After` (or a backoff delay) beyond it
   * ends the retries: the call fails at once with that error, whose `retryAfter` says when to
   * come back. Default 30 seconds.
   */
  readonly maxRetryWait?: Duration.Input | undefined
  /**
   * An overall deadline of each call, across every attempt and wait: no attempt starts after it,
   * and one still running at it ends there (a `SockudoTransportError` with `timeout: true`).
   * Default: none (each attempt has `timeout`; the retries are bounded by `retry`).
   */
  readonly deadline?: Duration.Input | undefined
  /** Give every publish a generated idempotency key when the caller gives none. Default true. */
  readonly autoIdempotency?: boolean | undefined
  /** Client-side limits, see {@link Limits}. Default {@link defaultLimits}. */
  readonly limits?: Partial<Limits> | undefined
  /** Base64 of exactly 32 random bytes; enables `private-encrypted-` channels. */
  readonly encryptionMasterKeyBase64?: Redacted.Redacted<string> | undefined
  /**
   * Secrets the app key had before `secret`, while it is being rotated: webhooks signed with
   * them are still accepted. Requests are always signed with `secret`.
   */
  readonly previousSecrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /** Refuse webhooks whose `time_ms` is older than this (a replay window). Default: off. */
  readonly webhookMaxAge?: Duration.Input | undefined
  /**
   * Let the HttpClient open its own span per attempt (a child of the operation's span, with
   * `auth_signature` redacted from its `url.full`) and send the W3C `traceparent` header, so
   * the server's traces join yours. Default false: the operation's span alone records the
   * request, and nothing is propagated. When on, `HttpClient.TracerDisabledWhen` and
   * `HttpClient.TracerPropagationEnabled` you provide are honoured.
   */
  readonly httpClientSpans?: boolean | undefined
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
  /** The longest the SDK waits before a retry (a longer `Retry-After` ends the call). */
  readonly maxRetryWait: Duration.Duration
  /** The overall deadline of a call across its attempts, if any. */
  readonly deadline: Duration.Duration | undefined
  /** Whether publishes without a key get a generated one. */
  readonly autoIdempotency: boolean
  /** The client-side limits, defaults filled in. */
  readonly limits: Limits
  /** The 32-byte master key of encrypted channels, if configured. */
  readonly encryptionMasterKey: Redacted.Redacted<Uint8Array> | undefined
  /** Secrets of the app before a rotation, still accepted on webhooks. */
  readonly previousSecrets: ReadonlyArray<Redacted.Redacted<string>>
  /** The oldest webhook accepted, by its `time_ms`, if any. */
  readonly webhookMaxAge: Duration.Duration | undefined
  /** Whether the HttpClient's own spans and `traceparent` propagation are on. */
  readonly httpClientSpans: boolean
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

const positiveInt = isPositiveInt

const resolveOptions = (options: Options): Effect.Effect<Resolved, SockudoConfigError> =>
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

    const timeout = positiveDuration(options.timeout) ?? Duration.seconds(10)
    if (timeout === "invalid") return fail("timeout", "timeout must be a positive, finite duration")
    const maxRetryWait = positiveDuration(options.maxRetryWait) ?? defaultMaxRetryWait
    if (maxRetryWait === "invalid") return fail("maxRetryWait", "maxRetryWait must be a positive, finite duration")
    const deadline = positiveDuration(options.deadline)
    if (deadline === "invalid") return fail("deadline", "deadline must be a positive, finite duration")
    const webhookMaxAge = positiveDuration(options.webhookMaxAge)
    if (webhookMaxAge === "invalid") return fail("webhookMaxAge", "webhookMaxAge must be a positive, finite duration")

    if (options.httpClientSpans !== undefined && typeof options.httpClientSpans !== "boolean") {
      return fail("httpClientSpans", "httpClientSpans must be a boolean")
    }

    const previousSecrets = options.previousSecrets ?? []
    if (!Array.isArray(previousSecrets)) return fail("previousSecrets", "previousSecrets must be a list")
    for (let i = 0; i < previousSecrets.length; i++) {
      const previous = previousSecrets[i]
      const value = Redacted.isRedacted(previous) ? Redacted.value(previous) : undefined
      if (typeof value !== "string" || value.length === 0) {
        return fail(`previousSecrets[${i}]`, "each previous secret must be a non-empty Redacted string")
      }
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
      const decoded = BASE64.test(encoded) ? Base64.decode(encoded) : undefined
      const bytes = decoded !== undefined && Result.isSuccess(decoded) ? decoded.success : undefined
      if (bytes === undefined || bytes.length !== 32) {
        return fail(
          "encryptionMasterKeyBase64",
          "encryptionMasterKeyBase64 must be the base64 encoding of exactly 32 bytes"
        )
      }
      encryptionMasterKey = Redacted.make(bytes, { label: "encryptionMasterKey" })
    }

    return Effect.succeed<Resolved>({
      appId: options.appId,
      key: options.key,
      secret: options.secret,
      baseUrl,
      timeout,
      retry: options.retry ?? defaultRetrySchedule,
      maxRetryWait,
      deadline,
      autoIdempotency: options.autoIdempotency ?? true,
      limits,
      encryptionMasterKey,
      previousSecrets,
      webhookMaxAge,
      httpClientSpans: options.httpClientSpans ?? false
    })
  })

/** A positive, finite duration; `undefined` when absent. */
const positiveDuration = (input: Duration.Input | undefined): Duration.Duration | "invalid" | undefined => {
  if (input === undefined) return undefined
  const decoded = Duration.fromInput(input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.toMillis(decoded.value) > 0
    ? decoded.value
    : "invalid"
}

const stripUndefined = <A extends object>(a: A): Partial<A> =>
  Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as Partial<A>

/**
 * Options other than credentials and endpoint, for {@link layerFromUrl} and {@link layerConfigWith}.
 *
 * @since 0.1.0
 */
export type Settings = Omit<Options, "appId" | "key" | "secret" | "host" | "port" | "useTLS" | "baseUrl" | "cluster">

/**
 * Options whose credentials and endpoint are one URL,
 * `http(s)://key:secret@host:port[/prefix]/apps/<appId>` (see {@link optionsFromUrl}).
 *
 * @since 0.1.0
 */
export interface UrlOptions extends Settings {
  /** The Sockudo URL, credentials included (keep it `Redacted`). */
  readonly url: string | Redacted.Redacted<string>
}

const isUrlOptions = (options: Options | UrlOptions): options is UrlOptions =>
  (options as { readonly url?: unknown }).url !== undefined

/**
 * Validates options (or parses their URL) and resolves defaults.
 *
 * @since 0.1.0
 */
export const make = (options: Options | UrlOptions): Effect.Effect<Resolved, SockudoConfigError> => {
  if (!isUrlOptions(options)) return resolveOptions(options)
  const { url, ...settings } = options
  return Effect.flatMap(optionsFromUrl(url, settings), resolveOptions)
}

/**
 * A configuration layer from options.
 *
 * @since 0.1.0
 */
export const layer = (options: Options | UrlOptions): Layer.Layer<SockudoConfig, SockudoConfigError> =>
  Layer.effect(SockudoConfig, make(options))

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
    const appId = decodePart(match[2]!)
    const key = decodePart(parsed.username)
    const secret = decodePart(parsed.password)
    for (const [part, value] of [
      ["key", key],
      ["secret", secret],
      ["app id", appId]
    ] as const) {
      if (value === undefined) return fail("url", `the Sockudo URL's ${part} has a malformed percent-escape`)
    }
    return Effect.succeed<Options>({
      ...settings,
      appId: appId!,
      key: key!,
      secret: Redacted.make(secret!),
      baseUrl: `${parsed.origin}${match[1]!}`
    })
  })

/** `decodeURIComponent`, or `undefined` for a malformed escape (which it throws a `URIError` for). */
const decodePart = (encoded: string): string | undefined => {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return undefined
  }
}

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

const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

const envSettings: Config.Config<Settings> = Config.all({
  encryptionMasterKeyBase64: optional(Config.Redacted("SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64")),
  timeout: optional(Config.Duration("SOCKUDO_TIMEOUT")),
  maxRetryWait: optional(Config.Duration("SOCKUDO_MAX_RETRY_WAIT")),
  deadline: optional(Config.Duration("SOCKUDO_DEADLINE")),
  webhookMaxAge: optional(Config.Duration("SOCKUDO_WEBHOOK_MAX_AGE")),
  httpClientSpans: optional(Config.Boolean("SOCKUDO_HTTP_CLIENT_SPANS")),
  previousSecrets: optional(
    Config.map(Config.Redacted("SOCKUDO_APP_PREVIOUS_SECRETS"), (list) =>
      Redacted.value(list)
        .split(",")
        .filter((secret) => secret !== "")
        .map((secret) => Redacted.make(secret))
    )
  ),
  limits: Config.all({
    maxChannelsPerTrigger: optional(Config.Int("SOCKUDO_MAX_CHANNELS_PER_TRIGGER")),
    maxChannelNameBytes: optional(Config.Int("SOCKUDO_MAX_CHANNEL_NAME_BYTES")),
    maxEventNameBytes: optional(Config.Int("SOCKUDO_MAX_EVENT_NAME_BYTES")),
    maxPayloadBytes: optional(Config.Int("SOCKUDO_MAX_PAYLOAD_BYTES")),
    maxBatchSize: optional(Config.Int("SOCKUDO_MAX_BATCH_SIZE")),
    maxRequestBytes: optional(Config.Int("SOCKUDO_MAX_REQUEST_BYTES"))
  })
}).pipe(
  Config.map(
    ({ limits, ...settings }): Settings => ({
      ...stripUndefined(settings),
      limits: stripUndefined(limits) as Partial<Limits>
    })
  )
)

const envCredentials: Config.Config<Options> = Config.all({
  appId: Config.String("SOCKUDO_APP_ID"),
  key: Config.String("SOCKUDO_APP_KEY"),
  secret: Config.Redacted("SOCKUDO_APP_SECRET"),
  host: optional(Config.String("SOCKUDO_HOST")),
  port: optional(Config.Port("SOCKUDO_PORT")),
  useTLS: optional(Config.Boolean("SOCKUDO_USE_TLS")),
  cluster: optional(Config.String("SOCKUDO_CLUSTER"))
})

/**
 * The configuration as the environment gives it, as an Effect `Config` value, so it can be
 * nested under a prefix (`Config.nested("BILLING")` reads `BILLING_SOCKUDO_URL`, ...) or be part of
 * an application's own `Config`; build the layer with {@link layerFromConfig} or {@link layer}.
 *
 * It reads `SOCKUDO_URL`, or `SOCKUDO_APP_ID`, `SOCKUDO_APP_KEY`, `SOCKUDO_APP_SECRET` with
 * `SOCKUDO_HOST`, `SOCKUDO_PORT`, `SOCKUDO_USE_TLS` or `SOCKUDO_CLUSTER`; and in either case
 * `SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64`, `SOCKUDO_APP_PREVIOUS_SECRETS` (comma-separated, for
 * webhooks during a secret rotation), `SOCKUDO_WEBHOOK_MAX_AGE`, `SOCKUDO_TIMEOUT`,
 * `SOCKUDO_MAX_RETRY_WAIT`, `SOCKUDO_DEADLINE` (durations such as `5 seconds`), `SOCKUDO_HTTP_CLIENT_SPANS`,
 * `SOCKUDO_MAX_CHANNELS_PER_TRIGGER`, `SOCKUDO_MAX_CHANNEL_NAME_BYTES`,
 * `SOCKUDO_MAX_EVENT_NAME_BYTES`, `SOCKUDO_MAX_PAYLOAD_BYTES`, `SOCKUDO_MAX_BATCH_SIZE` and
 * `SOCKUDO_MAX_REQUEST_BYTES`.
 * Values are checked when the layer is built (a `SockudoConfigError` naming the option).
 *
 * @since 0.1.0
 */
export const config: Config.Config<Options | UrlOptions> = Config.all({
  url: optional(Config.Redacted("SOCKUDO_URL")),
  settings: envSettings
}).pipe(
  Config.flatMap(
    ({ url, settings }): Config.Config<Options | UrlOptions> =>
      url === undefined
        ? Config.map(
            envCredentials,
            (credentials): Options => ({ ...settings, ...stripUndefined(credentials) }) as Options
          )
        : Config.succeed<UrlOptions>({ ...settings, url })
  )
)

/** `fromEnv` over `settings`: what the environment sets wins, limit by limit. */
const withSettings = (settings: Settings, fromEnv: Options | UrlOptions): Options | UrlOptions => ({
  ...settings,
  ...fromEnv,
  limits: { ...settings.limits, ...fromEnv.limits }
})

/**
 * Reads the options from the environment (see {@link config}) over `settings`.
 *
 * @since 0.1.0
 */
export const loadOptions = (settings: Settings = {}): Effect.Effect<Options, Config.ConfigError | SockudoConfigError> =>
  Effect.flatMap(config, (fromEnv) => {
    const options = withSettings(settings, fromEnv)
    if (!isUrlOptions(options)) return Effect.succeed(options)
    const { url, ...rest } = options
    return optionsFromUrl(url, rest)
  })

/**
 * A configuration layer from a `Config` of options, such as {@link config} under a prefix:
 * `SockudoConfig.layerFromConfig(SockudoConfig.config.pipe(Config.nested("BILLING")))`. The
 * settings it reads win over `settings`.
 *
 * @since 0.1.0
 */
export const layerFromConfig = (
  options: Config.Config<Options | UrlOptions>,
  settings: Settings = {}
): Layer.Layer<SockudoConfig, Config.ConfigError | SockudoConfigError> =>
  Layer.effect(
    SockudoConfig,
    Effect.flatMap(options, (fromEnv) => make(withSettings(settings, fromEnv)))
  )

/**
 * {@link layerConfig} with extra settings (timeout, retry, limits...), which what the environment
 * sets overrides.
 *
 * @since 0.1.0
 */
export const layerConfigWith = (
  settings?: Settings
): Layer.Layer<SockudoConfig, Config.ConfigError | SockudoConfigError> => layerFromConfig(config, settings)

/**
 * A configuration layer read from the environment (see {@link config}).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<SockudoConfig, Config.ConfigError | SockudoConfigError> = layerConfigWith()
