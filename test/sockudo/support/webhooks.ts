/**
 * Webhook receivers: the end-to-end suite's (`e2e/support.ts`: it answers every POST with 200,
 * so a server never retries into a later test, and keeps each body exactly as it arrived), with
 * the events of its deliveries and a wait on them; and one that follows the deliveries the
 * suite-wide receiver of `globalSetup.ts` writes to a file, for the node whose webhooks go to one
 * fixed port for the whole run.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs"
import type { IncomingHttpHeaders } from "node:http"
import { type Delivery, startWebhookReceiver } from "../../../e2e/support.ts"
import { waitUntil } from "./clients.ts"

export type { Delivery }

/** One event of a delivery's body. */
export interface DeliveredEvent {
  readonly name: string
  readonly channel?: string
  readonly [field: string]: unknown
}

export interface Receiver {
  readonly port: number
  readonly url: string
  readonly deliveries: ReadonlyArray<Delivery>
  /** The events of every delivery so far, in arrival order. */
  readonly events: () => Array<DeliveredEvent>
  /** Waits until `check` holds for the events received; fails after `timeoutMs`. */
  readonly waitFor: (
    what: string,
    check: (events: ReadonlyArray<DeliveredEvent>) => boolean,
    timeoutMs?: number
  ) => Promise<void>
  readonly close: () => Promise<void>
}

/**
 * Sockudo 5.0.1 sometimes sends a channel's `channel_vacated` twice when its last connections leave
 * within a few milliseconds (its delayed check runs once per leaving connection): the same vacancy
 * counts once.
 */
export const onceVacated = <A>(events: ReadonlyArray<A>): Array<A> => {
  const seen = new Set<string>()
  return events.filter((e) => {
    if ((e as { name?: unknown }).name !== "channel_vacated") return true
    // The channel is what identifies a vacancy (the decoded copies need not list their fields alike).
    const key = String((e as { channel?: unknown }).channel)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export const eventsOf = (delivery: Delivery): Array<DeliveredEvent> =>
  (JSON.parse(Buffer.from(delivery.body).toString("utf8")) as { events: Array<DeliveredEvent> }).events

/** Listens on 127.0.0.1:`port` (0: any free port). */
export const startReceiver = async (port = 0): Promise<Receiver> => {
  const receiver = await startWebhookReceiver(port)
  const events = () => receiver.deliveries.flatMap(eventsOf)
  return {
    port: receiver.port,
    url: `http://127.0.0.1:${receiver.port}/webhooks`,
    deliveries: receiver.deliveries,
    events,
    waitFor: (what, check, timeoutMs = 10_000) => waitUntil(what, () => check(events()), timeoutMs),
    close: receiver.close
  }
}

interface Line {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly receivedAt: number
}

/**
 * A receiver on `port` for the whole run, which appends each delivery to `file` as a JSON line:
 * a server never finds the port closed between test files, so it never has to retry (its retries
 * wait up to a minute, and hold back the deliveries queued behind them).
 */
export const recordToFile = async (port: number, file: string): Promise<{ readonly close: () => Promise<void> }> => {
  writeFileSync(file, "")
  const receiver = await startWebhookReceiver(port)
  const timer = setInterval(() => {
    const fresh = receiver.deliveries.splice(0)
    for (const d of fresh) {
      const line: Line = { headers: d.headers, body: Buffer.from(d.body).toString("base64"), receivedAt: d.receivedAt }
      appendFileSync(file, `${JSON.stringify(line)}\n`)
    }
  }, 5)
  return {
    close: async () => {
      clearInterval(timer)
      await receiver.close()
    }
  }
}

/** A receiver that reads the deliveries {@link recordToFile} writes; `port` is where they arrive. */
export const followFile = (port: number, file: string): Receiver => {
  const deliveries: Array<Delivery> = []
  let read = 0
  const refresh = () => {
    const text = readFileSync(file, "utf8")
    const complete = text.lastIndexOf("\n") + 1
    for (const line of text.slice(read, complete).split("\n")) {
      if (line === "") continue
      const parsed = JSON.parse(line) as Line
      deliveries.push({
        headers: parsed.headers,
        body: new Uint8Array(Buffer.from(parsed.body, "base64")),
        receivedAt: parsed.receivedAt
      })
    }
    read = complete
    return deliveries
  }
  const events = () => refresh().flatMap(eventsOf)
  return {
    port,
    url: `http://127.0.0.1:${port}/webhooks`,
    get deliveries() {
      return refresh()
    },
    events,
    waitFor: (what, check, timeoutMs = 10_000) => waitUntil(what, () => check(events()), timeoutMs),
    close: async () => undefined
  }
}
