/**
 * What the SDK tells: the span of each operation (name, kind, attributes, events), the HttpClient's
 * own span and `traceparent` when asked for, the metrics after a known sequence of requests, and
 * the debug logs, recorded with an in-memory tracer, a fresh metric registry and a test logger.
 */
import { readFileSync } from "node:fs"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { SpanKind } from "@opentelemetry/api"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Cause, ConfigProvider, Effect, Layer, Logger, Metric, Option, References, Tracer } from "effect"
import { HttpClient } from "effect/http"
import { Publisher, SockudoConfig, Telemetry } from "../src/index.ts"
import * as Emulator from "../src/testing/emulator/Emulator.ts"
import * as Faults from "../src/testing/emulator/Faults.ts"
import * as SockudoTest from "../src/testing/index.ts"
import { everySecond, layer, requests, sequence, sockudo, withTime } from "./support/harness.ts"

/** A tracer that keeps every span it opens. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

const attributes = (span: Tracer.NativeSpan) => Object.fromEntries(span.attributes)
const named = (spans: ReadonlyArray<Tracer.NativeSpan>, name: string) => {
  const found = spans.filter((span) => span.name === name)
  assert.strictEqual(found.length, 1, `one span named ${name}`)
  return found[0]!
}

/** Every series of the SDK's metrics: counters by count, histograms by count and sum, gauges by value. */
const sdkMetrics = Effect.map(Metric.snapshot, (all) =>
  all
    .filter((metric) => metric.id.startsWith("sockudo."))
    .map((metric) => {
      const state = metric.state as { count?: number; sum?: number; value?: number }
      const value = metric.type === "Histogram" ? { count: state.count, sum: state.sum } : (state.count ?? state.value)
      return { id: metric.id, attributes: { ...metric.attributes }, value }
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
)

/** A fresh metric registry, so that each test sees its own series only. */
const freshMetrics = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Metric.MetricRegistry, new Map())

/** A logger that keeps each line with its level and annotations. */
const capturing = () => {
  const lines: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
  const logger = Logger.make((options) => {
    const message = Array.isArray(options.message) ? options.message.join(" ") : String(options.message)
    lines.push({
      level: options.logLevel,
      message,
      annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  return { lines, logger }
}

const ok = SockudoTest.json(200, {})

describe("the span of each operation", () => {
  it.effect("trigger to one channel: one CLIENT span named for the operation, with the request's attributes", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* (yield* sockudo).trigger("orders", "order.created", { id: 1 }, { idempotencyKey: "ord_1-created" })
      assert.strictEqual(spans.length, 1, "the HttpClient's own span is off by default")
      const span = named(spans, "Sockudo.trigger")
      assert.strictEqual(span.kind, "client")
      assert.strictEqual(span.status._tag, "Ended")
      assert.deepStrictEqual(attributes(span), {
        "messaging.system": "sockudo",
        "messaging.operation.name": "trigger",
        "messaging.operation.type": "send",
        "messaging.destination.name": "orders",
        "sockudo.event.name": "order.created",
        "sockudo.idempotency_key": "ord_1-created",
        "http.request.method": "POST",
        "url.path": "/apps/app-id/events",
        "server.address": "sockudo.test",
        "server.port": 6001,
        "http.response.status_code": 200
      })
      assert.deepStrictEqual(span.events, [], "no retry, no event")
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer(() => ok)))
  })

  it.effect(`several channels are named up to ${Telemetry.maxNamedChannels}, and only counted beyond`, () => {
    const { spans, tracer } = recording()
    const few = ["a", "b", "c"]
    const many = Array.from({ length: Telemetry.maxNamedChannels + 1 }, (_, i) => `c${i}`)
    return Effect.gen(function* () {
      const s = yield* sockudo
      yield* s.trigger(few, "e", 1)
      yield* s.trigger(many, "e", 1)
      const [first, second] = spans.map(attributes)
      assert.deepStrictEqual(first!["sockudo.channels"], few)
      assert.strictEqual(first!["sockudo.channel_count"], 3)
      assert.isUndefined(first!["messaging.destination.name"])
      assert.isUndefined(second!["sockudo.channels"])
      assert.strictEqual(second!["sockudo.channel_count"], many.length)
      assert.match(String(first!["sockudo.idempotency_key"]), /^[0-9a-f-]{36}$/, "the generated key is recorded")
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer(() => ok)))
  })

  it.effect("triggerBatch: messaging.batch.message_count and the batch path", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* (yield* sockudo).triggerBatch(
        [
          { channel: "a", name: "e", data: 1 },
          { channel: "b", name: "e", data: 2 }
        ],
        { idempotencyKey: "batch-1" }
      )
      const span = named(spans, "Sockudo.triggerBatch")
      assert.strictEqual(span.kind, "client")
      const recorded = attributes(span)
      assert.strictEqual(recorded["messaging.batch.message_count"], 2)
      assert.strictEqual(recorded["messaging.operation.name"], "triggerBatch")
      assert.strictEqual(recorded["url.path"], "/apps/app-id/batch_events")
      assert.strictEqual(recorded["sockudo.idempotency_key"], "batch-1")
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer(() => SockudoTest.json(200, { batch: [{}, {}] }))))
  })

  it.effect("a read (channels.get): CLIENT, with its channel, method and path", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* (yield* sockudo).channels.get("presence-room", { info: ["user_count"] })
      const span = named(spans, "Sockudo.channels.get")
      assert.strictEqual(span.kind, "client")
      assert.deepStrictEqual(attributes(span), {
        "messaging.system": "sockudo",
        "messaging.operation.name": "channels.get",
        "messaging.destination.name": "presence-room",
        "http.request.method": "GET",
        "url.path": "/apps/app-id/channels/presence-room",
        "server.address": "sockudo.test",
        "server.port": 6001,
        "http.response.status_code": 200
      })
    }).pipe(
      Effect.withTracer(tracer),
      Effect.provide(layer(() => SockudoTest.json(200, { occupied: true, user_count: 1 })))
    )
  })

  it.effect("a failure: error.type is the error's tag, with the status of the answer", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const error = yield* Effect.flip((yield* sockudo).trigger("orders", "e", 1, { idempotencyKey: "k-1" }))
      assert.strictEqual(error._tag, "SockudoClientError")
      const recorded = attributes(named(spans, "Sockudo.trigger"))
      assert.strictEqual(recorded["error.type"], "SockudoClientError")
      assert.strictEqual(recorded["http.response.status_code"], 400)
      assert.isUndefined(recorded["http.request.resend_count"], "a 400 is not retried")
    }).pipe(
      Effect.withTracer(tracer),
      Effect.provide(layer(() => SockudoTest.json(400, { error: "bad", code: "invalid_input" })))
    )
  })
})

describe("the publisher's spans", () => {
  it.effect(
    "Publisher.publish: PRODUCER, create; Publisher.batch: CLIENT with the batch request, linked both ways",
    () => {
      const { spans, tracer } = recording()
      return Effect.gen(function* () {
        const publisher = yield* Publisher.Publisher
        yield* Effect.all(
          [publisher.publish("orders", "order.created", 1), publisher.publish("audit", "order.created", 2)],
          {
            concurrency: "unbounded"
          }
        )
        const publishes = spans.filter((span) => span.name === "Publisher.publish")
        assert.deepStrictEqual(
          publishes.map((span): [string, Record<string, unknown>] => [span.kind, attributes(span)]),
          ["orders", "audit"].map((channel): [string, Record<string, unknown>] => [
            "producer",
            {
              "messaging.system": "sockudo",
              "messaging.operation.name": "publish",
              "messaging.operation.type": "create",
              "messaging.destination.name": channel,
              "sockudo.event.name": "order.created"
            }
          ])
        )
        const batch = named(spans, "Publisher.batch")
        assert.strictEqual(batch.kind, "client")
        const recorded = attributes(batch)
        assert.strictEqual(recorded["messaging.batch.message_count"], 2)
        assert.strictEqual(recorded["url.path"], "/apps/app-id/batch_events")
        assert.strictEqual(recorded["http.response.status_code"], 200)
        assert.deepStrictEqual(
          batch.links.map((link) => link.span.spanId),
          publishes.map((span) => span.spanId)
        )
      }).pipe(
        Effect.provide(Publisher.layer({ maxWait: "1 second" })),
        Effect.provide(layer(() => SockudoTest.json(200, { batch: [{}, {}] }))),
        // Outside the layers: the publisher sends its batches from a fiber its layer forks.
        Effect.withTracer(tracer)
      )
    }
  )
})

describe("without a tracer", () => {
  it.effect("nothing is written: effect's native spans go nowhere", () =>
    Effect.gen(function* () {
      const without = yield* Effect.withFiber((fiber) => Effect.succeed(Telemetry.recordingSpan(fiber))).pipe(
        Effect.withSpan("op")
      )
      assert.isUndefined(without)
      const { tracer } = recording()
      const withTracer = yield* Effect.withFiber((fiber) => Effect.succeed(Telemetry.recordingSpan(fiber))).pipe(
        Effect.withSpan("op"),
        Effect.withTracer(tracer)
      )
      assert.strictEqual(withTracer?.name, "op")
    })
  )

  it.effect("an operation opens its span only under a tracer: otherwise its body runs in the caller's span", () =>
    Effect.gen(function* () {
      const operation = Telemetry.operation("op", Telemetry.clientSpan, () =>
        Effect.map(Effect.currentSpan, (span) => span.name)
      )
      assert.strictEqual(yield* operation.pipe(Effect.withSpan("caller")), "caller")
      const { spans, tracer } = recording()
      assert.strictEqual(yield* operation.pipe(Effect.withSpan("caller"), Effect.withTracer(tracer)), "op")
      yield* operation.pipe(Effect.withTracer(tracer))
      const opened = spans.filter((span) => span.name === "op")
      assert.deepStrictEqual(
        opened.map((span) => {
          const parent = Option.getOrUndefined(span.parent)
          return [span.kind, parent?._tag === "Span" ? parent.name : undefined]
        }),
        [
          ["client", "caller"],
          ["client", undefined]
        ]
      )
    })
  )
})

describe("each retry is a span event", () => {
  it.effect("against the emulator: a 429 with Retry-After, then a 503, then the publish", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const emulator = yield* Emulator.Emulator
      yield* emulator.faults.inject({ route: "POST /events", times: 1, fault: Faults.rateLimited(2) })
      yield* emulator.faults.inject({ route: "POST /events", times: 1, fault: Faults.status(503) })
      const s = yield* sockudo
      const exit = yield* withTime(s.trigger("orders", "e", 1, { idempotencyKey: "k-retried" }))
      assert.strictEqual(exit._tag, "Success")
      const span = named(spans, "Sockudo.trigger")
      const recorded = attributes(span)
      assert.strictEqual(recorded["http.request.resend_count"], 2)
      assert.strictEqual(recorded["http.response.status_code"], 200, "the last answer's status")
      assert.isUndefined(recorded["error.type"], "the call succeeded")
      assert.strictEqual(recorded["server.address"], "sockudo.emulator")
      assert.strictEqual(recorded["server.port"], 80)
      assert.deepStrictEqual(
        span.events.map(([name, , eventAttributes]) => [name, eventAttributes]),
        [
          [
            "retry",
            {
              "sockudo.attempt": 2,
              "error.type": "SockudoRateLimitError",
              // Retry-After plus one second: Sockudo rounds its Retry-After down.
              "sockudo.retry.delay_ms": 3000,
              "sockudo.retry_after_s": 2
            }
          ],
          ["retry", { "sockudo.attempt": 3, "error.type": "SockudoServerError", "sockudo.retry.delay_ms": 1000 }]
        ]
      )
      // The events' times are when each wait began, by the clock: 0 s, then 3 s later.
      const [first, second] = span.events.map(([, time]) => time)
      assert.strictEqual(second! - first!, 3_000_000_000n)
    }).pipe(Effect.withTracer(tracer), Effect.provide(Emulator.layerTest({ sockudo: { retry: everySecond } })))
  })
})

describe("HTTP client spans and traceparent (httpClientSpans)", () => {
  const signatureOf = Effect.map(requests, (all) => all.map((r) => r.query.get("auth_signature")!))
  /** Every attribute, event and failed exit (message and JSON) of every span, as text. */
  const everything = (spans: ReadonlyArray<Tracer.NativeSpan>) =>
    JSON.stringify(
      spans.map((span) => {
        const exit = span.status._tag === "Ended" ? span.status.exit : undefined
        const error = exit?._tag === "Failure" ? Cause.squash(exit.cause) : undefined
        return [attributes(span), span.events, error instanceof Error ? error.message : undefined, error]
      }),
      (_, value) => (typeof value === "bigint" ? String(value) : value)
    )

  it.effect("off by default: one span, no traceparent, no signed query anywhere", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* withTime((yield* sockudo).trigger("orders", "e", 1))
      const [request] = yield* requests
      assert.isUndefined(request!.headers.traceparent)
      assert.isUndefined(request!.headers.b3)
      assert.strictEqual(spans.length, 1)
      assert.notInclude(everything(spans), "auth_")
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer(sequence(SockudoTest.json(503, {}), ok))))
  })

  it.effect(
    "on: the HttpClient's span per attempt under the operation's, traceparent sent, the signature redacted",
    () => {
      const { spans, tracer } = recording()
      return Effect.gen(function* () {
        yield* withTime((yield* sockudo).trigger("orders", "e", 1))
        const operation = named(spans, "Sockudo.trigger")
        const attempts = spans.filter((span) => span !== operation)
        assert.strictEqual(attempts.length, 2, "one per attempt")
        const sent = yield* requests
        for (let i = 0; i < attempts.length; i++) {
          const attempt = attempts[i]!
          assert.strictEqual(attempt.kind, "client")
          assert.strictEqual(attempt.parent._tag === "Some" && attempt.parent.value.spanId, operation.spanId)
          assert.strictEqual(sent[i]!.headers.traceparent, `00-${operation.traceId}-${attempt.spanId}-01`)
          assert.include(String(attempt.attributes.get("url.full")), "auth_signature=REDACTED")
        }
        const text = everything(spans)
        assert.include(text, "StatusCode error (503 POST", "the failed attempt's exit is part of the scan")
        for (const signature of yield* signatureOf) assert.notInclude(text, signature)
        assert.notMatch(text, /auth_signature=(?!REDACTED)/)
      }).pipe(
        Effect.withTracer(tracer),
        Effect.provide(layer(sequence(SockudoTest.json(503, {}), ok), { httpClientSpans: true }))
      )
    }
  )

  it.effect(
    "on, against the emulator's verifier: every request is still signed right (a publish, a filtered read)",
    () => {
      const { spans, tracer } = recording()
      return Effect.gen(function* () {
        const s = yield* sockudo
        yield* s.trigger("orders", "e", { text: "a b+c~*" })
        yield* s.channels.list({ filterByPrefix: "pre sence+~", info: ["subscription_count"] })
        assert.deepStrictEqual(
          spans.map((span) => span.name),
          ["Sockudo.trigger", "POST", "Sockudo.channels.list", "GET"]
        )
      }).pipe(Effect.withTracer(tracer), Effect.provide(Emulator.layerTest({ sockudo: { httpClientSpans: true } })))
    }
  )

  it.effect("on, under the user's HttpClient.TracerDisabledWhen: no HttpClient span, no traceparent", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      yield* (yield* sockudo)
        .trigger("orders", "e", 1)
        .pipe(Effect.provideService(HttpClient.TracerDisabledWhen, () => true))
      const [request] = yield* requests
      assert.isUndefined(request!.headers.traceparent)
      assert.deepStrictEqual(
        spans.map((span) => span.name),
        ["Sockudo.trigger"]
      )
    }).pipe(Effect.withTracer(tracer), Effect.provide(layer(() => ok, { httpClientSpans: true })))
  })

  it.effect("SOCKUDO_HTTP_CLIENT_SPANS sets it from the environment", () =>
    Effect.gen(function* () {
      const env = { SOCKUDO_URL: "http://app-key:app-secret@127.0.0.1:6001/apps/app-id" }
      const read = (vars: Record<string, string>) =>
        Effect.map(SockudoConfig.SockudoConfig, (config) => config.httpClientSpans).pipe(
          Effect.provide(SockudoConfig.layerConfig),
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: { ...env, ...vars } }))
        )
      assert.isFalse(yield* read({}))
      assert.isTrue(yield* read({ SOCKUDO_HTTP_CLIENT_SPANS: "true" }))
    })
  )
})

describe("metrics", () => {
  it.effect("after a known sequence: requests by operation and status, retries, failures, durations", () =>
    freshMetrics(
      Effect.gen(function* () {
        const s = yield* sockudo
        yield* withTime(s.trigger("orders", "e", 1, { idempotencyKey: "k-1" })) // 503, then 200
        yield* s.trigger("orders", "e", 2, { idempotencyKey: "k-2" }) // 200
        yield* Effect.flip(s.trigger("orders", "e", 3, { idempotencyKey: "k-3" })) // 400
        yield* s.channels.get("orders") // 200
        const operation = (name: string) => ({ "messaging.operation.name": name })
        assert.deepStrictEqual(
          yield* sdkMetrics,
          [
            {
              id: "sockudo.client.failures",
              attributes: { ...operation("trigger"), "error.type": "SockudoClientError" },
              value: 1
            },
            {
              id: "sockudo.client.request.duration",
              attributes: operation("channels.get"),
              value: { count: 1, sum: 0 }
            },
            // The retried request took its one-second wait (the harness's backoff), by the TestClock.
            { id: "sockudo.client.request.duration", attributes: operation("trigger"), value: { count: 3, sum: 1 } },
            {
              id: "sockudo.client.requests",
              attributes: { ...operation("channels.get"), "http.response.status_code": "200" },
              value: 1
            },
            {
              id: "sockudo.client.requests",
              attributes: { ...operation("trigger"), "http.response.status_code": "200" },
              value: 2
            },
            {
              id: "sockudo.client.requests",
              attributes: { ...operation("trigger"), "http.response.status_code": "400" },
              value: 1
            },
            {
              id: "sockudo.client.retries",
              attributes: { ...operation("trigger"), "error.type": "SockudoServerError" },
              value: 1
            }
          ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
        )
      }).pipe(
        Effect.provide(
          layer(
            sequence(
              SockudoTest.json(503, {}),
              ok,
              ok,
              SockudoTest.json(400, { error: "bad", code: "invalid_input" }),
              SockudoTest.json(200, { occupied: false })
            ),
            { retry: everySecond }
          )
        )
      )
    )
  )

  it.effect("the publisher: batch sizes and the queue's depth when it sends", () =>
    freshMetrics(
      Effect.gen(function* () {
        const publisher = yield* Publisher.Publisher
        yield* Effect.all(
          Array.from({ length: 5 }, (_, i) => publisher.publish("orders", "e", i)),
          { concurrency: "unbounded" }
        )
        const metrics = yield* sdkMetrics
        const sizes = metrics.find((m) => m.id === "sockudo.publisher.batch.size")
        const depth = metrics.find((m) => m.id === "sockudo.publisher.queue.depth")
        assert.deepStrictEqual(sizes?.value, { count: 1, sum: 5 }, "the five publishes in one batch")
        assert.strictEqual(depth?.value, 0, "nothing left waiting once the batch is cut")
      }).pipe(
        Effect.provide(Publisher.layer({ maxWait: "1 second" })),
        Effect.provide(layer(() => SockudoTest.json(200, { batch: [{}, {}, {}, {}, {}] })))
      )
    )
  )
})

describe("debug logs", () => {
  const failing = layer(
    sequence(
      SockudoTest.json(429, { error: "slow down" }, { "retry-after": "1" }),
      ok,
      SockudoTest.json(400, { error: "bad", code: "invalid_input" })
    ),
    { retry: everySecond }
  )

  it.effect("at Debug: each retry with its wait and Retry-After, a refusal, a poisoned key; annotated", () => {
    const { lines, logger } = capturing()
    return Effect.gen(function* () {
      const s = yield* sockudo
      yield* withTime(s.trigger("orders", "e", 1, { idempotencyKey: "k-1" }))
      yield* Effect.flip(s.trigger("orders", "e", 2, { idempotencyKey: "k-2" }))
      assert.deepStrictEqual(
        lines.map((line) => [line.level, line.annotations]),
        [
          ["Debug", { operation: "trigger", channel: "orders" }],
          ["Debug", { operation: "trigger", channel: "orders" }],
          ["Debug", { operation: "trigger", channel: "orders" }]
        ]
      )
      assert.match(
        lines[0]!.message,
        /^trigger: retrying after SockudoRateLimitError: .*; attempt 2 in 2s \(the server's Retry-After: 1 s\)$/
      )
      assert.match(lines[1]!.message, /^trigger: the server refused the request, 400 \(invalid_input\): bad$/)
      assert.match(lines[2]!.message, /^trigger: idempotency key k-2 is poisoned until its TTL ends/)
    }).pipe(
      Effect.provide(failing),
      Effect.provideService(Logger.CurrentLoggers, new Set([logger])),
      Effect.provideService(References.MinimumLogLevel, "Debug")
    )
  })

  it.effect("silent at the default level", () => {
    const { lines, logger } = capturing()
    return Effect.gen(function* () {
      const s = yield* sockudo
      yield* withTime(s.trigger("orders", "e", 1, { idempotencyKey: "k-1" }))
      yield* Effect.flip(s.trigger("orders", "e", 2, { idempotencyKey: "k-2" }))
      assert.deepStrictEqual(lines, [])
    }).pipe(Effect.provide(failing), Effect.provideService(Logger.CurrentLoggers, new Set([logger])))
  })
})

describe("the README's setup (@effect/opentelemetry), with in-memory exporters", () => {
  it.effect("the OpenTelemetry SDK receives the CLIENT span with its attributes, and the metrics", () => {
    const spans = new InMemorySpanExporter()
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 })
    const Otel = NodeSdk.layer(() => ({
      resource: { serviceName: "orders-api" },
      spanProcessor: new SimpleSpanProcessor(spans),
      metricReader: reader
    }))
    return Effect.gen(function* () {
      yield* (yield* sockudo).trigger("orders", "order.created", { id: 1 }, { idempotencyKey: "k-otel" })
      const [span] = spans.getFinishedSpans().filter((s) => s.name === "Sockudo.trigger")
      assert.strictEqual(span?.kind, SpanKind.CLIENT)
      assert.deepInclude(span?.attributes, {
        "messaging.system": "sockudo",
        "messaging.operation.name": "trigger",
        "messaging.destination.name": "orders",
        "sockudo.idempotency_key": "k-otel",
        "url.path": "/apps/app-id/events",
        "http.response.status_code": 200
      })
      yield* Effect.promise(() => reader.forceFlush())
      const exported = metrics
        .getMetrics()
        .flatMap((batch) => batch.scopeMetrics.flatMap((scope) => scope.metrics))
        .filter((metric) => metric.descriptor.name === "sockudo.client.requests")
        .flatMap((metric) => metric.dataPoints.map((point) => [point.attributes, point.value]))
      assert.deepInclude(exported, [{ "messaging.operation.name": "trigger", "http.response.status_code": "200" }, 1])
    }).pipe(Effect.provide(layer(() => ok).pipe(Layer.provideMerge(Otel))), freshMetrics)
  })
})

describe("the README's tables", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
  const section = readme.slice(readme.indexOf("### Tracing and metrics"), readme.indexOf("### Testing your code"))
  const firstColumn = (header: string) => {
    const table = section
      .slice(section.indexOf(`| ${header} |`))
      .split("\n\n")[0]!
      .split("\n")
      .slice(2)
    return table.map((row) => row.split(" | ")[0]!.slice(2).replaceAll("`", ""))
  }

  it.effect("every span attribute listed is one the SDK writes, and every one it writes is listed", () => {
    const { spans, tracer } = recording()
    return Effect.gen(function* () {
      const s = yield* sockudo
      yield* withTime(s.trigger("orders", "e", 1))
      yield* s.trigger(["a", "b"], "e", 1)
      yield* s.triggerBatch([{ channel: "a", name: "e", data: 1 }])
      yield* Effect.flip(s.channels.get("orders"))
      const written = new Set(spans.flatMap((span) => [...span.attributes.keys()]))
      assert.deepStrictEqual([...written].sort(), [...firstColumn("Span attribute")].sort())
    }).pipe(
      Effect.withTracer(tracer),
      Effect.provide(
        layer(
          sequence(
            SockudoTest.json(503, {}),
            ok,
            ok,
            SockudoTest.json(200, { batch: [{}] }),
            SockudoTest.json(404, { error: "no" })
          ),
          { retry: everySecond }
        )
      )
    )
  })

  it.effect("every metric listed is one the SDK records, and each is exported by Telemetry", () =>
    freshMetrics(
      Effect.gen(function* () {
        const s = yield* sockudo
        const publisher = yield* Publisher.Publisher
        yield* withTime(s.trigger("orders", "e", 1))
        yield* Effect.flip(s.trigger("orders", "e", 1, { idempotencyKey: "k" }))
        yield* publisher.publish("orders", "e", 1)
        const recorded = new Set((yield* sdkMetrics).map((metric) => metric.id))
        assert.deepStrictEqual([...recorded].sort(), [...firstColumn("Metric")].sort())
        const exported = [
          Telemetry.requests,
          Telemetry.retries,
          Telemetry.failures,
          Telemetry.requestDuration,
          Telemetry.publisherBatchSize,
          Telemetry.publisherQueueDepth
        ].map((metric) => metric.id)
        assert.deepStrictEqual(exported.sort(), [...recorded].sort())
      }).pipe(
        Effect.provide(Publisher.layer()),
        Effect.provide(
          layer(
            sequence(
              SockudoTest.json(503, {}),
              ok,
              SockudoTest.json(400, { error: "bad" }),
              SockudoTest.json(200, { batch: [{}] })
            ),
            {
              retry: everySecond
            }
          )
        )
      )
    )
  )
})
