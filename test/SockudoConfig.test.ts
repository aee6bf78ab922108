import { assert, describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, type Layer, Redacted } from "effect"
import { SockudoConfig } from "../src/index.ts"

const secret = Redacted.make("s3cr3t-value")
const base = { appId: "app-id", key: "app-key", secret }
const resolve = <E>(layer: Layer.Layer<SockudoConfig.SockudoConfig, E>) =>
  Effect.provide(SockudoConfig.SockudoConfig, layer)

describe("SockudoConfig.layer", () => {
  it.effect("defaults to http://127.0.0.1:6001 with the server's limits", () =>
    Effect.gen(function* () {
      const config = yield* resolve(SockudoConfig.layer(base))
      assert.strictEqual(config.baseUrl, "http://127.0.0.1:6001")
      assert.deepStrictEqual(config.limits, SockudoConfig.defaultLimits)
      assert.isTrue(config.autoIdempotency)
      assert.strictEqual(Duration.toMillis(config.timeout), 10_000)
      assert.isUndefined(config.encryptionMasterKey)
    })
  )

  const urls: ReadonlyArray<readonly [string, Partial<SockudoConfig.Options>, string]> = [
    ["host and port", { host: "sockudo.internal", port: 7000 }, "http://sockudo.internal:7000"],
    ["TLS on the default port", { host: "sockudo.example.com", useTLS: true }, "https://sockudo.example.com"],
    [
      "TLS on another port",
      { host: "sockudo.example.com", useTLS: true, port: 6443 },
      "https://sockudo.example.com:6443"
    ],
    ["a cluster", { cluster: "eu" }, "https://api-eu.pusher.com"],
    ["a cluster without TLS", { cluster: "eu", useTLS: false }, "http://api-eu.pusher.com"],
    ["a host wins over a cluster", { cluster: "eu", host: "10.0.0.1" }, "http://10.0.0.1:6001"],
    ["a full base URL", { baseUrl: "https://rt.example.com:8443/prefix/" }, "https://rt.example.com:8443/prefix"]
  ]
  for (const [name, options, expected] of urls) {
    it.effect(`base URL from ${name}`, () =>
      Effect.gen(function* () {
        const config = yield* resolve(SockudoConfig.layer({ ...base, ...options }))
        assert.strictEqual(config.baseUrl, expected)
      })
    )
  }

  const invalid: ReadonlyArray<readonly [string, Partial<SockudoConfig.Options>]> = [
    ["appId", { appId: "" }],
    ["key", { key: "" }],
    ["key", { key: "a:b" }],
    ["secret", { secret: Redacted.make("") }],
    ["secret", { secret: "plain" as never }],
    ["host", { host: "http://x" }],
    ["host", { host: "a/b" }],
    ["port", { port: 0 }],
    ["port", { port: 70000 }],
    ["port", { port: 1.5 }],
    ["baseUrl", { baseUrl: "not a url" }],
    ["baseUrl", { baseUrl: "ftp://x" }],
    ["baseUrl", { baseUrl: "http://k:s@x" }],
    ["cluster", { cluster: "EU west" }],
    ["timeout", { timeout: "0 millis" }],
    ["timeout", { timeout: "Infinity" }],
    ["limits.maxChannelsPerTrigger", { limits: { maxChannelsPerTrigger: 0 } }],
    ["limits.maxPayloadBytes", { limits: { maxPayloadBytes: -1 } }],
    ["encryptionMasterKeyBase64", { encryptionMasterKeyBase64: Redacted.make("c2hvcnQ=") }],
    ["encryptionMasterKeyBase64", { encryptionMasterKeyBase64: Redacted.make("not base64!") }],
    ["previousSecrets[1]", { previousSecrets: [Redacted.make("old"), Redacted.make("")] }],
    ["previousSecrets[0]", { previousSecrets: ["plain" as never] }],
    ["webhookMaxAge", { webhookMaxAge: "0 millis" }]
  ]
  for (const [field, options] of invalid) {
    it.effect(`rejects ${field} ${JSON.stringify(options)} naming the field`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(resolve(SockudoConfig.layer({ ...base, ...options })))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field })
        assert.notInclude(error.message, "s3cr3t")
      })
    )
  }

  it.effect("accepts a 32-byte master key and keeps it redacted", () =>
    Effect.gen(function* () {
      const config = yield* resolve(
        SockudoConfig.layer({
          ...base,
          encryptionMasterKeyBase64: Redacted.make("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
        })
      )
      assert.strictEqual(Redacted.value(config.encryptionMasterKey!).length, 32)
      assert.notInclude(JSON.stringify(config), "MDEy")
      assert.notInclude(JSON.stringify(config), "s3cr3t")
      assert.notInclude(String(config.secret), "s3cr3t")
    })
  )
})

describe("SockudoConfig.layerFromUrl", () => {
  it.effect("parses key, secret, host, port, app id and a path prefix", () =>
    Effect.gen(function* () {
      const config = yield* resolve(
        SockudoConfig.layerFromUrl(Redacted.make("https://my-key:my%2Fsecret@rt.example.com:8443/edge/apps/app-42"), {
          timeout: "3 seconds"
        })
      )
      assert.strictEqual(config.key, "my-key")
      assert.strictEqual(Redacted.value(config.secret), "my/secret")
      assert.strictEqual(config.appId, "app-42")
      assert.strictEqual(config.baseUrl, "https://rt.example.com:8443/edge")
      assert.strictEqual(Duration.toMillis(config.timeout), 3000)
    })
  )

  for (const url of [
    "http://127.0.0.1:6001/apps/app-id",
    "http://k:s@127.0.0.1:6001/channels",
    "nope",
    "ws://k:s@h/apps/a"
  ]) {
    it.effect(`rejects ${url} without echoing it`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(resolve(SockudoConfig.layerFromUrl(url)))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "url" })
        assert.notInclude(error.message, url)
      })
    )
  }
})

describe("SockudoConfig.layerConfig", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

  it.effect("reads SOCKUDO_APP_ID, _APP_KEY, _APP_SECRET, _HOST, _PORT, _USE_TLS and the master key", () =>
    Effect.gen(function* () {
      const config = yield* resolve(SockudoConfig.layerConfig).pipe(
        withEnv({
          SOCKUDO_APP_ID: "a1",
          SOCKUDO_APP_KEY: "k1",
          SOCKUDO_APP_SECRET: "s1",
          SOCKUDO_HOST: "rt.internal",
          SOCKUDO_PORT: "7443",
          SOCKUDO_USE_TLS: "true",
          SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
        })
      )
      assert.strictEqual(config.appId, "a1")
      assert.strictEqual(config.key, "k1")
      assert.strictEqual(Redacted.value(config.secret), "s1")
      assert.strictEqual(config.baseUrl, "https://rt.internal:7443")
      assert.isDefined(config.encryptionMasterKey)
    })
  )

  it.effect("prefers SOCKUDO_URL", () =>
    Effect.gen(function* () {
      const config = yield* resolve(SockudoConfig.layerConfig).pipe(
        withEnv({ SOCKUDO_URL: "http://k2:s2@10.1.1.1:6001/apps/a2", SOCKUDO_APP_ID: "ignored" })
      )
      assert.strictEqual(config.appId, "a2")
      assert.strictEqual(config.baseUrl, "http://10.1.1.1:6001")
    })
  )

  it.effect("a missing variable is a ConfigError; a bad value a SockudoConfigError", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(resolve(SockudoConfig.layerConfig).pipe(withEnv({ SOCKUDO_APP_ID: "a" })))
      assert.notStrictEqual((missing as { _tag?: string })._tag, "SockudoConfigError")
      const bad = yield* Effect.flip(
        resolve(SockudoConfig.layerConfig).pipe(
          withEnv({ SOCKUDO_APP_ID: "a", SOCKUDO_APP_KEY: "k", SOCKUDO_APP_SECRET: "s", SOCKUDO_HOST: "bad/host" })
        )
      )
      expect(bad).toMatchObject({ _tag: "SockudoConfigError", field: "host" })
    })
  )
})

describe("malformed percent-escapes in a Sockudo URL", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

  for (const [part, url] of [
    ["key", "http://k%ZZ:s3cr3t-value@h:6001/apps/a1"],
    ["secret", "http://k:s3cr3t%E0%A4%A@h:6001/apps/a1"],
    ["app id", "http://k:s3cr3t-value@h:6001/apps/a%2"]
  ] as const) {
    it.effect(`in the ${part} is a SockudoConfigError from layerFromUrl, never a URIError`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(resolve(SockudoConfig.layerFromUrl(Redacted.make(url))))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "url" })
        assert.include(error.message, part)
        assert.notInclude(error.message, "s3cr3t")
      })
    )
    it.effect(`in the ${part} is a SockudoConfigError from SOCKUDO_URL in layerConfig`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(resolve(SockudoConfig.layerConfig).pipe(withEnv({ SOCKUDO_URL: url })))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "url" })
        assert.notInclude(error.message, "s3cr3t")
      })
    )
  }
})

describe("SockudoConfig.config, the environment's settings as a Config value", () => {
  const env = (vars: Record<string, string>) => ConfigProvider.fromEnv({ env: vars })
  const credentials = { SOCKUDO_APP_ID: "a1", SOCKUDO_APP_KEY: "k1", SOCKUDO_APP_SECRET: "s1" }
  /** The configuration layerConfig reads from the test app's credentials and `vars`. */
  const fromEnv = (vars: Record<string, string>) =>
    resolve(SockudoConfig.layerConfig).pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, env({ ...credentials, ...vars }))
    )

  it.effect("SOCKUDO_CLUSTER sets the Pusher cluster host instead of falling back to 127.0.0.1:6001", () =>
    Effect.gen(function* () {
      const config = yield* fromEnv({ SOCKUDO_CLUSTER: "eu" })
      assert.strictEqual(config.baseUrl, "https://api-eu.pusher.com")
    })
  )

  it.effect("reads the timeout and every limit", () =>
    Effect.gen(function* () {
      const config = yield* fromEnv({
        SOCKUDO_TIMEOUT: "2500 millis",
        SOCKUDO_MAX_CHANNELS_PER_TRIGGER: "10",
        SOCKUDO_MAX_CHANNEL_NAME_BYTES: "64",
        SOCKUDO_MAX_EVENT_NAME_BYTES: "32",
        SOCKUDO_MAX_PAYLOAD_BYTES: "10240",
        SOCKUDO_MAX_BATCH_SIZE: "10"
      })
      assert.strictEqual(Duration.toMillis(config.timeout), 2500)
      assert.deepStrictEqual(config.limits, {
        ...SockudoConfig.defaultLimits,
        maxChannelsPerTrigger: 10,
        maxChannelNameBytes: 64,
        maxEventNameBytes: 32,
        maxPayloadBytes: 10240,
        maxBatchSize: 10
      })
    })
  )

  it.effect("reads the previous secrets of a rotation, the webhook maximum age, the retry wait and the deadline", () =>
    Effect.gen(function* () {
      const config = yield* fromEnv({
        SOCKUDO_APP_PREVIOUS_SECRETS: "old-1,old-2",
        SOCKUDO_WEBHOOK_MAX_AGE: "10 minutes",
        SOCKUDO_MAX_RETRY_WAIT: "2 minutes",
        SOCKUDO_DEADLINE: "15 seconds"
      })
      assert.deepStrictEqual(config.previousSecrets.map(Redacted.value), ["old-1", "old-2"])
      assert.strictEqual(Duration.toMillis(config.webhookMaxAge!), 600_000)
      assert.strictEqual(Duration.toMillis(config.maxRetryWait), 120_000)
      assert.strictEqual(Duration.toMillis(config.deadline!), 15_000)
      assert.notInclude(JSON.stringify(config), "old-1")
    })
  )

  it.effect("the environment's settings win over the ones given in code; unset ones keep them", () =>
    Effect.gen(function* () {
      const config = yield* resolve(
        SockudoConfig.layerConfigWith({ timeout: "7 seconds", limits: { maxBatchSize: 5, maxPayloadBytes: 100 } })
      ).pipe(Effect.provideService(ConfigProvider.ConfigProvider, env({ ...credentials, SOCKUDO_MAX_BATCH_SIZE: "8" })))
      assert.strictEqual(Duration.toMillis(config.timeout), 7000)
      assert.strictEqual(config.limits.maxBatchSize, 8)
      assert.strictEqual(config.limits.maxPayloadBytes, 100)
    })
  )

  it.effect("a limit that is not a positive integer is a SockudoConfigError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        resolve(SockudoConfig.layerConfig).pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, env({ ...credentials, SOCKUDO_MAX_BATCH_SIZE: "0" }))
        )
      )
      expect(error).toMatchObject({ _tag: "SockudoConfigError", field: "limits.maxBatchSize" })
    })
  )

  it.effect("nests under a prefix, so two apps can be configured side by side", () =>
    Effect.gen(function* () {
      const billing = SockudoConfig.config.pipe(Config.nested("BILLING"))
      const provider = env({
        BILLING_SOCKUDO_URL: "http://kb:sb@10.0.0.2:6001/apps/billing",
        SOCKUDO_URL: "http://kd:sd@10.0.0.1:6001/apps/default"
      })
      const nested = yield* resolve(SockudoConfig.layerFromConfig(billing)).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, provider)
      )
      const plain = yield* resolve(SockudoConfig.layerConfig).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, provider)
      )
      assert.deepStrictEqual([nested.appId, nested.key, nested.baseUrl], ["billing", "kb", "http://10.0.0.2:6001"])
      assert.deepStrictEqual([plain.appId, plain.key], ["default", "kd"])
    })
  )

  it.effect("composes inside an application's own Config, then builds the layer from the value", () =>
    Effect.gen(function* () {
      const appConfig = Config.all({ port: Config.Port("PORT"), sockudo: SockudoConfig.config })
      const { port, sockudo } = yield* appConfig.parse(env({ PORT: "8080", ...credentials, SOCKUDO_HOST: "rt" }))
      const config = yield* resolve(SockudoConfig.layer(sockudo))
      assert.strictEqual(port, 8080)
      assert.strictEqual(config.baseUrl, "http://rt:6001")
    })
  )
})
