/**
 * `npm run test:runtimes`: the runtime suite (`suite.ts`) on every runtime of `runtimes.ts`, against
 * the emulator on a loopback port.
 *
 * It builds the package (`dist/`, which the suite reaches through the `exports` map), installs the
 * runtimes it lacks into the cache, starts the emulator, and runs the suite in each runtime as a
 * child process: Node, Bun and Deno run `main.ts` (the fixture in `RUNTIME_SUITE_FIXTURE`); workerd
 * serves `worker.ts` bundled with esbuild (conditions `workerd`, `worker`, `browser`; no
 * `nodejs_compat`), and the driver POSTs the fixture to it. The webhook and the signatures the
 * runtimes check are made here with `node:crypto`; the events a runtime published are checked here,
 * as the emulator's simulated client received them. It prints a table runtime × check, fails when
 * any check failed, and fails when the README's compatibility table says otherwise.
 *
 * A canary run first, in this process, must fail every check that reads the fixture;
 * `RUNTIME_SUITE_VERBOSE=1` prints why each did.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHmac } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, connect as tcpConnect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer, ManagedRuntime } from "effect"
import { build } from "esbuild"
import { Emulator } from "../../src/testing/index.ts"
import * as EmulatorNode from "../../src/testing/Node.ts"
import { type Check, checks, type Fixture, type Result, resultsMarker } from "./checks.ts"
import { runtimesTable } from "./readme.ts"
import { install, type Runtime, runtimes } from "./runtimes.ts"

const root = new URL("../..", import.meta.url).pathname
const started = performance.now()
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`
const say = (line: string) => console.log(`runtimes: ${line}`)
const fail = (detail: string): ReadonlyArray<Result> => checks.map((check) => ({ check, ok: false, detail }))
const tail = (text: string) => text.trim().split("\n").slice(-8).join("\n")

// ===== the package, as published =====

const built = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, encoding: "utf8" })
if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`)

// ===== the runtimes =====

const binaries = new Map<string, string>()
const installTimes = new Map<string, string>()
for (const runtime of runtimes) {
  const since = performance.now()
  const { bin, installed } = install(runtime)
  binaries.set(runtime.id, bin)
  installTimes.set(
    runtime.id,
    bin === process.execPath ? `this Node, ${process.version}` : installed ? `installed in ${seconds(since)}` : "cached"
  )
}

// ===== the emulator =====

const emulatorRuntime = ManagedRuntime.make(
  EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer({ features: { history: true } })))
)
const emulator = await emulatorRuntime.runPromise(Emulator.Emulator)
const server = await emulatorRuntime.runPromise(EmulatorNode.EmulatorServer)
const app = emulator.apps[0]!
const appUrl = new URL(`${server.baseUrl}/apps/${app.id}`)
appUrl.username = app.key
appUrl.password = app.secret

const hmac = (data: string) => createHmac("sha256", app.secret).update(data).digest("hex")

const fixtureFor = (runtime: Runtime): Fixture => {
  const prefix = `rt-${runtime.id}-`
  const body = JSON.stringify({
    time_ms: Date.now(),
    events: [{ name: "channel_occupied", channel: `${prefix}hooked` }]
  })
  const socketId = "1234.5678"
  const privateChannel = `private-${prefix}room`
  const presenceChannel = `presence-${prefix}room`
  const member = { user_id: "u-1", user_info: { name: "Ada Lovelace ✓" } }
  const channelData = JSON.stringify(member)
  return {
    url: appUrl.href,
    nodeEntry: runtime.kind === "script",
    prefix,
    subscribed: `${prefix}orders`,
    historyChannel: `${prefix}history`,
    webhook: {
      key: app.key,
      signature: hmac(body),
      body,
      tamperedBody: body.replace("channel_occupied", "channel_vacated"),
      channel: `${prefix}hooked`
    },
    auth: {
      socketId,
      privateChannel,
      privateAuth: `${app.key}:${hmac(`${socketId}:${privateChannel}`)}`,
      presenceChannel,
      member,
      channelData,
      presenceAuth: `${app.key}:${hmac(`${socketId}:${presenceChannel}:${channelData}`)}`
    }
  }
}

// ===== running one runtime =====

interface Exited {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const collect = (child: ChildProcess, timeoutMs: number) =>
  new Promise<Exited>((resolve) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("error", (error) => {
      stderr += String(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const parse = (exited: Exited): ReadonlyArray<Result> => {
  const line = exited.stdout.split("\n").find((l) => l.startsWith(resultsMarker))
  if (line === undefined) return fail(`exited ${exited.code} without results: ${tail(exited.stderr || exited.stdout)}`)
  const results = JSON.parse(line.slice(resultsMarker.length)) as ReadonlyArray<Result>
  if (exited.code !== (results.every((r) => r.ok) ? 0 : 1)) {
    return results.map((r) => ({ ...r, ok: false, detail: `exit code ${exited.code} for these results; ${r.detail}` }))
  }
  return results
}

const commandOf = (runtime: Runtime, bin: string): ReadonlyArray<string> => {
  const main = "test/runtimes/main.ts"
  if (runtime.id !== "deno") return [bin, main]
  // Deno: the network of the loopback port only; the environment, which undici (effect-sockudo/node) and ws
  // read when they load; package.json and node_modules as they are, no lockfile
  return [bin, "run", "--no-lock", "--allow-env", "--allow-net=127.0.0.1", "--allow-read", main]
}

const runScript = async (runtime: Runtime, bin: string, fixture: Fixture) => {
  const [command, ...args] = commandOf(runtime, bin)
  const child = spawn(command!, args, {
    cwd: root,
    env: { ...process.env, RUNTIME_SUITE_FIXTURE: JSON.stringify(fixture) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  return parse(await collect(child, 120_000))
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/**
 * The capnp configuration of a worker with the suite (`worker.js`, the main module, first; then its
 * chunks), reaching loopback addresses, on `port`.
 */
const workerConfig = (port: number, chunks: ReadonlyArray<string>) => `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "suite", worker = .suite),
    (name = "loopback", network = (allow = ["public", "private", "local"]))
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "suite")]
);

const suite :Workerd.Worker = (
  modules = [${["worker.js", ...chunks].map((file) => `(name = "${file}", esModule = embed "${file}")`).join(", ")}],
  compatibilityDate = "2026-01-01",
  globalOutbound = "loopback"
);
`

const runWorker = async (bin: string, fixture: Fixture): Promise<ReadonlyArray<Result>> => {
  const dir = mkdtempSync(join(tmpdir(), "effect-sockudo-workerd-"))
  try {
    const bundled = await build({
      entryPoints: [join(root, "test/runtimes/worker.ts")],
      outdir: dir,
      // the suite's dynamic imports become modules of their own, loaded when a check asks for them
      splitting: true,
      chunkNames: "[name]-[hash]",
      bundle: true,
      format: "esm",
      platform: "neutral",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      // left to workerd, which answers whether it has them
      external: ["node:*"],
      logLevel: "silent"
    }).then(
      () => undefined,
      (error: Error) => error.message
    )
    if (bundled !== undefined) return fail(`esbuild: ${bundled}`)
    const port = await freePort()
    const chunks = readdirSync(dir).filter((file) => file.endsWith(".js") && file !== "worker.js")
    writeFileSync(join(dir, "config.capnp"), workerConfig(port, chunks))
    const child = spawn(bin, ["serve", "config.capnp"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    const exited = collect(child, 120_000)
    let gone = false
    void exited.then(() => {
      gone = true
    })
    const deadline = performance.now() + 30_000
    while (!gone && !(await accepting(port)) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    if (gone || performance.now() >= deadline) {
      child.kill("SIGKILL")
      const { code, stderr } = await exited
      return fail(`workerd ${gone ? `exited ${code}` : "did not listen within 30 s"}: ${tail(stderr)}`)
    }
    const answer = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: JSON.stringify(fixture) }).then(
      async (response) => ({ status: response.status, text: await response.text() }),
      (error: Error) => error
    )
    child.kill("SIGTERM")
    const { stderr } = await exited
    if (answer instanceof Error) return fail(`the worker did not answer (${answer.message}): ${tail(stderr)}`)
    const text = answer.text
    let results: ReadonlyArray<Result>
    try {
      results = JSON.parse(text) as ReadonlyArray<Result>
    } catch {
      return fail(`the worker answered ${answer.status} without results: ${tail(text || stderr)}`)
    }
    const expected = results.every((r) => r.ok) ? 200 : 500
    return answer.status === expected ? results : fail(`the worker answered ${answer.status} for ${text}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The suite's publishes, as the emulator's simulated client on the subscribed channel received them. */
const delivered = [
  ["order.created", '{"id":"ord_1"}'],
  ["order.paid", '{"id":"ord_1"}']
]

const runOne = async (runtime: Runtime): Promise<ReadonlyArray<Result>> => {
  const fixture = fixtureFor(runtime)
  const client = await emulatorRuntime.runPromise(emulator.connect())
  await emulatorRuntime.runPromise(client.subscribe(fixture.subscribed))
  const bin = binaries.get(runtime.id)!
  const results = runtime.kind === "worker" ? await runWorker(bin, fixture) : await runScript(runtime, bin, fixture)
  const received = (await emulatorRuntime.runPromise(client.events(fixture.subscribed))).map((m) => [m.event, m.data])
  return results.map((result) =>
    result.check === "publish" && result.ok && JSON.stringify(received) !== JSON.stringify(delivered)
      ? { ...result, ok: false, detail: `the subscribed client received ${JSON.stringify(received)}` }
      : result
  )
}

// ===== a canary: the suite fails what is wrong =====

/**
 * The suite in this process, against a fixture wrong for every check that reads one: no subscriber
 * where one is expected and one where none is, a history channel that holds other events, a webhook
 * signature and auth signatures of another secret. Each must fail, or the suite could pass without
 * looking. (`testing` reads no fixture: its oracle is the in-process emulator, checked in
 * test/testing/.)
 */
const canary = async (): Promise<ReadonlyArray<string>> => {
  const right = fixtureFor({ ...runtimes[0]!, id: "canary" })
  const client = await emulatorRuntime.runPromise(emulator.connect())
  await emulatorRuntime.runPromise(client.subscribe(`${right.prefix}node-entry`))
  const wrong = (signature: string) => signature.replace(/[0-9a-f]$/, (c) => (c === "0" ? "1" : "0"))
  const fixture: Fixture = {
    ...right,
    historyChannel: right.subscribed,
    webhook: { ...right.webhook, signature: wrong(right.webhook.signature) },
    auth: { ...right.auth, privateAuth: wrong(right.auth.privateAuth), presenceAuth: wrong(right.auth.presenceAuth) }
  }
  const { run } = await import("./suite.ts")
  const results = await run(fixture)
  if (process.env.RUNTIME_SUITE_VERBOSE) for (const r of results) say(`canary ${r.check}: ${r.detail}`)
  return results.filter((result) => result.ok && result.check !== "testing").map((result) => result.check)
}
const passedWrong = await canary()
say(
  passedWrong.length === 0
    ? `canary: all ${checks.length - 1} checks with a fixture failed a wrong one, as they must`
    : `canary: ${passedWrong.join(", ")} passed a wrong fixture`
)

// ===== all of them =====

const outcomes: Array<{ readonly runtime: Runtime; readonly results: ReadonlyArray<Result>; readonly time: string }> =
  []
for (const runtime of runtimes) {
  const since = performance.now()
  const results = await runOne(runtime)
  say(`${runtime.label}: ${results.filter((r) => r.ok).length} of ${results.length} passed in ${seconds(since)}`)
  outcomes.push({ runtime, results, time: seconds(since) })
}
await emulatorRuntime.dispose()

const cell = (results: ReadonlyArray<Result>, check: Check) => results.find((r) => r.check === check)
const mark = (result: Result | undefined) => (result?.skipped ? "–" : result?.ok ? "✔" : "✘")

const width = Math.max(...runtimes.map((r) => r.label.length))
say(`${"".padEnd(width)} | ${checks.join(" | ")} | install | run`)
for (const { runtime, results, time } of outcomes) {
  const cells = checks.map((check) => mark(cell(results, check)).padEnd(check.length))
  say(`${runtime.label.padEnd(width)} | ${cells.join(" | ")} | ${installTimes.get(runtime.id)} | ${time}`)
}
for (const { runtime, results } of outcomes) {
  for (const check of checks) {
    const result = cell(results, check)
    if (!result?.ok) say(`✘ ${runtime.label}, ${check}: ${result?.detail ?? "no result"}`)
  }
}

// ===== the README says the same =====

const readme = readFileSync(join(root, "README.md"), "utf8")
const { rows } = runtimesTable(readme)
const drift: Array<string> = []
for (const { runtime, results } of outcomes) {
  const expected = checks.map((check) => mark(cell(results, check)))
  const row = rows.get(runtime.label)
  if (JSON.stringify(row) !== JSON.stringify(expected)) {
    drift.push(`README row "${runtime.label}": ${JSON.stringify(row)}, the suite found ${JSON.stringify(expected)}`)
  }
}
for (const line of drift) say(line)

const all = outcomes.flatMap((o) => o.results)
const passed = all.filter((r) => r.ok && !r.skipped).length
const failed = all.filter((r) => !r.ok).length
say(`finished in ${seconds(started)}`)
console.log(`runtimes: ${passed} passed, ${failed} failed, ${all.length - passed - failed} skipped`)
process.exitCode = failed === 0 && drift.length === 0 && passedWrong.length === 0 ? 0 : 1
