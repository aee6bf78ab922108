/**
 * The publish benchmark's results: medians per cell (target x contender x publishes in flight),
 * ratios to the floor within each target, what `Connection: close` costs each contender (the
 * same contender against the keep-alive sink, the closing sink and Sockudo), and what each target
 * received. Printed as Markdown tables, or as JSON with `--json`.
 */
import { availableParallelism, loadavg } from "node:os"
import type { Target, TargetName } from "./targets.ts"

/** One timed measurement of one cell. */
export interface Sample {
  readonly publishes: number
  /** Publishes that rejected (the client's own retries, if any, included in the one publish). */
  readonly failures: number
  readonly wallMs: number
  readonly cpuMicros: number
  /** The main thread only (process CPU minus GC helper and other threads). */
  readonly mainThreadCpuMicros: number
  /** TCP connections the client process opened (`net.client.socket`). */
  readonly connections: number
  /** HTTP requests it started (`undici:request:create`, `http.client.request.start`): retries show here. */
  readonly attempts: number
  readonly serverCpuMicros: number | undefined
  /** Per-publish latency, from the call to its answer. */
  readonly latencyMs: { readonly p50: number; readonly p99: number }
  readonly failureKinds: ReadonlyMap<string, number>
  /** Failed HTTP requests by kind, whether or not the contender retried them. */
  readonly attemptErrors: ReadonlyMap<string, number>
}

export interface Cell {
  readonly target: TargetName
  readonly contender: string
  readonly concurrency: number
  n: number
  readonly samples: Array<Sample>
}

/** Everything one contender sent to one target, warm-ups included. */
export interface Totals {
  readonly target: TargetName
  readonly contender: string
  sent: number
  failures: number
  /** What the target accepted: the sink's 200 answers, or the subscriber's deliveries. */
  accepted: number
  rejected: number
  signaturesChecked: number
  sinkConnections: number
  connections: number
  attempts: number
  firstProblem: string | undefined
  readonly failureKinds: Map<string, number>
  readonly attemptErrors: Map<string, number>
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const round = (x: number, digits: number) => Number(x.toFixed(digits))
const pubPerSec = (s: Sample) => (s.publishes / s.wallMs) * 1000
const cpuPerPub = (s: Sample) => s.cpuMicros / s.publishes
const int = (x: number) => Math.round(x).toLocaleString("en-US")
const kinds = (m: ReadonlyMap<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]))

const summarise = (cell: Cell) => {
  const rates = cell.samples.map(pubPerSec)
  const cpus = cell.samples.map(cpuPerPub)
  const server = cell.samples.flatMap((s) => (s.serverCpuMicros === undefined ? [] : [s.serverCpuMicros / s.publishes]))
  const sum = (f: (s: Sample) => number) => cell.samples.reduce((acc, s) => acc + f(s), 0)
  return {
    target: cell.target,
    contender: cell.contender,
    concurrency: cell.concurrency,
    publishesPerRound: cell.n,
    rounds: cell.samples.length,
    publishesPerSecond: Math.round(median(rates)),
    cpuMicrosPerPublish: round(median(cpus), 2),
    mainThreadCpuMicrosPerPublish: round(median(cell.samples.map((x) => x.mainThreadCpuMicros / x.publishes)), 2),
    cpuMicrosPerPublishRange: [round(Math.min(...cpus), 2), round(Math.max(...cpus), 2)],
    publishesPerSecondRange: [Math.round(Math.min(...rates)), Math.round(Math.max(...rates))],
    connectionsPerPublish: round(sum((s) => s.connections) / sum((s) => s.publishes), 4),
    attemptsPerPublish: round(sum((s) => s.attempts) / sum((s) => s.publishes), 4),
    failures: sum((s) => s.failures),
    serverCpuMicrosPerPublish: server.length === 0 ? undefined : round(median(server), 2),
    latencyP50Ms: round(median(cell.samples.map((s) => s.latencyMs.p50)), 2),
    latencyP99Ms: round(median(cell.samples.map((s) => s.latencyMs.p99)), 2),
    samples: cell.samples.map((s) => ({
      ...s,
      failureKinds: kinds(s.failureKinds),
      attemptErrors: kinds(s.attemptErrors)
    }))
  }
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Array<string> => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cols: ReadonlyArray<string>) =>
    `| ${cols.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  return [
    fmt(header),
    `|${widths.map((w, i) => (i < 1 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.map(fmt)
  ]
}

/** Prints the report; true when a sink refused a publish or a target missed one answered 200. */
export const printReport = (run: {
  readonly json: boolean
  readonly settings: object
  readonly contenders: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly targets: ReadonlyArray<Target>
  readonly sockudoUrl: string | undefined
  readonly cells: ReadonlyArray<Cell>
  readonly totals: ReadonlyArray<Totals>
  readonly seconds: number
}): boolean => {
  const results = run.cells.map(summarise)
  const find = (target: TargetName, contender: string, concurrency: number) =>
    results.find((r) => r.target === target && r.contender === contender && r.concurrency === concurrency)
  const concurrencies = [...new Set(results.map((r) => r.concurrency))]
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : round(a / b, 3)

  const comparisons = run.targets.flatMap((t) =>
    concurrencies.map((concurrency) => {
      const ours = find(t.name, "effect-sockudo", concurrency)
      const base = find(t.name, "floor", concurrency)
      const them = find(t.name, "pusher", concurrency)
      const oursOverFloor = ratio(ours?.cpuMicrosPerPublish, base?.cpuMicrosPerPublish)
      const oursOverPusher = ratio(ours?.cpuMicrosPerPublish, them?.cpuMicrosPerPublish)
      return {
        target: t.name,
        concurrency,
        cpuOursOverFloor: oursOverFloor,
        cpuOursOverPusher: oursOverPusher,
        throughputOursOverFloor: ratio(ours?.publishesPerSecond, base?.publishesPerSecond),
        throughputOursOverPusher: ratio(ours?.publishesPerSecond, them?.publishesPerSecond),
        withinTargetOfFloor: oursOverFloor === undefined ? undefined : oursOverFloor <= 1.5,
        aheadOfPusher: oursOverPusher === undefined ? undefined : oursOverPusher < 1
      }
    })
  )
  // The same contender and in-flight count on each target, against the keep-alive sink.
  const closeCost = run.contenders.flatMap((c) =>
    concurrencies.map((concurrency) => {
      const base = find("sink", c.name, concurrency)
      const on = (target: TargetName) => {
        const r = find(target, c.name, concurrency)
        return r === undefined
          ? undefined
          : {
              cpuMicrosPerPublish: r.cpuMicrosPerPublish,
              extraCpuMicrosPerPublish:
                base === undefined ? undefined : round(r.cpuMicrosPerPublish - base.cpuMicrosPerPublish, 2),
              cpuOverKeepAlive: ratio(r.cpuMicrosPerPublish, base?.cpuMicrosPerPublish),
              publishesPerSecond: r.publishesPerSecond,
              throughputOverKeepAlive: ratio(r.publishesPerSecond, base?.publishesPerSecond),
              connectionsPerPublish: r.connectionsPerPublish
            }
      }
      return { contender: c.name, concurrency, sink: on("sink"), sinkClose: on("sink-close"), sockudo: on("sockudo") }
    })
  )
  const delivery = run.totals.map((t) => {
    const answered = t.sent - t.failures
    return {
      target: t.target,
      contender: t.contender,
      sent: t.sent,
      answered200: answered,
      failures: t.failures,
      accepted: t.accepted,
      rejected: t.rejected,
      signaturesChecked: t.signaturesChecked,
      connectionsPerPublish: round(t.connections / Math.max(1, t.sent), 4),
      sinkConnections: t.target === "sockudo" ? undefined : t.sinkConnections,
      attemptsPerPublish: round(t.attempts / Math.max(1, t.sent), 4),
      failureKinds: kinds(t.failureKinds),
      attemptErrors: kinds(t.attemptErrors),
      /** Answered 200 but never received: the failure a benchmark must not miss. */
      lost: Math.max(0, answered - t.accepted),
      /** Received more than answered 200: duplicates, or failed publishes that reached the server. */
      extra: Math.max(0, t.accepted - answered),
      firstProblem: t.firstProblem
    }
  })
  // A publish the server refused is a measured behaviour of Sockudo (reported); a sink never
  // refuses a correct request, and nothing may be lost silently anywhere.
  const invalid = (d: (typeof delivery)[number]) =>
    d.lost > 0 || d.rejected > 0 || d.firstProblem !== undefined || (d.target !== "sockudo" && d.failures > 0)
  const failed = delivery.some(invalid)

  if (run.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          node: process.version,
          cpus: availableParallelism(),
          loadAverage: loadavg(),
          settings: run.settings,
          sockudo: run.sockudoUrl,
          contenders: run.contenders,
          results,
          comparisons,
          closeCost,
          delivery,
          seconds: round(run.seconds, 1)
        },
        null,
        2
      )}\n`
    )
    return failed
  }

  const out = (line = "") => process.stdout.write(`${line}\n`)
  const cells = run.cells[0]?.samples.length ?? 0
  out()
  out(`Publish benchmark: node ${process.version}, ${availableParallelism()} CPUs, median of ${cells} rounds`)
  out(
    `load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`
  )
  for (const c of run.contenders) out(`  ${c.name.padEnd(20)} ${c.description}`)
  for (const t of run.targets) {
    out()
    out(
      `Target ${t.name}: ${
        t.name === "sockudo"
          ? `Sockudo at ${run.sockudoUrl}, app ${t.appId}`
          : t.name === "sink"
            ? "keep-alive sink (second process)"
            : "the sink answering Connection: close"
      }`
    )
    out()
    const server = t.name === "sockudo" ? "server µs/publish" : "sink µs/publish"
    const rows = results
      .filter((r) => r.target === t.name)
      .map((r) => {
        const base = find(t.name, "floor", r.concurrency)
        return [
          r.contender,
          String(r.concurrency),
          int(r.publishesPerSecond),
          base === undefined ? "" : `${(r.publishesPerSecond / base.publishesPerSecond).toFixed(2)}x`,
          r.cpuMicrosPerPublish.toFixed(1),
          `${r.cpuMicrosPerPublishRange[0]!.toFixed(1)}-${r.cpuMicrosPerPublishRange[1]!.toFixed(1)}`,
          base === undefined ? "" : `${(r.cpuMicrosPerPublish / base.cpuMicrosPerPublish).toFixed(2)}x`,
          r.connectionsPerPublish.toFixed(3),
          r.attemptsPerPublish.toFixed(3),
          `${r.latencyP50Ms.toFixed(1)} / ${r.latencyP99Ms.toFixed(1)}`,
          String(r.failures),
          r.serverCpuMicrosPerPublish === undefined ? "" : r.serverCpuMicrosPerPublish.toFixed(1)
        ]
      })
    const header = ["contender", "in flight", "publishes/s", "pub/s vs floor", "CPU µs/publish", "CPU range"]
    const rest = ["CPU vs floor", "conns/publish", "requests/publish", "p50 / p99 ms", "failed", server]
    for (const line of table([...header, ...rest], rows)) out(line)
    out()
    for (const c of comparisons.filter((x) => x.target === t.name)) {
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
      if (c.throughputOursOverFloor !== undefined) {
        parts.push(`ours/floor pub/s ${c.throughputOursOverFloor.toFixed(2)}x`)
      }
      out(`x${c.concurrency}: ${parts.join(", ")}`)
    }
  }

  const others = run.targets.filter((t) => t.name !== "sink").map((t) => t.name)
  if (run.targets.some((t) => t.name === "sink") && others.length > 0) {
    out()
    out("Connection: close: client CPU µs/publish and publishes/s of each contender, against the keep-alive sink")
    out()
    const delta = (x: { extraCpuMicrosPerPublish?: number | undefined; cpuOverKeepAlive?: number | undefined }) =>
      x.extraCpuMicrosPerPublish === undefined
        ? ""
        : `${x.extraCpuMicrosPerPublish >= 0 ? "+" : ""}${x.extraCpuMicrosPerPublish.toFixed(1)} (${x.cpuOverKeepAlive!.toFixed(2)}x)`
    const rows = closeCost.map((row) => {
      const cols = [row.contender, String(row.concurrency), row.sink?.cpuMicrosPerPublish.toFixed(1) ?? ""]
      for (const name of others) {
        const x = name === "sockudo" ? row.sockudo : row.sinkClose
        cols.push(x === undefined ? "" : `${x.cpuMicrosPerPublish.toFixed(1)} ${delta(x)}`)
      }
      cols.push(row.sink === undefined ? "" : int(row.sink.publishesPerSecond))
      for (const name of others) {
        const x = name === "sockudo" ? row.sockudo : row.sinkClose
        cols.push(x === undefined ? "" : `${int(x.publishesPerSecond)} (${x.throughputOverKeepAlive?.toFixed(2)}x)`)
      }
      return cols
    })
    for (const line of table(
      [
        "contender",
        "in flight",
        "CPU keep-alive",
        ...others.map((n) => `CPU ${n}`),
        "pub/s keep-alive",
        ...others.map((n) => `pub/s ${n}`)
      ],
      rows
    ))
      out(line)
  }

  out()
  out("What each target received (warm-ups included):")
  for (const d of delivery) {
    const what = d.target === "sockudo" ? "delivered to the subscriber" : "accepted by the sink"
    out(
      `  ${d.target.padEnd(10)} ${d.contender.padEnd(20)} sent ${d.sent}, answered 200 ${d.answered200}, ` +
        `failed ${d.failures}, ${what} ${d.accepted}` +
        (d.extra === 0 ? "" : ` (${d.extra} more than answered 200)`) +
        (d.target === "sockudo"
          ? ""
          : `, rejected ${d.rejected}, signatures verified ${d.signaturesChecked}, connections ${d.sinkConnections}`) +
        `; client opened ${d.connectionsPerPublish} connections and ${d.attemptsPerPublish} requests per publish` +
        (invalid(d) ? "  <-- INVALID" : d.failures > 0 || d.extra > 0 ? "  <-- see below" : "") +
        (d.firstProblem === undefined ? "" : `\n      ${d.firstProblem}`)
    )
    for (const [kind, n] of Object.entries(d.failureKinds)) out(`      publish failed ${n}x: ${kind}`)
    for (const [kind, n] of Object.entries(d.attemptErrors)) out(`      request failed ${n}x: ${kind}`)
  }
  out()
  out(`Total ${run.seconds.toFixed(1)} s`)
  return failed
}
