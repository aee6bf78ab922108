/**
 * The HTTP sink of the publish benchmark: a keep-alive node:http server on 127.0.0.1 that reads
 * every request body and answers `200 {"ok":true}` to `POST /apps/<id>/events` (`{}` to
 * `POST /apps/<id>/batch_events`, counting each of its events as one publish).
 *
 * A second listener answers the same way with `Connection: close`, as Sockudo answers every API
 * request, so the benchmark can price that header alone.
 *
 * Run as a child process of `bench/publish.ts` (`child_process.fork`). Protocol over IPC:
 * - sink -> parent `{ type: "ready", port, closePort }` once both listen;
 * - parent -> sink `{ type: "stats" }`, answered with `{ type: "stats", ...Stats, cpuMicros }`
 *   (the sink's own CPU since the previous call) and the counters reset, so the parent gets
 *   per-contender counts.
 * The sink exits when the parent disconnects (parent exit or `child.disconnect()`).
 *
 * Every request's `body_md5` is checked against the body (cheap); the HMAC signature, the
 * timestamp and the JSON body are checked on every 16th request, so a contender that signs wrongly
 * shows up in `bad` without the sink spending much of its core on verification.
 */
import { createHash, createHmac } from "node:crypto"
import * as http from "node:http"

const SECRET = process.env.BENCH_SINK_SECRET ?? "app-secret"
const KEY = process.env.BENCH_SINK_KEY ?? "app-key"
const SIGNATURE_SAMPLE = 16

interface Stats {
  requests: number
  ok: number
  bad: number
  signaturesChecked: number
  connections: number
  firstBad: string | undefined
}

const fresh = (): Stats => ({ requests: 0, ok: 0, bad: 0, signaturesChecked: 0, connections: 0, firstBad: undefined })
let stats = fresh()
let cpuSince = process.cpuUsage()

const OK_BODY = Buffer.from('{"ok":true}')
const OK_HEADERS = { "content-type": "application/json", "content-length": String(OK_BODY.length) }
const OK_CLOSE_HEADERS = { ...OK_HEADERS, connection: "close" }
const EVENTS_PATH = /^\/apps\/[^/]+\/(events|batch_events)$/
const BATCH_OK_BODY = Buffer.from("{}")

const reject = (res: http.ServerResponse, status: number, reason: string) => {
  stats.bad++
  stats.firstBad ??= reason
  const body = JSON.stringify({ error: reason })
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

/** The query string the server signs: every param but auth_signature, keys lower-cased and sorted. */
const stringToSign = (method: string, path: string, params: URLSearchParams): string => {
  const entries: Array<[string, string]> = []
  for (const [k, v] of params) if (k !== "auth_signature") entries.push([k.toLowerCase(), v])
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return `${method}\n${path}\n${entries.map(([k, v]) => `${k}=${v}`).join("&")}`
}

const verifySignature = (method: string, path: string, params: URLSearchParams, body: Buffer): string | undefined => {
  if (params.get("auth_key") !== KEY) return "wrong auth_key"
  if (params.get("auth_version") !== "1.0") return "wrong auth_version"
  const timestamp = Number(params.get("auth_timestamp"))
  if (!Number.isSafeInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 600) return "bad auth_timestamp"
  const expected = createHmac("sha256", SECRET)
    .update(stringToSign(method, path, params))
    .digest("hex")
  if (params.get("auth_signature") !== expected) return "bad auth_signature"
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString("utf8"))
  } catch {
    return "body is not JSON"
  }
  const batch = (parsed as { batch?: unknown }).batch
  for (const event of Array.isArray(batch) ? batch : [parsed]) {
    const reason = unexpectedEvent(event)
    if (reason !== undefined) return reason
  }
  return undefined
}

/** One event as the benchmark publishes it: `order.created` on `orders`, data `{"id":1}`. */
const unexpectedEvent = (parsed: unknown): string | undefined => {
  const event = parsed as { name?: unknown; channel?: unknown; channels?: unknown; data?: unknown }
  const channel = Array.isArray(event.channels) ? event.channels[0] : event.channel
  if (event.name !== "order.created" || channel !== "orders") return "unexpected event body"
  if (event.data !== '{"id":1}') return "unexpected event data"
  return undefined
}

/** How many events a request body carries: the items of a batch, else one. */
const eventsIn = (path: string, body: Buffer): number => {
  if (!path.endsWith("/batch_events")) return 1
  const batch = (JSON.parse(body.toString("utf8")) as { batch?: unknown }).batch
  return Array.isArray(batch) ? batch.length : 0
}

const handler = (okHeaders: http.OutgoingHttpHeaders) => (req: http.IncomingMessage, res: http.ServerResponse) => {
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    stats.requests++
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q === -1 ? url : url.slice(0, q)
    if (req.method !== "POST" || !EVENTS_PATH.test(path)) return reject(res, 404, `unexpected ${req.method} ${path}`)
    const params = new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
    if (params.get("body_md5") !== createHash("md5").update(body).digest("hex")) {
      return reject(res, 401, "body_md5 does not match the body")
    }
    if (stats.requests % SIGNATURE_SAMPLE === 1) {
      stats.signaturesChecked++
      const reason = verifySignature("POST", path, params, body)
      if (reason !== undefined) return reject(res, 401, reason)
    }
    const batched = path.endsWith("/batch_events")
    stats.ok += eventsIn(path, body)
    res.writeHead(200, batched ? { ...okHeaders, "content-length": String(BATCH_OK_BODY.length) } : okHeaders)
    res.end(batched ? BATCH_OK_BODY : OK_BODY)
  })
}

const listen = (okHeaders: http.OutgoingHttpHeaders): Promise<number> => {
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, handler(okHeaders))
  server.keepAliveTimeout = 60_000
  server.headersTimeout = 65_000
  server.on("connection", () => {
    stats.connections++
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  )
}

process.on("message", (message: { type?: string }) => {
  if (message?.type === "stats") {
    const snapshot = stats
    const cpu = process.cpuUsage(cpuSince)
    stats = fresh()
    cpuSince = process.cpuUsage()
    process.send?.({ type: "stats", ...snapshot, cpuMicros: cpu.user + cpu.system })
  }
})
// Bounded: the sink never outlives the benchmark.
process.on("disconnect", () => process.exit(0))
if (process.send === undefined) {
  console.error("bench/sink.ts must be started by bench/publish.ts (it needs an IPC channel)")
  process.exit(1)
}

Promise.all([listen(OK_HEADERS), listen(OK_CLOSE_HEADERS)]).then(([port, closePort]) =>
  process.send?.({ type: "ready", port, closePort })
)
