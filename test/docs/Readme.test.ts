/**
 * The README's options table, row by row: every option of `SockudoConfig.Options` (and of its
 * `limits`) has a row, and each row's default is what `SockudoConfig.make` resolves.
 */
import { readFileSync } from "node:fs"
import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Redacted, Schedule } from "effect"
import { SockudoTransportError } from "../../src/Errors.ts"
import * as SockudoConfig from "../../src/SockudoConfig.ts"

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
const start = readme.indexOf("### Options")
const section = readme.slice(start, readme.indexOf("\n#", start + 1))
/** The table's rows: option name to its Default cell. */
const rows = new Map(
  section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const [name = "", fallback = ""] = line.slice(2, -2).split(" | ")
      return [name.replaceAll("`", ""), fallback] as const
    })
)

// Adding an option to the type without listing it here does not compile.
const optionNames = {
  appId: 0,
  key: 0,
  secret: 0,
  host: 0,
  port: 0,
  useTLS: 0,
  baseUrl: 0,
  cluster: 0,
  timeout: 0,
  retry: 0,
  maxRetryWait: 0,
  deadline: 0,
  autoIdempotency: 0,
  limits: 0,
  encryptionMasterKeyBase64: 0,
  previousSecrets: 0,
  webhookMaxAge: 0,
  httpClientSpans: 0
} satisfies Record<keyof SockudoConfig.Options, 0>
const limitNames = {
  maxChannelsPerTrigger: 0,
  maxChannelNameBytes: 0,
  maxEventNameBytes: 0,
  maxPayloadBytes: 0,
  maxBatchSize: 0,
  maxRequestBytes: 0
} satisfies Record<keyof SockudoConfig.Limits, 0>

const dropped = new SockudoTransportError({
  operation: "trigger",
  request: "POST /apps/app-id/events",
  message: "connection reset",
  timeout: false
})
const base = { appId: "app-id", key: "app-key", secret: Redacted.make("app-secret") }
const resolve = (options: Partial<SockudoConfig.Options>) => SockudoConfig.make({ ...base, ...options })
const baseUrl = (options: Partial<SockudoConfig.Options>) => Effect.map(resolve(options), (config) => config.baseUrl)

describe("the README's options table", () => {
  it("has one row per option, and per limit", () => {
    const names = Object.keys(optionNames).flatMap((name) =>
      name === "limits" ? Object.keys(limitNames).map((limit) => `limits.${limit}`) : [name]
    )
    expect([...rows.keys()]).toEqual(names)
  })

  for (const name of ["appId", "key", "secret"] as const) {
    it.effect(`${name}: required, a SockudoConfigError naming it otherwise`, () =>
      Effect.gen(function* () {
        assert.strictEqual(rows.get(name), "required")
        const error = yield* Effect.flip(resolve({ [name]: undefined as never }))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: name })
      })
    )
  }

  it.effect("host, port, useTLS, cluster: 127.0.0.1:6001 over http; 443 with TLS; a cluster's host over https", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("host"), "`127.0.0.1`, or `api-<cluster>.pusher.com` with `cluster`")
      assert.strictEqual(rows.get("port"), "`6001`, or `443` with TLS")
      assert.strictEqual(rows.get("useTLS"), "`false`, or `true` with `cluster` and no `host`")
      assert.strictEqual(rows.get("cluster"), "none")
      assert.strictEqual(yield* baseUrl({}), "http://127.0.0.1:6001")
      assert.strictEqual(yield* baseUrl({ useTLS: true }), "https://127.0.0.1")
      assert.strictEqual(yield* baseUrl({ cluster: "eu" }), "https://api-eu.pusher.com")
      assert.strictEqual(yield* baseUrl({ cluster: "eu", host: "sockudo.internal" }), "http://sockudo.internal:6001")
    })
  )

  it.effect("baseUrl: none; it keeps its path prefix and overrides host, port and useTLS", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("baseUrl"), "none")
      const url = yield* baseUrl({
        baseUrl: "https://realtime.example.com/sockudo/",
        host: "ignored.example.com",
        port: 1234,
        useTLS: false
      })
      assert.strictEqual(url, "https://realtime.example.com/sockudo")
    })
  )

  it.effect("timeout: 10 seconds", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("timeout"), "`10 seconds`")
      assert.strictEqual(Duration.toMillis((yield* resolve({})).timeout), 10_000)
    })
  )

  it.effect("retry: defaultRetrySchedule, 3 retries after about 100, 200 and 400 ms, each within ±20%", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("retry"), "`SockudoConfig.defaultRetrySchedule`")
      assert.strictEqual((yield* resolve({})).retry, SockudoConfig.defaultRetrySchedule)
      for (let round = 0; round < 20; round++) {
        const step = yield* Schedule.toStep(SockudoConfig.defaultRetrySchedule)
        const delays: Array<number> = []
        for (let attempt = 0; attempt < 10; attempt++) {
          const exit = yield* Effect.exit(step(0, dropped))
          if (Exit.isFailure(exit)) break
          delays.push(Duration.toMillis(exit.value[1]))
        }
        expect(delays).toHaveLength(3)
        delays.forEach((delay, i) => {
          expect(delay).toBeGreaterThanOrEqual(0.8 * 100 * 2 ** i)
          expect(delay).toBeLessThanOrEqual(1.2 * 100 * 2 ** i)
        })
      }
    })
  )

  it.effect("maxRetryWait: 30 seconds; deadline, previousSecrets, webhookMaxAge: none", () =>
    Effect.gen(function* () {
      const config = yield* resolve({})
      assert.strictEqual(rows.get("maxRetryWait"), "`30 seconds`")
      assert.strictEqual(Duration.toMillis(config.maxRetryWait), 30_000)
      for (const name of ["deadline", "previousSecrets", "webhookMaxAge"] as const)
        assert.strictEqual(rows.get(name), "none")
      assert.isUndefined(config.deadline)
      assert.deepStrictEqual(config.previousSecrets, [])
      assert.isUndefined(config.webhookMaxAge)
    })
  )

  it.effect("autoIdempotency: true", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("autoIdempotency"), "`true`")
      assert.isTrue((yield* resolve({})).autoIdempotency)
    })
  )

  it.effect("httpClientSpans: false; anything but a boolean is a SockudoConfigError naming it", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("httpClientSpans"), "`false`")
      assert.isFalse((yield* resolve({})).httpClientSpans)
      assert.isTrue((yield* resolve({ httpClientSpans: true })).httpClientSpans)
      const error = yield* Effect.flip(resolve({ httpClientSpans: "yes" as unknown as boolean }))
      assert.strictEqual(error.field, "httpClientSpans")
    })
  )

  it.effect("limits: the table's defaults are the resolved ones, and each is validated under its own field", () =>
    Effect.gen(function* () {
      const { limits } = yield* resolve({})
      for (const name of Object.keys(limitNames) as Array<keyof SockudoConfig.Limits>) {
        const value = limits[name]
        assert.strictEqual(rows.get(`limits.${name}`), value === undefined ? "no limit" : `\`${value}\``, name)
        const error = yield* Effect.flip(resolve({ limits: { [name]: 0 } }))
        expect(error).toMatchObject({ _tag: "SockudoConfigError", field: `limits.${name}` })
      }
    })
  )

  it.effect("encryptionMasterKeyBase64: none, so encrypted channels are off", () =>
    Effect.gen(function* () {
      assert.strictEqual(rows.get("encryptionMasterKeyBase64"), "none")
      assert.isUndefined((yield* resolve({})).encryptionMasterKey)
    })
  )
})
