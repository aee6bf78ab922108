/**
 * Where the servers of `test/sockudo/server.sh` listen (from the SOCKUDO_TEST_* variables it
 * sets), the apps of `config/node.toml`, and names unique to this run.
 */
import { randomBytes } from "node:crypto"
import path from "node:path"
import { fileURLToPath } from "node:url"

/** An app of the server's configuration. */
export interface App {
  readonly id: string
  readonly key: string
  readonly secret: string
}

/** The apps of `config/node.toml` (test-app is also the app of `ratelimit.toml` and `cluster.toml`). */
export const apps = {
  /** Every feature on, client events and user authentication on, webhooks to the suite, no limits. */
  test: { id: "test-app", key: "test-key", secret: "test-secret" },
  /** History, presence history and annotations off; no client events, no user authentication. */
  off: { id: "off-app", key: "off-key", secret: "off-secret" },
  /** Payload 4 KB, batch 3, channels per trigger 3, event name 20 bytes, channel name 40 bytes. */
  limits: { id: "limits-app", key: "limits-key", secret: "limits-secret" }
} as const satisfies Record<string, App>

/** The limits of `limits-app`, as configured. */
export const limitsAppLimits = {
  maxEventPayloadInKb: 4,
  maxEventBatchSize: 3,
  maxEventChannelsAtOnce: 3,
  maxEventNameLength: 20,
  maxChannelNameLength: 40
} as const

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set: run this suite with 'npm run test:sockudo' (test/sockudo/server.sh)`)
  }
  return value
}

/** The servers started for this run. */
export const servers = {
  version: process.env.SOCKUDO_TEST_VERSION ?? "5.0.1",
  host: process.env.SOCKUDO_TEST_HOST ?? "127.0.0.1",
  get port(): number {
    return Number(required("SOCKUDO_TEST_PORT"))
  },
  /** The port the node sends test-app's webhooks to; the suite listens there. */
  get webhookPort(): number {
    return Number(required("SOCKUDO_TEST_WEBHOOK_PORT"))
  },
  /** A node with the API rate limiter at 5 requests per 2 s. */
  get rateLimitPort(): number {
    return Number(required("SOCKUDO_TEST_RATELIMIT_PORT"))
  },
  /** A node whose memory cache holds only 200 entries (`config/smallcache.toml`). */
  get smallCachePort(): number {
    return Number(required("SOCKUDO_TEST_SMALLCACHE_PORT"))
  },
  /** The two cluster nodes, A then B. */
  get clusterPorts(): readonly [number, number] {
    const [a, b] = required("SOCKUDO_TEST_CLUSTER_PORTS").split(",").map(Number)
    return [a!, b!]
  }
}

/** Unique to this run of the suite, so that a server started by hand can serve several runs. */
export const runId = randomBytes(3).toString("hex")

let counter = 0
/** A channel (or user, or device) name unique to this run: `<base>-<run>-<n>`. */
export const unique = (base: string): string => `${base}-${runId}-${++counter}`

/** This run's results: the differential comparisons, the main node's webhooks (`globalSetup.ts`). */
export const resultsDir = (): string =>
  process.env.SOCKUDO_TEST_RESULTS ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.results")

/** Where the suite-wide receiver of `globalSetup.ts` writes the main node's webhooks. */
export const webhooksFile = (): string => path.join(resultsDir(), "webhooks.jsonl")
