/**
 * `npm run bench`: publishes per second and client CPU per publish of
 *
 * - `floor`: a raw undici request signed with node:crypto, the minimum work a correct client does
 *   (serialise, MD5 the body, HMAC-SHA256 the request, send, read and parse the response);
 * - `pusher`: the official `pusher` package (node-fetch v2 over a keep-alive `http.Agent`);
 * - `effect-sockudo`: this SDK's `trigger`, one `ManagedRuntime` for the whole run, one
 *   `runtime.runPromise` per publish;
 *
 * against a keep-alive HTTP sink in a second process (`bench/sink.ts`), with 1 and 64 publishes in
 * flight. Each cell is warmed up, then timed over N publishes (N chosen from the warm-up rate so a
 * measurement takes about `--duration` seconds); cells run in interleaved rounds and the median
 * round is reported. Client CPU is `process.cpuUsage()` (user + system, all threads of the client
 * process, GC included); the sink's CPU is not counted.
 *
 * Flags:
 *   --json               print machine-readable results instead of the table
 *   --duration=<s>       target seconds per measurement (default 2.5)
 *   --rounds=<n>         interleaved rounds per cell, median reported (default 3)
 *   --warmup=<n>         publishes before each measurement (default 2000)
 *   --concurrency=1,64   publishes in flight
 *   --only=floor,pusher,effect-sockudo
 */
import { fork } from "node:child_process"
import { createHash, createHmac, createSecretKey } from "node:crypto"
import * as http from "node:http"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import Pusher from "pusher"
import { Agent } from "undici"
import { Sockudo, SockudoConfig } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"

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

const json = flag("json") !== undefined
const targetSeconds = numberFlag("duration", 2.5)
const rounds = Math.round(numberFlag("rounds", 3))
const warmup = Math.round(numberFlag("warmup", 2000))
const concurrencies = (flag("concurrency") ?? "1,64").split(",").map((c) => {
  const n = Number(c)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error("--concurrency takes positive integers: 1,64")
  return n
})

const APP_ID = "app-id"
const KEY = "app-key"
const SECRET = "app-secret"
const CHANNEL = "orders"
const EVENT = "order.created"
const DATA = { id: 1 }

const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`)
}

// A full GC between measurements, so one contender's garbage is not collected on another's time.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

// ---------------------------------------------------------------------------------------------
// The sink
// ---------------------------------------------------------------------------------------------

interface SinkStats {
  readonly requests: number
  readonly ok: number
  readonly bad: number
  readonly signaturesChecked: number
  readonly connections: number
  readonly firstBad: string | undefined
  readonly cpuMicros: number
}

interface Sink {
  readonly port: number
  readonly pid: number | undefined
  /** Counters since the previous call. */
  readonly stats: () => Promise<SinkStats>
  readonly close: () => void
}

const startSink = (): Promise<Sink> =>
  new Promise((resolve, reject) => {
    // execArgv: [] so a `node --cpu-prof bench/publish.ts` profiles the client only.
    const child = fork(new URL("./sink.ts", import.meta.url), [], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const waiting: Array<(stats: SinkStats) => void> = []
    child.on("message", (message: { type: string; port?: number } & SinkStats) => {
      if (message.type === "ready") {
        resolve({
          port: message.port!,
          pid: child.pid,
          stats: () =>
            new Promise((res) => {
              waiting.push(res)
              child.send({ type: "stats" })
            }),
          close: () => {
            if (child.connected) child.disconnect()
          }
        })
      } else if (message.type === "stats") {
        waiting.shift()?.(message)
      }
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`the sink exited early (code ${code})`)))
  })

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
  readonly make: (port: number) => Promise<Client>
}

/** The floor: everything a correct client must do, nothing more. */
const floor: Contender = {
  name: "floor",
  description: "undici Agent.request + node:crypto md5/HMAC, JSON.parse of the response",
  make: async (port) => {
    const agent = new Agent({ keepAliveTimeout: 60_000 })
    const origin = `http://127.0.0.1:${port}`
    const path = `/apps/${APP_ID}/events`
    const hmacKey = createSecretKey(Buffer.from(SECRET, "utf8"))
    const headers = { "content-type": "application/json" }
    const publish = async () => {
      const body = JSON.stringify({ name: EVENT, channels: [CHANNEL], data: JSON.stringify(DATA) })
      const md5 = createHash("md5").update(body).digest("hex")
      const query = `auth_key=${KEY}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5}`
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
  make: async (port) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64, keepAliveMsecs: 60_000 })
    const client = new Pusher({
      appId: APP_ID,
      key: KEY,
      secret: SECRET,
      host: "127.0.0.1",
      port: String(port),
      useTLS: false,
      agent
    })
    const publish = async () => {
      const response = await client.trigger(CHANNEL, EVENT, DATA)
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

/** This SDK: one ManagedRuntime, the service resolved once, one runPromise per publish. */
const effectSockudo: Contender = {
  name: "effect-sockudo",
  description: "Sockudo.trigger via ManagedRuntime.runPromise (SockudoNode.layerUndici)",
  make: async (port) => {
    const layer = Sockudo.layer.pipe(
      Layer.provide(
        SockudoConfig.layer({
          appId: APP_ID,
          key: KEY,
          secret: Redacted.make(SECRET),
          host: "127.0.0.1",
          port,
          useTLS: false
        })
      ),
      Layer.provide(SockudoNode.layerUndici)
    )
    const runtime = ManagedRuntime.make(layer)
    const sockudo = await runtime.runPromise(Sockudo.Sockudo)
    const publish = () => runtime.runPromise(sockudo.trigger(CHANNEL, EVENT, DATA))
    return { publish, close: () => runtime.dispose() }
  }
}

const allContenders = [floor, pusher, effectSockudo]
const only = flag("only")?.split(",")
const contenders = only === undefined ? allContenders : allContenders.filter((c) => only.includes(c.name))
if (contenders.length === 0) throw new Error(`--only matches none of ${allContenders.map((c) => c.name).join(", ")}`)

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

interface Sample {
  readonly publishes: number
  readonly wallMs: number
  readonly cpuMicros: number
  /** The main thread only (process CPU minus GC helper and other threads). */
  readonly mainThreadCpuMicros: number
}

/** `n` publishes, `concurrency` in flight: workers pulling from a shared counter. */
const drive = async (publish: () => Promise<unknown>, n: number, concurrency: number): Promise<Sample> => {
  let started = 0
  const worker = async () => {
    while (started < n) {
      started++
      await publish()
    }
  }
  const workers = Math.min(concurrency, n)
  const cpu0 = process.cpuUsage()
  const main0 = process.threadCpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: workers }, worker))
  const wallMs = performance.now() - t0
  const main = process.threadCpuUsage(main0)
  const cpu = process.cpuUsage(cpu0)
  return { publishes: n, wallMs, cpuMicros: cpu.user + cpu.system, mainThreadCpuMicros: main.user + main.system }
}

interface Cell {
  readonly contender: string
  readonly concurrency: number
  n: number
  readonly samples: Array<Sample>
}

interface Totals {
  sent: number
  sink: { requests: number; ok: number; bad: number; signaturesChecked: number; connections: number; cpuMicros: number }
  firstBad: string | undefined
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const pubPerSec = (s: Sample) => (s.publishes / s.wallMs) * 1000
const cpuPerPub = (s: Sample) => s.cpuMicros / s.publishes

const main = async () => {
  const began = performance.now()
  const sink = await startSink()
  log(`sink listening on 127.0.0.1:${sink.port} (process ${sink.pid}); client is process ${process.pid}`)
  const clients = new Map<string, Client>()
  const totals = new Map<string, Totals>()
  for (const contender of contenders) {
    clients.set(contender.name, await contender.make(sink.port))
    totals.set(contender.name, {
      sent: 0,
      sink: { requests: 0, ok: 0, bad: 0, signaturesChecked: 0, connections: 0, cpuMicros: 0 },
      firstBad: undefined
    })
  }
  await sink.stats() // reset

  const account = async (name: string, sent: number) => {
    const stats = await sink.stats()
    const total = totals.get(name)!
    total.sent += sent
    total.sink.requests += stats.requests
    total.sink.ok += stats.ok
    total.sink.bad += stats.bad
    total.sink.signaturesChecked += stats.signaturesChecked
    total.sink.connections += stats.connections
    total.sink.cpuMicros += stats.cpuMicros
    total.firstBad ??= stats.firstBad
  }

  const cells: Array<Cell> = []
  for (const concurrency of concurrencies) {
    for (const contender of contenders) cells.push({ contender: contender.name, concurrency, n: 0, samples: [] })
  }

  for (let round = 0; round < rounds; round++) {
    for (const concurrency of concurrencies) {
      // Rotate the order each round so no contender always runs first (or right after another).
      const row = cells.filter((c) => c.concurrency === concurrency)
      const ordered = row.map((_, i) => row[(i + round) % row.length]!)
      for (const cell of ordered) {
        const client = clients.get(cell.contender)!
        gc()
        const warm = await drive(client.publish, warmup, concurrency)
        await account(cell.contender, warmup)
        if (cell.n === 0) {
          cell.n = Math.max(1000, Math.round((pubPerSec(warm) * targetSeconds) / 1000) * 1000)
        }
        gc()
        const sample = await drive(client.publish, cell.n, concurrency)
        const sinkStats = totals.get(cell.contender)!
        const before = sinkStats.sink.cpuMicros
        await account(cell.contender, cell.n)
        cell.samples.push(sample)
        log(
          `round ${round + 1}/${rounds}  ${cell.contender.padEnd(15)} x${String(concurrency).padEnd(3)} ` +
            `${String(cell.n).padStart(7)} publishes in ${(sample.wallMs / 1000).toFixed(2)} s: ` +
            `${Math.round(pubPerSec(sample)).toLocaleString("en-US").padStart(7)} pub/s, ` +
            `${cpuPerPub(sample).toFixed(1).padStart(6)} µs CPU/publish ` +
            `(sink ${((sinkStats.sink.cpuMicros - before) / cell.n).toFixed(1)} µs/request)`
        )
      }
    }
  }

  for (const client of clients.values()) await client.close()
  sink.close()

  const results = cells.map((cell) => {
    const rates = cell.samples.map(pubPerSec)
    const cpus = cell.samples.map(cpuPerPub)
    return {
      contender: cell.contender,
      concurrency: cell.concurrency,
      publishesPerRound: cell.n,
      rounds: cell.samples.length,
      publishesPerSecond: Math.round(median(rates)),
      cpuMicrosPerPublish: Number(median(cpus).toFixed(2)),
      mainThreadCpuMicrosPerPublish: Number(
        median(cell.samples.map((x) => x.mainThreadCpuMicros / x.publishes)).toFixed(2)
      ),
      cpuMicrosPerPublishRange: [Number(Math.min(...cpus).toFixed(2)), Number(Math.max(...cpus).toFixed(2))],
      publishesPerSecondRange: [Math.round(Math.min(...rates)), Math.round(Math.max(...rates))],
      samples: cell.samples
    }
  })
  const find = (contender: string, concurrency: number) =>
    results.find((r) => r.contender === contender && r.concurrency === concurrency)
  const comparisons = concurrencies.map((concurrency) => {
    const ours = find("effect-sockudo", concurrency)
    const base = find("floor", concurrency)
    const them = find("pusher", concurrency)
    const ratio = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? undefined : Number((a / b).toFixed(3))
    const oursOverFloor = ratio(ours?.cpuMicrosPerPublish, base?.cpuMicrosPerPublish)
    const oursOverPusher = ratio(ours?.cpuMicrosPerPublish, them?.cpuMicrosPerPublish)
    return {
      concurrency,
      cpuOursOverFloor: oursOverFloor,
      cpuOursOverPusher: oursOverPusher,
      throughputOursOverFloor: ratio(ours?.publishesPerSecond, base?.publishesPerSecond),
      throughputOursOverPusher: ratio(ours?.publishesPerSecond, them?.publishesPerSecond),
      withinTargetOfFloor: oursOverFloor === undefined ? undefined : oursOverFloor <= 1.5,
      aheadOfPusher: oursOverPusher === undefined ? undefined : oursOverPusher < 1
    }
  })
  const delivery = contenders.map((c) => {
    const t = totals.get(c.name)!
    return {
      contender: c.name,
      sent: t.sent,
      ...t.sink,
      sinkCpuMicrosPerRequest: Number((t.sink.cpuMicros / Math.max(1, t.sink.requests)).toFixed(2)),
      firstBad: t.firstBad
    }
  })
  const seconds = (performance.now() - began) / 1000
  const failed = delivery.some((d) => d.bad > 0 || d.requests !== d.sent || d.ok !== d.sent)

  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          node: process.version,
          cpus: (await import("node:os")).availableParallelism(),
          settings: { targetSeconds, rounds, warmup, concurrencies },
          contenders: contenders.map((c) => ({ name: c.name, description: c.description })),
          results,
          comparisons,
          delivery,
          seconds: Number(seconds.toFixed(1))
        },
        null,
        2
      )}\n`
    )
  } else {
    const out = (line = "") => process.stdout.write(`${line}\n`)
    out()
    out(`Publish benchmark: node ${process.version}, median of ${rounds} rounds, ~${targetSeconds} s each`)
    for (const c of contenders) out(`  ${c.name.padEnd(15)} ${c.description}`)
    out()
    const header = ["contender", "in flight", "publishes/s", "CPU µs/publish", "CPU range", "CPU vs floor"]
    const rows = results.map((r) => {
      const base = find("floor", r.concurrency)
      return [
        r.contender,
        String(r.concurrency),
        r.publishesPerSecond.toLocaleString("en-US"),
        r.cpuMicrosPerPublish.toFixed(1),
        `${r.cpuMicrosPerPublishRange[0]!.toFixed(1)}-${r.cpuMicrosPerPublishRange[1]!.toFixed(1)}`,
        base === undefined ? "" : `${(r.cpuMicrosPerPublish / base.cpuMicrosPerPublish).toFixed(2)}x`
      ]
    })
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const fmt = (cols: ReadonlyArray<string>) =>
      `| ${cols.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
    out(fmt(header))
    out(`|${widths.map((w, i) => (i < 1 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`)
    for (const row of rows) out(fmt(row))
    out()
    for (const c of comparisons) {
      if (c.cpuOursOverFloor === undefined && c.cpuOursOverPusher === undefined) continue
      const parts: Array<string> = []
      if (c.cpuOursOverFloor !== undefined) {
        parts.push(
          `ours/floor CPU ${c.cpuOursOverFloor.toFixed(2)}x (target <= 1.5x: ${c.withinTargetOfFloor ? "met" : "MISSED"})`
        )
      }
      if (c.cpuOursOverPusher !== undefined) {
        parts.push(`ours/pusher CPU ${c.cpuOursOverPusher.toFixed(2)}x (${c.aheadOfPusher ? "ahead" : "BEHIND"})`)
      }
      if (c.throughputOursOverFloor !== undefined)
        parts.push(`ours/floor pub/s ${c.throughputOursOverFloor.toFixed(2)}x`)
      out(`x${c.concurrency}: ${parts.join(", ")}`)
    }
    out()
    out("Sink (second process) received:")
    for (const d of delivery) {
      out(
        `  ${d.contender.padEnd(15)} sent ${d.sent}, received ${d.requests}, 200 OK ${d.ok}, rejected ${d.bad}` +
          `, signatures verified ${d.signaturesChecked}, new connections ${d.connections}` +
          `, sink CPU ${d.sinkCpuMicrosPerRequest} µs/request` +
          (d.firstBad === undefined ? "" : ` (first rejection: ${d.firstBad})`)
      )
    }
    out()
    out(`Total ${seconds.toFixed(1)} s`)
  }
  if (failed) {
    process.stderr.write("bench: the sink rejected or missed requests (see above)\n")
    process.exitCode = 1
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
