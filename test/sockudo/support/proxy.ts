/**
 * A TCP proxy in front of a server that injects faults, one per connection, drawn from a seeded
 * random source. Sockudo answers every API request with `Connection: close` and then closes, so
 * one connection carries one request and the server's end of stream marks a complete answer.
 */
import { createHash } from "node:crypto"
import * as net from "node:net"

/**
 * - `dropBefore`: the client's connection is closed once it sent its request; the server never sees it.
 * - `dropAfter`: the request is forwarded and answered; the answer is dropped with the connection.
 * - `delay`: the request is forwarded and answered; the answer is held for `delayMs` (past the
 *   client's timeout) and forwarded only if the client is still there.
 * - `dropDuring`: the whole request is forwarded, then both connections are closed `cutAfterMs`
 *   later (2 ms unless given), while the server is handling it (as when a client gives up
 *   mid-request).
 */
export type Fault = "dropBefore" | "dropAfter" | "delay" | "dropDuring"

export interface ProxyOptions {
  readonly target: { readonly host: string; readonly port: number }
  /** The probability of each fault per connection (none when absent); together at most 1. */
  readonly rates: Readonly<Partial<Record<Fault, number>>>
  readonly delayMs: number
  /**
   * When `dropDuring` cuts, in ms after the request is out, taken in turn per cut (default `[2]`):
   * a spread samples the whole time the server takes, however fast it is.
   */
  readonly cutAfterMs?: ReadonlyArray<number> | undefined
  /** The same seed draws the same sequence of faults (in connection order). */
  readonly seed: string
}

export interface FaultCounts {
  readonly connections: number
  readonly dropBefore: number
  readonly dropAfter: number
  readonly delay: number
  readonly dropDuring: number
  /** Delayed answers the client had given up on before they were due (so it never got them). */
  readonly delayedPastClient: number
}

export interface FaultProxy {
  readonly port: number
  readonly url: string
  readonly counts: () => FaultCounts
  readonly close: () => Promise<void>
}

const faults: ReadonlyArray<Fault> = ["dropBefore", "dropAfter", "delay", "dropDuring"]

/** The length of the HTTP request at the start of `bytes`, once its head and body are all there. */
const requestLength = (bytes: Buffer): number | undefined => {
  const head = bytes.indexOf("\r\n\r\n")
  if (head < 0) return undefined
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.subarray(0, head).toString("latin1"))
  const total = head + 4 + Number(length?.[1] ?? 0)
  return bytes.length >= total ? total : undefined
}

/** mulberry32: a small seeded generator of floats in [0, 1). */
const seededRandom = (seed: string): (() => number) => {
  let state = createHash("sha256").update(seed).digest().readUInt32LE(0)
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const startFaultProxy = async (options: ProxyOptions): Promise<FaultProxy> => {
  const random = seededRandom(options.seed)
  const cutAfterMs = options.cutAfterMs ?? [2]
  const counts = { connections: 0, dropBefore: 0, dropAfter: 0, delay: 0, dropDuring: 0, delayedPastClient: 0 }
  const sockets = new Set<net.Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const draw = (): Fault | undefined => {
    let u = random()
    for (const fault of faults) {
      const rate = options.rates[fault] ?? 0
      if (u < rate) return fault
      u -= rate
    }
    return undefined
  }
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => socket.destroy())
  }

  const handle = (client: net.Socket) => {
    track(client)
    counts.connections++
    const fault = draw()
    if (fault !== undefined) counts[fault]++
    if (fault === "dropBefore") {
      client.once("data", () => client.destroy())
      return
    }
    const server = net.connect(options.target.port, options.target.host)
    track(server)
    if (fault === "dropDuring") {
      const cutAfter = cutAfterMs[(counts.dropDuring - 1) % cutAfterMs.length]!
      let request = Buffer.alloc(0)
      client.on("data", (chunk: Buffer) => {
        request = Buffer.concat([request, chunk])
        if (requestLength(request) === undefined) return
        // A moment after the request is out, so that the server has started on it.
        server.write(request, () =>
          setTimeout(() => {
            server.destroy()
            client.destroy()
          }, cutAfter)
        )
      })
      return
    }
    client.pipe(server)
    client.on("close", () => server.destroy())
    if (fault === undefined) {
      server.pipe(client)
      server.on("close", () => client.destroy())
      return
    }
    const answer: Array<Buffer> = []
    server.on("data", (chunk: Buffer) => answer.push(chunk))
    server.on("end", () => {
      if (fault === "dropAfter") {
        client.destroy()
        return
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (client.destroyed) counts.delayedPastClient++
        else client.end(Buffer.concat(answer))
      }, options.delayMs)
      timers.add(timer)
    })
  }

  const listener = net.createServer(handle)
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve))
  const port = (listener.address() as net.AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer)
        for (const socket of sockets) socket.destroy()
        listener.close(() => resolve())
      })
  }
}
