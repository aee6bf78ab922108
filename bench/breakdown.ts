/**
 * Where effect-sockudo's client CPU per publish goes: a ladder of measurements, each adding one
 * layer, so the differences price each layer.
 *
 *   node bench/breakdown.ts [--json] [--close]
 *
 * Three sections, all in CPU µs per operation (process.cpuUsage):
 * - pure synchronous pieces (signing, body preparation, decoding), one at a time;
 * - a ladder over a stub HttpClient that answers `{"ok":true}` after two event-loop hops (no
 *   socket, 64 in flight): raw work, + Effect HttpClient, + timeout, + retry, + span, full SDK;
 * - over the wire against `bench/sink.ts` at 64 and 1 in flight (`--close`: against its listener
 *   that answers `Connection: close`, as Sockudo does, so every request opens a connection).
 * Takes about a minute. Diagnostic only; `npm run bench` is the benchmark.
 */
import { fork } from "node:child_process"
import { createHash, createHmac, createSecretKey, randomUUID } from "node:crypto"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { Agent } from "undici"
import { Http, Signer, Sockudo, SockudoConfig } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import { TriggerResponse } from "../src/Resources/Events.ts"

const json = process.argv.includes("--json")
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const APP_ID = "app-id"
const SECRET = "app-secret"
const PATH = `/apps/${APP_ID}/events`
const DATA = { id: 1 }

interface Row {
  readonly name: string
  readonly mode: string
  readonly ops: number
  readonly cpuMicrosPerOp: number
  readonly opsPerSecond: number
}
const rows: Array<Row> = []

const measure = async (
  name: string,
  op: () => unknown,
  options: { readonly seconds?: number; readonly concurrency?: number; readonly mode?: string } = {}
) => {
  const concurrency = options.concurrency ?? 1
  const seconds = options.seconds ?? 0.7
  const run = async (n: number) => {
    let started = 0
    const worker = async () => {
      while (started < n) {
        started++
        await op()
      }
    }
    gc()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
    const wall = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { wall, cpu: cpu.user + cpu.system }
  }
  // warm up and calibrate
  let n = 500
  let warm = await run(n)
  while (warm.wall < 150) {
    n *= 4
    warm = await run(n)
  }
  const total = Math.max(1000, Math.round((n * seconds * 1000) / warm.wall))
  const runs = [await run(total), await run(total), await run(total)]
  const samples = runs.map((s) => s.cpu / total).sort((a, b) => a - b)
  const last = runs.sort((a, b) => a.wall - b.wall)[1]!
  const row: Row = {
    name,
    mode: options.mode ?? (concurrency === 1 ? "in-process" : `x${concurrency}`),
    ops: total,
    cpuMicrosPerOp: Number(samples[1]!.toFixed(2)),
    opsPerSecond: Math.round((total / last.wall) * 1000)
  }
  rows.push(row)
  if (!json) {
    process.stdout.write(
      `${row.cpuMicrosPerOp.toFixed(2).padStart(8)} µs  ${row.mode.padEnd(10)} ${row.name}` +
        (row.mode.startsWith("wire") ? `  (${row.opsPerSecond.toLocaleString("en-US")}/s)` : "") +
        "\n"
    )
  }
  return row
}

// ---------------------------------------------------------------------------------------------
// Pure pieces
// ---------------------------------------------------------------------------------------------

const hmacKey = createSecretKey(Buffer.from(SECRET, "utf8"))
const floorPrepare = () => {
  const body = JSON.stringify({ name: "order.created", channels: ["orders"], data: JSON.stringify(DATA) })
  const md5 = createHash("md5").update(body).digest("hex")
  const query = `auth_key=app-key&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5}`
  const signature = createHmac("sha256", hmacKey).update(`POST\n${PATH}\n${query}`).digest("hex")
  return `${PATH}?${query}&auth_signature=${signature}`
}

const signer = Signer.makeUnsafe("app-key", Redacted.make(SECRET))
const sdkBody = JSON.stringify({
  name: "order.created",
  data: '{"id":1}',
  channels: ["orders"],
  idempotency_key: randomUUID()
})

const section = (title: string) => {
  if (!json) process.stdout.write(`\n${title}\n`)
}

// ---------------------------------------------------------------------------------------------
// Stub HttpClient: everything of the SDK and of Effect's HttpClient, no socket
// ---------------------------------------------------------------------------------------------

/** One event-loop hop, as a socket read would cost: the stub answers after `setImmediate`. */
const hop = () => new Promise<void>((resolve) => setImmediate(resolve))
const okText = Effect.map(
  Effect.promise(() => hop()),
  () => '{"ok":true}'
)
const stubResponse = (request: HttpClientRequest.HttpClientRequest) =>
  ({ request, status: 200, headers: {}, text: okText }) as unknown as HttpClientResponse.HttpClientResponse
/** Two async hops per request, like undici (response head, then body). */
const stubClient = HttpClient.make((request) =>
  Effect.map(
    Effect.promise(() => hop()),
    () => stubResponse(request)
  )
)
const stubLayer = Layer.succeed(HttpClient.HttpClient, stubClient)

const config = (port: number, extra: Partial<SockudoConfig.Options> = {}) =>
  SockudoConfig.layer({
    appId: APP_ID,
    key: "app-key",
    secret: Redacted.make(SECRET),
    host: "127.0.0.1",
    port,
    useTLS: false,
    ...extra
  })

const sdkRuntime = (client: Layer.Layer<HttpClient.HttpClient>, port: number, extra?: Partial<SockudoConfig.Options>) =>
  ManagedRuntime.make(Sockudo.layer.pipe(Layer.provide(config(port, extra)), Layer.provide(client)))

const startSink = (): Promise<{ port: number; close: () => void }> =>
  new Promise((resolve, reject) => {
    const child = fork(new URL("./sink.ts", import.meta.url), [], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    child.on("message", (m: { type: string; port: number; closePort: number }) => {
      const port = process.argv.includes("--close") ? m.closePort : m.port
      if (m.type === "ready") resolve({ port, close: () => child.disconnect() })
    })
    child.on("exit", (code) => reject(new Error(`sink exited (${code})`)))
  })

const main = async () => {
  section("Pure work per publish (sync, one at a time)")
  await measure("floor: JSON.stringify x2 + md5 + HMAC + query string", floorPrepare)
  await measure("crypto.randomUUID()", () => randomUUID())
  await measure("SDK Http.prepareBody (TextEncoder + md5) of the SDK's body", () => Http.prepareBody(sdkBody))
  await measure("SDK Signer.signQuery (stringToSign + HMAC)", () =>
    signer.signQuery("POST", PATH, [], "0123456789abcdef0123456789abcdef", Math.floor(Date.now() / 1000))
  )
  const decode = Http.schemaDecoder(TriggerResponse)
  await measure('SDK Schema decode of {"ok":true} (TriggerResponse)', () => decode(JSON.parse('{"ok":true}')))
  const signedUrl = `http://127.0.0.1:1${floorPrepare()}`
  await measure("HttpClientRequest.make(POST)(url, {body, headers})", () =>
    HttpClientRequest.make("POST")(signedUrl, { body: Http.emptyBody.body, headers: { "x-idempotency-key": "k" } })
  )
  await measure("new URL(signed url)", () => new URL(signedUrl))

  section("Ladder, stub HttpClient answering after 2 event-loop hops, 64 in flight (CPU µs per publish)")
  const x64 = { concurrency: 64, mode: "stub x64" }
  const stubRt = ManagedRuntime.make(
    Layer.mergeAll(stubLayer, Layer.succeed(Signer.Signer, signer)).pipe(Layer.provideMerge(config(1)))
  )
  const stubHttp = await stubRt.runPromise(HttpClient.HttpClient)
  const prepared = Http.prepareBody('{"name":"order.created","channels":["orders"],"data":"{\\"id\\":1}"}')
  const policy = Http.retryPolicy(SockudoConfig.defaultRetrySchedule, "retryable")
  const noSpan = () => true
  await measure(
    "raw: 2 hops + sign + JSON.parse (no Effect)",
    async () => {
      signer.signQuery("POST", PATH, [], prepared.md5, Math.floor(Date.now() / 1000))
      await hop()
      await hop()
      return JSON.parse('{"ok":true}')
    },
    x64
  )
  /** What Http.request does per attempt, without its combinators. */
  const attempt = Effect.suspend(() => {
    const query = signer.signQuery("POST", PATH, [], prepared.md5, Math.floor(Date.now() / 1000))
    const request = HttpClientRequest.make("POST")(`http://127.0.0.1:1${PATH}?${query}`, {
      body: prepared.body,
      headers: { "x-idempotency-key": "k" }
    })
    return Effect.flatMap(stubHttp.execute(request), (r) => Effect.map(r.text, (t) => JSON.parse(t) as unknown))
  })
  await measure(
    "L1 runPromise(sign + HttpClient.execute + text), client span off",
    () => stubRt.runPromise(attempt.pipe(Effect.provideService(HttpClient.TracerDisabledWhen, noSpan))),
    x64
  )
  await measure("L1' same, HttpClient's own client span on (Effect default)", () => stubRt.runPromise(attempt), x64)
  const l2 = attempt.pipe(Effect.timeout("10 seconds"))
  await measure(
    "L2 L1 + Effect.timeout",
    () => stubRt.runPromise(l2.pipe(Effect.provideService(HttpClient.TracerDisabledWhen, noSpan))),
    x64
  )
  const l3 = l2.pipe(
    Effect.catchTags({
      HttpClientError: (e) => Effect.fail(e),
      TimeoutError: (e) => Effect.fail(e)
    })
  )
  // Http.retryPolicy expects the SDK's error type; the ladder's errors are the raw ones.
  const l4 = (effect: Effect.Effect<unknown, any>): Effect.Effect<unknown, any> =>
    Effect.flatMap(
      Http.RetryScheduleOverride,
      () => Effect.retry(effect, policy as any) as Effect.Effect<unknown, any>
    ).pipe(Effect.provideService(HttpClient.TracerDisabledWhen, noSpan))
  await measure(
    "L3 L2 + catchTags + RetryScheduleOverride + Effect.retry(policy)",
    () => stubRt.runPromise(l4(l3)),
    x64
  )
  await measure(
    "L4 L3 + Effect.withSpan (stack trace captured)",
    () => stubRt.runPromise(l4(l3).pipe(Effect.withSpan("Sockudo.trigger"))),
    x64
  )
  await measure(
    "L4' L3 + Effect.withSpan({ captureStackTrace: false })",
    () => stubRt.runPromise(Effect.withSpan(l4(l3), "Sockudo.trigger", { captureStackTrace: false })),
    x64
  )
  const sdkStub = sdkRuntime(stubLayer, 1)
  const sockudoStub = await sdkStub.runPromise(Sockudo.Sockudo)
  await measure(
    "SDK trigger (defaults)",
    () => sdkStub.runPromise(sockudoStub.trigger("orders", "order.created", DATA)),
    x64
  )
  const sdkStubNoKey = sdkRuntime(stubLayer, 1, { autoIdempotency: false })
  const sockudoStubNoKey = await sdkStubNoKey.runPromise(Sockudo.Sockudo)
  await measure(
    "SDK trigger, autoIdempotency: false",
    () => sdkStubNoKey.runPromise(sockudoStubNoKey.trigger("orders", "order.created", DATA)),
    x64
  )
  const sdkStubNoTrace = ManagedRuntime.make(
    Sockudo.layer.pipe(
      Layer.provide(config(1)),
      Layer.provide(stubLayer),
      Layer.provideMerge(Layer.succeed(References.TracerEnabled, false))
    )
  )
  const sockudoStubNoTrace = await sdkStubNoTrace.runPromise(Sockudo.Sockudo)
  await measure(
    "SDK trigger, References.TracerEnabled = false",
    () => sdkStubNoTrace.runPromise(sockudoStubNoTrace.trigger("orders", "order.created", DATA)),
    x64
  )

  section(
    `Over the wire (sink in a second process${process.argv.includes("--close") ? ", answering Connection: close" : ""})`
  )
  const sink = await startSink()
  const origin = `http://127.0.0.1:${sink.port}`
  const agent = new Agent({ keepAliveTimeout: 60_000 })
  const fixedPath = floorPrepare()
  const headers = { "content-type": "application/json" }
  const fixedBody = JSON.stringify({ name: "order.created", channels: ["orders"], data: '{"id":1}' })
  const undiciRt = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const undiciHttp = await undiciRt.runPromise(HttpClient.HttpClient)
  const leanRt = ManagedRuntime.make(SockudoNode.layerUndici)
  const leanHttp = await leanRt.runPromise(HttpClient.HttpClient)
  const sdkNet = sdkRuntime(SockudoNode.layerUndici, sink.port)
  const sdkNetPlatform = sdkRuntime(NodeHttpClient.layerUndici, sink.port)
  const sockudoNetPlatform = await sdkNetPlatform.runPromise(Sockudo.Sockudo)
  const sockudoNet = await sdkNet.runPromise(Sockudo.Sockudo)
  const sdkNetNoKey = sdkRuntime(SockudoNode.layerUndici, sink.port, { autoIdempotency: false })
  const sockudoNetNoKey = await sdkNetNoKey.runPromise(Sockudo.Sockudo)
  const wireBody = Http.prepareBody(fixedBody)
  for (const concurrency of [64, 1]) {
    const opts = { concurrency, mode: `wire x${concurrency}` }
    await measure(
      "raw undici agent.request, presigned (no signing) + text + JSON.parse",
      async () => {
        const r = await agent.request({ origin, path: fixedPath, method: "POST", headers, body: fixedBody })
        return JSON.parse(await r.body.text())
      },
      opts
    )
    await measure(
      "floor (sign per publish + undici request)",
      async () => {
        const r = await agent.request({ origin, path: floorPrepare(), method: "POST", headers, body: fixedBody })
        return JSON.parse(await r.body.text())
      },
      opts
    )
    await measure(
      "SockudoNode.layerUndici presigned + text + JSON.parse, client span off",
      () =>
        leanRt.runPromise(
          Effect.flatMap(
            leanHttp.execute(HttpClientRequest.post(`${origin}${fixedPath}`, { body: wireBody.body })),
            (r) => Effect.map(r.text, (t) => JSON.parse(t) as unknown)
          ).pipe(Effect.provideService(HttpClient.TracerDisabledWhen, noSpan))
        ),
      opts
    )
    await measure(
      "NodeHttpClient.layerUndici (platform-node) presigned + text + JSON.parse, client span off",
      () =>
        undiciRt.runPromise(
          Effect.flatMap(
            undiciHttp.execute(HttpClientRequest.post(`${origin}${fixedPath}`, { body: wireBody.body })),
            (r) => Effect.map(r.text, (t) => JSON.parse(t) as unknown)
          ).pipe(Effect.provideService(HttpClient.TracerDisabledWhen, noSpan))
        ),
      opts
    )
    await measure(
      "SDK trigger (defaults, SockudoNode.layerUndici)",
      () => sdkNet.runPromise(sockudoNet.trigger("orders", "order.created", DATA)),
      opts
    )
    await measure(
      "SDK trigger over NodeHttpClient.layerUndici (platform-node)",
      () => sdkNetPlatform.runPromise(sockudoNetPlatform.trigger("orders", "order.created", DATA)),
      opts
    )
    await measure(
      "SDK trigger, autoIdempotency: false",
      () => sdkNetNoKey.runPromise(sockudoNetNoKey.trigger("orders", "order.created", DATA)),
      opts
    )
  }
  await agent.close()
  await undiciRt.dispose()
  await leanRt.dispose()
  await sdkNet.dispose()
  await sdkNetPlatform.dispose()
  await sdkNetNoKey.dispose()
  sink.close()
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
}

main().catch((error) => {
  process.stderr.write(`breakdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
