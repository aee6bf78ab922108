/**
 * The webhook receiver of the end-to-end suite (`e2e/support.ts`: it answers every POST with
 * 200, so a server never retries into a later test, and keeps each body exactly as it arrived),
 * with the events of its deliveries and a wait on them.
 */
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
  readonly deliveries: Array<Delivery>
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
