/**
 * Where the publish benchmark sends its publishes, and how it checks each target received them:
 *
 * - `sink`: the keep-alive sink of `bench/sink.ts` (a second process) verifies every request;
 * - `sink-close`: the same sink answering `Connection: close`, as Sockudo does, so that header's
 *   cost is priced on its own;
 * - `sockudo`: a real Sockudo node; a raw WebSocket client in a third process
 *   (`bench/subscriber.ts`) counts the deliveries, and the node's CPU is read from `/proc`.
 */
import { fork } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"

export type TargetName = "sink" | "sink-close" | "sockudo"

/** One place to publish to, with the credentials and channel of its app. */
export interface Target {
  readonly name: TargetName
  readonly host: string
  readonly port: number
  readonly appId: string
  readonly key: string
  readonly secret: string
  readonly channel: string
}

/** What a target saw of one measurement. */
export interface Received {
  /** Publishes it accepted: the sink's 200 OK answers, or the deliveries to the subscriber. */
  readonly accepted: number
  /** Requests the sink rejected (always 0 for Sockudo, whose refusals the client sees). */
  readonly rejected: number
  readonly signaturesChecked: number
  /** New connections as the sink counted them (Sockudo: undefined). */
  readonly connections: number | undefined
  /** The server's CPU in µs (undefined when it cannot be read). */
  readonly serverCpuMicros: number | undefined
  readonly firstProblem: string | undefined
}

export interface Endpoint {
  readonly target: Target
  /** What the target received since the previous call; `expected` is what the client had answered 200. */
  readonly received: (expected: number) => Promise<Received>
}

// ---------------------------------------------------------------------------------------------
// The sink

interface SinkStats {
  readonly requests: number
  readonly ok: number
  readonly bad: number
  readonly signaturesChecked: number
  readonly connections: number
  readonly firstBad: string | undefined
  readonly cpuMicros: number
}

/** The sink process and its two listeners (keep-alive, and `Connection: close`). */
export const startSink = (): Promise<{
  readonly pid: number | undefined
  readonly endpoints: ReadonlyArray<Endpoint>
  readonly close: () => void
}> =>
  new Promise((resolve, reject) => {
    // execArgv: [] so a `node --cpu-prof bench/publish.ts` profiles the client only.
    const child = fork(new URL("./sink.ts", import.meta.url), [], {
      execArgv: [],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const waiting: Array<(stats: SinkStats) => void> = []
    const stats = () =>
      new Promise<SinkStats>((res) => {
        waiting.push(res)
        child.send({ type: "stats" })
      })
    const sinkApp = { host: "127.0.0.1", appId: "app-id", key: "app-key", secret: "app-secret", channel: "orders" }
    const endpoint = (name: TargetName, port: number): Endpoint => ({
      target: { name, port, ...sinkApp },
      received: async () => {
        const s = await stats()
        return {
          accepted: s.ok,
          rejected: s.bad,
          signaturesChecked: s.signaturesChecked,
          connections: s.connections,
          serverCpuMicros: s.cpuMicros,
          firstProblem: s.firstBad
        }
      }
    })
    child.on("message", (message: { type: string; port?: number; closePort?: number } & SinkStats) => {
      if (message.type === "ready") {
        resolve({
          pid: child.pid,
          endpoints: [endpoint("sink", message.port!), endpoint("sink-close", message.closePort!)],
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
// A real Sockudo node

/** The apps of `test/sockudo/config/node.toml` (`--app=off` by default: no history, no webhooks). */
const knownApps: Record<string, { readonly appId: string; readonly key: string; readonly secret: string }> = {
  test: { appId: "test-app", key: "test-key", secret: "test-secret" },
  off: { appId: "off-app", key: "off-key", secret: "off-secret" },
  limits: { appId: "limits-app", key: "limits-key", secret: "limits-secret" }
}

/** `--app=off` or `--app=<id>:<key>:<secret>`. */
export const parseApp = (app: string) => {
  const known = knownApps[app]
  if (known !== undefined) return known
  const [appId, key, secret] = app.split(":")
  if (appId === undefined || key === undefined || secret === undefined) {
    throw new Error(`--app takes ${Object.keys(knownApps).join(", ")} or <id>:<key>:<secret>`)
  }
  return { appId, key, secret }
}

/** The CPU (user + system, µs) of a process, from `/proc/<pid>/stat`; undefined when unreadable. */
const processCpuMicros = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

/** The node's pid: `--server-pid`, else the `node` line of `$SOCKUDO_TEST_LOGS/pids` (test/sockudo/server.sh). */
export const findServerPid = (explicit: string | undefined): number | undefined => {
  if (explicit !== undefined) return Number(explicit)
  const state = process.env.SOCKUDO_TEST_LOGS
  if (state === undefined) return undefined
  try {
    const line = readFileSync(`${state}/pids`, "utf8")
      .split("\n")
      .find((l) => l.endsWith(" node"))
    return line === undefined ? undefined : Number(line.split(" ")[0])
  } catch {
    return undefined
  }
}

const deliveryTimeoutMs = 15_000

/**
 * A Sockudo node as a target: subscribes a counting WebSocket client (a third process) to a
 * channel of this run, and after each measurement waits until it has received every publish
 * the client had answered 200 (or `deliveryTimeoutMs` passed: the shortfall is reported).
 */
export const connectSockudo = async (options: {
  readonly url: URL
  readonly app: { readonly appId: string; readonly key: string; readonly secret: string }
  readonly event: string
  readonly serverPid: number | undefined
}): Promise<{ readonly endpoint: Endpoint; readonly close: () => void }> => {
  const channel = `orders-${randomBytes(3).toString("hex")}`
  const target: Target = {
    name: "sockudo",
    host: options.url.hostname,
    port: Number(options.url.port || 80),
    channel,
    ...options.app
  }
  const ws = `ws://${options.url.host}/app/${options.app.key}?protocol=7&client=effect-sockudo-bench&version=1.0.0`
  const child = fork(new URL("./subscriber.ts", import.meta.url), [ws, channel, options.event], {
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const waiting: Array<(count: { events: number; closed: string | undefined }) => void> = []
  const count = () =>
    new Promise<{ events: number; closed: string | undefined }>((res) => {
      waiting.push(res)
      child.send({ type: "count" })
    })
  await new Promise<void>((resolve, reject) => {
    child.on("message", (message: { type: string; reason?: string; events: number; closed: string | undefined }) => {
      if (message.type === "ready") resolve()
      else if (message.type === "failed") reject(new Error(`bench/subscriber.ts: ${message.reason}`))
      else if (message.type === "count") waiting.shift()?.(message)
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`bench/subscriber.ts exited early (code ${code})`)))
  })
  let counted = 0
  let expectedTotal = 0
  let cpu = options.serverPid === undefined ? undefined : processCpuMicros(options.serverPid)
  const received = async (expected: number): Promise<Received> => {
    expectedTotal += expected
    const deadline = performance.now() + deliveryTimeoutMs
    let now = await count()
    while (now.events < expectedTotal && now.closed === undefined && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10))
      now = await count()
    }
    const accepted = now.events - counted
    counted = now.events
    const cpuNow = options.serverPid === undefined ? undefined : processCpuMicros(options.serverPid)
    const serverCpuMicros = cpu === undefined || cpuNow === undefined ? undefined : cpuNow - cpu
    cpu = cpuNow
    const problem =
      now.closed !== undefined
        ? `the subscriber's WebSocket was closed (${now.closed})`
        : accepted < expected
          ? `${expected - accepted} of ${expected} publishes answered 200 were not delivered`
          : undefined
    return {
      accepted,
      rejected: 0,
      signaturesChecked: 0,
      connections: undefined,
      serverCpuMicros,
      firstProblem: problem
    }
  }
  return {
    endpoint: { target, received },
    close: () => {
      if (child.connected) child.disconnect()
    }
  }
}
