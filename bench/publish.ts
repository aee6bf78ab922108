/**
 * `npm run bench`: publishes per second and client CPU per publish of
 *
 * - `floor`: a raw undici request signed with node:crypto, the minimum work a correct client does
 *   (serialise, MD5 the body, HMAC-SHA256 the request, send, read and parse the response);
 * - `pusher`: the official `pusher` package (node-fetch v2 over a keep-alive `http.Agent`);
 * - `effect-sockudo`: this SDK's `trigger`, one `ManagedRuntime` for the whole run, one
 *   `runtime.runPromise` per publish;
 * - `effect-sockudo-publisher`: `Publisher.publish` in the same way, concurrent publishes sharing
 *   `batch_events` requests;
 *
 * against the targets of `bench/targets.ts`: a keep-alive HTTP sink in a second process
 * (`bench/sink.ts`), the same sink answering `Connection: close`, and a real Sockudo node
 * (`--sockudo`), with 1 and 64 publishes in flight (1, 16 and 128 with `--sockudo`). Each cell is
 * warmed up, then timed over N publishes (N chosen from the warm-up rate so a measurement takes
 * about `--duration` seconds); cells run in interleaved rounds and the median round is reported.
 * Client CPU is `process.cpuUsage()` (user + system, all threads of the client process, GC
 * included); the server's CPU is not counted. TCP connections and HTTP requests the client opened
 * are counted with `node:diagnostics_channel`.
 *
 * Flags:
 *   --json               print machine-readable results instead of the tables
 *   --duration=<s>       target seconds per measurement (default 2.5)
 *   --rounds=<n>         interleaved rounds per cell, median reported (default 3)
 *   --warmup=<n>         publishes before each measurement (default 2000)
 *   --concurrency=1,64   publishes in flight (default 1,64; 1,16,128 with --sockudo/--target)
 *   --only=floor,pusher,effect-sockudo   (effect-sockudo-nokey, -traced, -httpspans and -publisher too;
 *                        all seven by default with a node)
 *   --sockudo            also target the Sockudo node of test/sockudo/server.sh (SOCKUDO_TEST_HOST,
 *                        SOCKUDO_TEST_PORT; its CPU from the pids file in SOCKUDO_TEST_LOGS)
 *   --target=<url>       also target the Sockudo node at <url> (http://127.0.0.1:6001)
 *   --app=off            its app: test, off or limits (test/sockudo/config/node.toml), or id:key:secret
 *   --server-pid=<pid>   the node's pid, to report its CPU per publish
 *   --targets=sink,sink-close,sockudo   which targets (default: sink; all three with a node)
 */

import { createHash, createHmac, createSecretKey } from "node:crypto"
import { subscribe } from "node:diagnostics_channel"
import * as http from "node:http"
import { loadavg } from "node:os"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import Pusher from "pusher"
import { Agent } from "undici"
import { Publisher, Sockudo, SockudoConfig } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import { type Cell, printReport, type Sample, type Totals } from "./report.ts"
import {
  connectSockudo,
  type Endpoint,
  findServerPid,
  parseApp,
  startSink,
  type Target,
  type TargetName
} from "./targets.ts"

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const prefix = `--${name}=`
  const found = argv.find((a) => a === `--${name}` || a.startsWith(prefix))
  return found === undefined ? undefined : found.startsWith(prefix) ? found.slice(prefix.length) : ""
}
const numberFlag = (name: string, fallback: number): number => {
  const value = flag(name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`)
  return n
}

const sockudoUrl = (() => {
  const explicit = flag("target")
  if (explicit !== undefined && explicit !== "") return new URL(explicit)
  if (flag("sockudo") === undefined) return undefined
  const port = process.env.SOCKUDO_TEST_PORT
  if (port === undefined) {
    throw new Error("--sockudo reads SOCKUDO_TEST_PORT: run under test/sockudo/server.sh (or give --target=<url>)")
  }
  return new URL(`http://${process.env.SOCKUDO_TEST_HOST ?? "127.0.0.1"}:${port}`)
})()
const json = flag("json") !== undefined
const targetSeconds = numberFlag("duration", 2.5)
const rounds = Math.round(numberFlag("rounds", 3))
const warmup = Math.round(numberFlag("warmup", 2000))
const concurrencies = (flag("concurrency") ?? (sockudoUrl === undefined ? "1,64" : "1,16,128")).split(",").map((c) => {
  const n = Number(c)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error("--concurrency takes positive integers: 1,64")
  return n
})
const allTargets: ReadonlyArray<TargetName> = ["sink", "sink-close", "sockudo"]
const targetNames = (flag("targets")?.split(",") ?? (sockudoUrl === undefined ? ["sink"] : allTargets)).map((t) => {
  if (!allTargets.includes(t as TargetName)) throw new Error(`--targets takes ${allTargets.join(", ")}`)
  if (t === "sockudo" && sockudoUrl === undefined)
    throw new Error("--targets=sockudo needs --sockudo or --target=<url>")
  return t as TargetName
})

const EVENT = "order.created"
const DATA = { id: 1 }

const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`)
}

// A full GC between measurements, so one contender's garbage is not collected on another's time.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

// ---------------------------------------------------------------------------------------------
// What the client puts on the wire, counted per measurement (measurements run one at a time)
// ---------------------------------------------------------------------------------------------

const wire = { connections: 0, attempts: 0, attemptErrors: new Map<string, number>() }
const tally = (kinds: Map<string, number>, kind: string, n = 1) => kinds.set(kind, (kinds.get(kind) ?? 0) + n)

/** A failure in a few words: the codes and messages along its cause chain. */
const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const e = current as { _tag?: unknown; code?: unknown; name?: unknown; message?: unknown; cause?: unknown }
    const label = [e._tag ?? e.name, e.code, e.message].filter((x) => typeof x === "string" && x !== "").join(" ")
    if (label !== "" && !parts.includes(label)) parts.push(label)
    current = e.cause ?? (e as { reason?: unknown }).reason
  }
  return (parts.length === 0 ? String(error) : parts.join(" <- ")).slice(0, 200)
}

subscribe("net.client.socket", () => {
  wire.connections++
})
subscribe("undici:request:create", () => {
  wire.attempts++
})
subscribe("http.client.request.start", () => {
  wire.attempts++
})
// Answers other than 200, retried or not.
subscribe("undici:request:headers", (message) => {
  const status = (message as { response: { statusCode: number } }).response.statusCode
  if (status !== 200) tally(wire.attemptErrors, `HTTP ${status}`)
})
subscribe("http.client.response.finish", (message) => {
  const status = (message as { response: { statusCode?: number } }).response.statusCode
  if (status !== 200) tally(wire.attemptErrors, `HTTP ${status}`)
})
subscribe("undici:request:error", (message) =>
  tally(wire.attemptErrors, describe((message as { error: unknown }).error))
)
subscribe("http.client.request.error", (message) =>
  tally(wire.attemptErrors, describe((message as { error: unknown }).error))
)

// ---------------------------------------------------------------------------------------------
// Contenders
// ---------------------------------------------------------------------------------------------

interface Client {
  readonly publish: () => Promise<unknown>
  readonly close: () => Promise<void>
}

interface Contender {
  readonly name: string
  readonly description: string
  readonly make: (target: Target) => Promise<Client>
}

/** The floor: everything a correct client must do, nothing more. */
const floor: Contender = {
  name: "floor",
  description: "undici Agent.request + node:crypto md5/HMAC, JSON.parse of the response",
  make: async (target) => {
    const agent = new Agent({ keepAliveTimeout: 60_000 })
    const origin = `http://${target.host}:${target.port}`
    const path = `/apps/${target.appId}/events`
    const hmacKey = createSecretKey(Buffer.from(target.secret, "utf8"))
    const headers = { "content-type": "application/json" }
    const publish = async () => {
      const body = JSON.stringify({ name: EVENT, channels: [target.channel], data: JSON.stringify(DATA) })
      const md5 = createHash("md5").update(body).digest("hex")
      const query = `auth_key=${target.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5}`
      const signature = createHmac("sha256", hmacKey).update(`POST\n${path}\n${query}`).digest("hex")
      const response = await agent.request({
        origin,
        path: `${path}?${query}&auth_signature=${signature}`,
        method: "POST",
        headers,
        body
      })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`floor: HTTP ${response.statusCode} ${text}`)
      return JSON.parse(text) as unknown
    }
    return { publish, close: () => agent.close() }
  }
}

/** The official Pusher SDK, with a keep-alive agent (without one node-fetch sends Connection: close). */
const pusher: Contender = {
  name: "pusher",
  description: "pusher 5 trigger (node-fetch 2, keep-alive http.Agent), response read with .json()",
  make: async (target) => {
    // As many sockets as publishes in flight, as undici's Agent allows by default.
    const agent = new http.Agent({
      keepAlive: true,
      maxSockets: Math.max(64, ...concurrencies),
      keepAliveMsecs: 60_000
    })
    const client = new Pusher({
      appId: target.appId,
      key: target.key,
      secret: target.secret,
      host: target.host,
      port: String(target.port),
      useTLS: false,
      agent
    })
    const publish = async () => {
      const response = await client.trigger(target.channel, EVENT, DATA)
      return response.json()
    }
    return {
      publish,
      close: async () => {
        agent.destroy()
      }
    }
  }
}

/**
 * A tracer that opens effect's native spans and keeps none: what the SDK's span attributes cost
 * once a tracer is installed, without an exporter's own cost.
 */
const discardingTracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })

/** This SDK: one ManagedRuntime, the service resolved once, one runPromise per publish. */
const sdkContender = (
  name: string,
  description: string,
  options: Partial<SockudoConfig.Options>,
  tracer?: Tracer.Tracer
): Contender => ({
  name,
  description,
  make: async (target) => {
    const layer = Sockudo.layer.pipe(
      Layer.provideMerge(tracer === undefined ? Layer.empty : Layer.succeed(Tracer.Tracer, tracer)),
      Layer.provide(
        SockudoConfig.layer({
          appId: target.appId,
          key: target.key,
          secret: Redacted.make(target.secret),
          host: target.host,
          port: target.port,
          useTLS: false,
          ...options
        })
      ),
      Layer.provide(SockudoNode.layerUndici)
    )
    const runtime = ManagedRuntime.make(layer)
    const sockudo = await runtime.runPromise(Sockudo.Sockudo)
    const publish = () => runtime.runPromise(sockudo.trigger(target.channel, EVENT, DATA))
    return { publish, close: () => runtime.dispose() }
  }
})

const effectSockudo = sdkContender(
  "effect-sockudo",
  "Sockudo.trigger via ManagedRuntime.runPromise (SockudoNode.layerUndici), defaults: a generated idempotency key",
  {}
)
/** The same request as the floor and pusher send: no idempotency key (and so no retry but after a 429). */
const effectSockudoNoKey = sdkContender(
  "effect-sockudo-nokey",
  "the same with autoIdempotency: false (no key, as floor and pusher send)",
  { autoIdempotency: false }
)

/** With a tracer installed: the span's attributes are written. */
const effectSockudoTraced = sdkContender(
  "effect-sockudo-traced",
  "the same with a tracer installed (native spans, none kept): the span attributes recorded",
  {},
  discardingTracer
)
/** With a tracer and `httpClientSpans`: the HttpClient's span per attempt and `traceparent`. */
const effectSockudoHttpSpans = sdkContender(
  "effect-sockudo-httpspans",
  "the same with httpClientSpans: the HttpClient's own span and the traceparent header too",
  { httpClientSpans: true },
  discardingTracer
)

/** The coalescing publisher over the same layer: concurrent publishes share batch requests. */
const effectSockudoPublisher: Contender = {
  name: "effect-sockudo-publisher",
  description: "Publisher.publish via ManagedRuntime.runPromise (defaults: 100 events, 5 ms wait, 8 in flight)",
  make: async (target) => {
    const layer = Publisher.layer().pipe(
      Layer.provideMerge(
        SockudoNode.layer({
          appId: target.appId,
          key: target.key,
          secret: Redacted.make(target.secret),
          host: target.host,
          port: target.port,
          useTLS: false
        })
      )
    )
    const runtime = ManagedRuntime.make(layer)
    const publisher = await runtime.runPromise(Publisher.Publisher)
    const publish = () => runtime.runPromise(publisher.publish(target.channel, EVENT, DATA))
    return { publish, close: () => runtime.dispose() }
  }
}

const allContenders = [
  floor,
  pusher,
  effectSockudo,
  effectSockudoNoKey,
  effectSockudoTraced,
  effectSockudoHttpSpans,
  effectSockudoPublisher
]
const only =
  flag("only")?.split(",") ??
  (targetNames.includes("sockudo") ? allContenders.map((c) => c.name) : ["floor", "pusher", "effect-sockudo"])
const contenders = allContenders.filter((c) => only.includes(c.name))
if (contenders.length === 0) throw new Error(`--only matches none of ${allContenders.map((c) => c.name).join(", ")}`)

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/** `n` publishes, `concurrency` in flight: workers pulling from a shared counter. A failed publish is counted, not retried. */
const drive = async (publish: () => Promise<unknown>, n: number, concurrency: number): Promise<Sample> => {
  let started = 0
  let failures = 0
  const failureKinds = new Map<string, number>()
  const latencies = new Float64Array(n)
  const worker = async () => {
    while (started < n) {
      const i = started++
      const t = performance.now()
      try {
        await publish()
      } catch (error) {
        failures++
        tally(failureKinds, describe(error))
      }
      latencies[i] = performance.now() - t
    }
  }
  const workers = Math.min(concurrency, n)
  wire.connections = 0
  wire.attempts = 0
  wire.attemptErrors = new Map()
  const cpu0 = process.cpuUsage()
  const main0 = process.threadCpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: workers }, worker))
  const wallMs = performance.now() - t0
  const main = process.threadCpuUsage(main0)
  const cpu = process.cpuUsage(cpu0)
  return {
    publishes: n,
    failures,
    wallMs,
    cpuMicros: cpu.user + cpu.system,
    mainThreadCpuMicros: main.user + main.system,
    connections: wire.connections,
    attempts: wire.attempts,
    serverCpuMicros: undefined,
    latencyMs: percentiles(latencies),
    failureKinds,
    attemptErrors: wire.attemptErrors
  }
}

const pubPerSec = (s: Sample) => (s.publishes / s.wallMs) * 1000

/** The median and the 99th percentile of per-publish latencies. */
const percentiles = (latencies: Float64Array): { readonly p50: number; readonly p99: number } => {
  const sorted = latencies.slice().sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { p50: at(0.5), p99: at(0.99) }
}

const main = async () => {
  const began = performance.now()
  const endpoints: Array<Endpoint> = []
  const closers: Array<() => void> = []
  if (targetNames.some((t) => t !== "sockudo")) {
    const sink = await startSink()
    closers.push(sink.close)
    endpoints.push(...sink.endpoints.filter((e) => targetNames.includes(e.target.name)))
    log(
      `sink on ${sink.endpoints.map((e) => `127.0.0.1:${e.target.port} (${e.target.name})`).join(", ")}, process ${sink.pid}`
    )
  }
  if (targetNames.includes("sockudo") && sockudoUrl !== undefined) {
    const serverPid = findServerPid(flag("server-pid"))
    const node = await connectSockudo({ url: sockudoUrl, app: parseApp(flag("app") ?? "off"), event: EVENT, serverPid })
    closers.push(node.close)
    endpoints.push(node.endpoint)
    log(
      `sockudo at ${sockudoUrl.origin} (app ${node.endpoint.target.appId}, channel ${node.endpoint.target.channel}, ` +
        `server process ${serverPid ?? "unknown: no server CPU"}), deliveries counted by a subscriber process`
    )
  }
  endpoints.sort((a, b) => targetNames.indexOf(a.target.name) - targetNames.indexOf(b.target.name))
  log(
    `client is process ${process.pid}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`
  )

  const key = (target: TargetName, contender: string) => `${target}/${contender}`
  const clients = new Map<string, Client>()
  const totals = new Map<string, Totals>()
  for (const endpoint of endpoints) {
    for (const contender of contenders) {
      clients.set(key(endpoint.target.name, contender.name), await contender.make(endpoint.target))
      totals.set(key(endpoint.target.name, contender.name), {
        target: endpoint.target.name,
        contender: contender.name,
        sent: 0,
        failures: 0,
        accepted: 0,
        rejected: 0,
        signaturesChecked: 0,
        sinkConnections: 0,
        connections: 0,
        attempts: 0,
        firstProblem: undefined,
        failureKinds: new Map(),
        attemptErrors: new Map()
      })
    }
    await endpoint.received(0) // reset
  }

  const account = async (endpoint: Endpoint, contender: string, sample: Sample) => {
    const received = await endpoint.received(sample.publishes - sample.failures)
    const total = totals.get(key(endpoint.target.name, contender))!
    total.sent += sample.publishes
    total.failures += sample.failures
    total.accepted += received.accepted
    total.rejected += received.rejected
    total.signaturesChecked += received.signaturesChecked
    total.sinkConnections += received.connections ?? 0
    total.connections += sample.connections
    total.attempts += sample.attempts
    total.firstProblem ??= received.firstProblem
    for (const [kind, n] of sample.failureKinds) tally(total.failureKinds, kind, n)
    for (const [kind, n] of sample.attemptErrors) tally(total.attemptErrors, kind, n)
    return received
  }

  const cells: Array<Cell> = []
  for (const endpoint of endpoints) {
    for (const concurrency of concurrencies) {
      for (const contender of contenders) {
        cells.push({ target: endpoint.target.name, contender: contender.name, concurrency, n: 0, samples: [] })
      }
    }
  }

  for (let round = 0; round < rounds; round++) {
    for (const concurrency of concurrencies) {
      // Rotate the orders each round so no contender (or target) always runs first, or right after another.
      const rotated = <A>(xs: ReadonlyArray<A>) => xs.map((_, i) => xs[(i + round) % xs.length]!)
      for (const endpoint of rotated(endpoints)) {
        const row = cells.filter((c) => c.concurrency === concurrency && c.target === endpoint.target.name)
        for (const cell of rotated(row)) {
          const client = clients.get(key(cell.target, cell.contender))!
          gc()
          const warm = await drive(client.publish, warmup, concurrency)
          await account(endpoint, cell.contender, warm)
          if (cell.n === 0) {
            cell.n = Math.max(1000, Math.round((pubPerSec(warm) * targetSeconds) / 1000) * 1000)
          }
          gc()
          const measured = await drive(client.publish, cell.n, concurrency)
          const received = await account(endpoint, cell.contender, measured)
          const sample = { ...measured, serverCpuMicros: received.serverCpuMicros }
          cell.samples.push(sample)
          log(
            `round ${round + 1}/${rounds}  ${cell.target.padEnd(10)} ${cell.contender.padEnd(20)} x${String(concurrency).padEnd(3)} ` +
              `${String(cell.n).padStart(7)} publishes in ${(sample.wallMs / 1000).toFixed(2)} s: ` +
              `${Math.round(pubPerSec(sample)).toLocaleString("en-US").padStart(7)} pub/s, ` +
              `${(sample.cpuMicros / sample.publishes).toFixed(1).padStart(6)} µs CPU/publish, ` +
              `${(sample.connections / sample.publishes).toFixed(2)} conns/publish, ` +
              `p99 ${sample.latencyMs.p99.toFixed(1)} ms` +
              (sample.serverCpuMicros === undefined
                ? ""
                : ` (server ${(sample.serverCpuMicros / sample.publishes).toFixed(1)} µs/publish)`) +
              (sample.failures === 0 ? "" : `, ${sample.failures} FAILED`)
          )
        }
      }
    }
  }

  for (const client of clients.values()) await client.close()
  for (const close of closers) close()

  const failed = printReport({
    json,
    settings: { targetSeconds, rounds, warmup, concurrencies, targets: endpoints.map((e) => e.target.name) },
    contenders: contenders.map((c) => ({ name: c.name, description: c.description })),
    targets: endpoints.map((e) => e.target),
    sockudoUrl: sockudoUrl?.origin,
    cells,
    totals: [...totals.values()],
    seconds: (performance.now() - began) / 1000
  })
  if (failed) {
    process.stderr.write("bench: a sink refused publishes, or a target missed publishes answered 200 (see above)\n")
    process.exitCode = 1
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
