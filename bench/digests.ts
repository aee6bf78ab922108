/**
 * `node bench/digests.ts` (the first part of `npm run bench`): what signing and verifying cost
 * with each digest implementation, in CPU ns per operation.
 *
 * - the SDK's synchronous operations (channel auth, user sign-in, a request signature, webhook
 *   verification, a body MD5), run once with the digests Node gets (`node:crypto`) and once in a
 *   child process that sees no `node:crypto` (`process.getBuiltinModule` hides it, as on
 *   Workers without `nodejs_compat`), so the SDK uses its portable digests (`@noble/hashes`, and its
 *   own prepared HMAC-SHA256);
 * - the digest primitives of `src/internal/Digest.ts`, both implementations side by side.
 *
 * Each row is the median of `--rounds` (default 5) timed runs of about `--duration` seconds
 * (default 0.2) each, after a warm-up. `--json` prints the rows as JSON.
 */
import { fork } from "node:child_process"
import * as NodeCrypto from "node:crypto"
import { fileURLToPath } from "node:url"

const argv = process.argv.slice(2)
const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const child = flag("child")
const rounds = Number(flag("rounds") ?? 5)
const seconds = Number(flag("duration") ?? 0.2)
const json = argv.includes("--json")

if (child === "portable") {
  const original = process.getBuiltinModule.bind(process)
  process.getBuiltinModule = ((id: string) =>
    id === "node:crypto" || id === "crypto" ? undefined : original(id)) as typeof process.getBuiltinModule
}

interface Row {
  readonly section: string
  readonly name: string
  readonly digests: string
  readonly nsPerOp: number
}

/** CPU ns per call of `op`: the median of the rounds. */
const measure = (op: () => unknown): number => {
  const timed = (n: number) => {
    const start = process.cpuUsage()
    for (let i = 0; i < n; i++) op()
    const used = process.cpuUsage(start)
    return ((used.user + used.system) * 1000) / n
  }
  let n = 1000
  while (timed(n) * n < 50e6) n *= 2 // warm up to ~50 ms a run
  n = Math.max(1000, Math.round((seconds * 1e9) / timed(n)))
  const samples = Array.from({ length: rounds }, () => timed(n)).sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]!
}

const SECRET = "7ad3773142a6692b25b8"
const publishBody = '{"name":"order.created","channels":["orders"],"data":"{\\"id\\":1}"}'
const largeBody = JSON.stringify({ name: "e", channels: ["c"], data: JSON.stringify({ items: "x".repeat(10_000) }) })
const webhookBody = JSON.stringify({
  time_ms: 1_700_000_000_000,
  events: [
    { name: "channel_occupied", channel: "presence-room" },
    { name: "member_added", channel: "presence-room", user_id: "user-1" }
  ]
})

/** The SDK's operations, with whatever digests this process has. */
const sdkRows = async (): Promise<ReadonlyArray<Row>> => {
  const { Signer, Webhook } = await import("../src/index.ts")
  const { digest } = await import("../src/internal/Digest.ts")
  const { Redacted } = await import("effect")
  const signer = Signer.makeUnsafe("278d425bdf160c739803", Redacted.make(SECRET))
  const credentials = { key: "278d425bdf160c739803", secret: Redacted.make(SECRET) }
  const headers = { "x-pusher-key": credentials.key, "x-pusher-signature": signer.signWebhook(webhookBody) }
  const verifier = Webhook.makeVerifier(credentials)
  const md5 = Signer.md5Hex(publishBody)
  const channelData = JSON.stringify({ user_id: "user-1", user_info: { name: "Ada" } })
  const ops: ReadonlyArray<readonly [string, () => unknown]> = [
    ["channel auth (private-)", () => signer.authorizeChannel("1234.1234", "private-orders")],
    [
      "channel auth (presence-, channel data)",
      () => signer.authorizeChannel("1234.1234", "presence-room", channelData)
    ],
    ["user sign-in", () => signer.authenticateUser("1234.1234", '{"id":"user-1"}')],
    ["request signature (POST /events)", () => signer.signQuery("POST", "/apps/3/events", [], md5, 1_700_000_000)],
    ["webhook verify (2 events, verifier prepared once)", () => verifier({ headers, body: webhookBody }, 0)],
    ["body MD5 (64 B publish)", () => Signer.md5Hex(publishBody)],
    ["body MD5 (10 KB publish)", () => Signer.md5Hex(largeBody)]
  ]
  return ops.map(([name, op]) => ({ section: "sdk", name, digests: digest.name, nsPerOp: measure(op) }))
}

/** The primitives, both implementations in this process. */
const primitiveRows = async (): Promise<ReadonlyArray<Row>> => {
  const Digest = await import("../src/internal/Digest.ts")
  const rows: Array<Row> = []
  for (const d of [Digest.node(NodeCrypto), Digest.portable]) {
    const sign = d.preparedHmacSha256Hex(SECRET)
    const ops: ReadonlyArray<readonly [string, () => unknown]> = [
      ["HMAC-SHA256, key prepared (25 B)", () => sign("1234.1234:private-orders")],
      ["HMAC-SHA256, one-shot (webhook body)", () => d.hmacSha256Hex(SECRET, webhookBody)],
      ["MD5 (64 B)", () => d.md5Hex(publishBody)],
      ["SHA-256 (channel + 32 B key)", () => d.sha256("private-encrypted-room0123456789abcdef0123456789abcdef")]
    ]
    for (const [name, op] of ops) rows.push({ section: "primitive", name, digests: d.name, nsPerOp: measure(op) })
  }
  return rows
}

const portableRows = (): Promise<ReadonlyArray<Row>> =>
  new Promise((resolve, reject) => {
    const worker = fork(fileURLToPath(import.meta.url), ["--child=portable", ...argv.filter((a) => a !== "--json")], {
      stdio: ["inherit", "inherit", "inherit", "ipc"]
    })
    worker.once("message", (rows) => resolve(rows as ReadonlyArray<Row>))
    worker.once("error", reject)
    worker.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`the portable run exited with ${code}`))))
  })

const table = (rows: ReadonlyArray<Row>, names: ReadonlyArray<string>, caption: string) => {
  const lines = [
    caption,
    "",
    "| operation | node:crypto ns/op | portable ns/op | portable / node |",
    "|:--|--:|--:|--:|"
  ]
  for (const name of names) {
    const node = rows.find((r) => r.name === name && r.digests === "node")!
    const portable = rows.find((r) => r.name === name && r.digests === "portable")!
    lines.push(
      `| ${name} | ${Math.round(node.nsPerOp).toLocaleString("en-US")} | ${Math.round(portable.nsPerOp).toLocaleString("en-US")} | ${(portable.nsPerOp / node.nsPerOp).toFixed(2)}x |`
    )
  }
  return lines.join("\n")
}

const main = async () => {
  if (child !== undefined) {
    process.send!(await sdkRows())
    return
  }
  const sdk = [...(await sdkRows()), ...(await portableRows())]
  const primitives = await primitiveRows()
  const rows = [...sdk, ...primitives]
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    return
  }
  const namesOf = (section: string) => [...new Set(rows.filter((r) => r.section === section).map((r) => r.name))]
  process.stdout.write(
    `${table(sdk, namesOf("sdk"), `SDK operations, CPU ns per operation (median of ${rounds} rounds; Node ${process.version}):`)}\n\n` +
      `${table(primitives, namesOf("primitive"), "Digest primitives (src/internal/Digest.ts):")}\n\n`
  )
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
