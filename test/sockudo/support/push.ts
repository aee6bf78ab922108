/**
 * What the push scenarios share: devices that the server accepts but can never reach (WNS
 * channel URIs on a closed loopback port, so nothing leaves the host), a fresh push state for
 * each scenario (the server's push store is app-wide and outlives a run), and waiting for an
 * asynchronous publish to settle. The helpers here use an SDK of their own, whose exchanges are
 * not compared: only what a scenario does itself is.
 */
import { createServer } from "node:net"
import { beforeAll } from "vitest"
import type { Push } from "../../../src/index.ts"
import { apps } from "./env.ts"
import type { Peer, Session } from "./peers.ts"
import { makeSdk } from "./sdk.ts"

/** A loopback port nothing listens on (taken, then released, once per file). */
export const closedPort = async (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A closed loopback port for a file's devices, found before its scenarios run. */
export const useClosedPort = (): (() => number) => {
  let port = 0
  beforeAll(async () => {
    port = await closedPort()
  })
  return () => port
}

/** What a caller sees of a failure: its tag, status and server code. */
export const seen = (error: unknown) => {
  const e = error as { _tag: string; status?: number; code?: string }
  return { tag: e._tag, status: e.status, code: e.code }
}

/**
 * A Windows desktop device of the scenario, registered through WNS at `https://127.0.0.1:<port>/`,
 * which the server accepts (`PUSH_ALLOW_LOCAL_WEB_PUSH_ENDPOINTS=true`) and never delivers to.
 */
export const wnsDevice = (
  s: Session,
  port: number,
  base: string,
  extra: Partial<Push.DeviceRegistration> = {}
): Push.DeviceRegistration => ({
  id: s.name(base),
  formFactor: "desktop",
  platform: "windows",
  timezone: "Europe/Warsaw",
  locale: "pl-PL",
  push: { recipient: { transportType: "wns", channelUri: `https://127.0.0.1:${port}/wns/${s.name(base)}` } },
  ...extra
})

/** Registers {@link wnsDevice} as admin (a recorded exchange); the device and the registration. */
export const registerWns = async (
  s: Session,
  port: number,
  base: string,
  extra: Partial<Push.DeviceRegistration> = {}
): Promise<{ readonly device: Push.DeviceRegistration; readonly registration: Push.DeviceRegistrationResult }> => {
  const device = wnsDevice(s, port, base, extra)
  return { device, registration: await s.sdk.run((sdk) => sdk.push.devices.activate(device)) }
}

const unrecorded = <A>(peer: Peer, f: (sdk: ReturnType<typeof makeSdk>) => Promise<A>): Promise<A> => {
  const sdk = makeSdk(peer.baseUrl, apps.test)
  return f(sdk).finally(() => sdk.dispose())
}

/** Every item of a push list, page after page. */
const everything = async <A>(
  page: (cursor: string | undefined) => Promise<{ items: ReadonlyArray<A>; next_cursor: string | null }>
): Promise<Array<A>> => {
  const all: Array<A> = []
  let cursor: string | undefined
  do {
    const p = await page(cursor)
    all.push(...p.items)
    cursor = p.next_cursor ?? undefined
  } while (cursor !== undefined)
  return all
}

/**
 * Removes test-app's devices, channel subscriptions and templates, so that lists show only what
 * the scenario writes. (Credentials cannot be deleted: scenarios write them under fixed ids.)
 */
export const freshPushState = (peer: Peer): Promise<void> =>
  unrecorded(peer, async (sdk) => {
    const subscriptions = await everything((cursor) =>
      sdk.run((s) => s.push.subscriptions.list({ limit: 1000, cursor }))
    )
    for (const channel of new Set(subscriptions.map((x) => x.channel))) {
      await sdk.run((s) => s.push.subscriptions.delete({ channel }))
    }
    const devices = await everything((cursor) => sdk.run((s) => s.push.devices.list({ limit: 1000, cursor })))
    for (const device of devices) await sdk.run((s) => s.push.devices.delete(device.id))
    const templates = await everything((cursor) => sdk.run((s) => s.push.templates.list({ limit: 1000, cursor })))
    for (const template of templates) await sdk.run((s) => s.push.templates.delete(template.templateId))
  })

/** A publish status's counters, all zero. */
export const zeroCounters = {
  planned: 0,
  dispatched: 0,
  succeeded: 0,
  failed: 0,
  expired: 0,
  retryScheduled: 0,
  retryAttempted: 0,
  deadLettered: 0
}

/** The states a publish stays in. */
export const settled = (state: Push.PublishStatus["state"]): boolean =>
  !["queued", "planning", "throttled", "dispatching"].includes(state)

/**
 * Polls a publish's status (unrecorded) until `done` holds or `timeoutMs` passes; the scenario
 * then reads the status itself, once, for the comparison.
 */
export const waitForPublish = (
  peer: Peer,
  publishId: string,
  done: (status: Push.PublishStatus) => boolean = (status) => settled(status.state),
  timeoutMs = 10_000
): Promise<Push.PublishStatus> =>
  unrecorded(peer, async (sdk) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const status = await sdk.run((s) => s.push.status(publishId))
      if (done(status)) return status
      if (Date.now() > deadline) {
        throw new Error(`publish ${publishId} did not settle within ${timeoutMs} ms: ${JSON.stringify(status)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })
