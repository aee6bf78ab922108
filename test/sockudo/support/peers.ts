/**
 * The two peers every differential scenario runs against: the real Sockudo server started by
 * `server.sh`, and the emulator on a loopback port configured like `config/node.toml` (same
 * apps, features, limits and webhooks). A `Session` is one scenario's view of one peer: SDKs
 * that record every exchange, clients, the webhooks for the scenario's names.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { SockudoConfig } from "../../../src/index.ts"
import { Emulator } from "../../../src/testing/index.ts"
import * as EmulatorNode from "../../../src/testing/Node.ts"
import { connectEmulated, connectRaw, type PeerClient, type TokenIdentity } from "./clients.ts"
import { type App, apps, limitsAppLimits, runId, servers, webhooksFile } from "./env.ts"
import { type Exchange, makeSdk, type Recorder, type Sdk } from "./sdk.ts"
import { type DeliveredEvent, followFile, type Receiver, startReceiver } from "./webhooks.ts"

export type PeerKind = "sockudo" | "emulator"

export interface ConnectOptions {
  /** Protocol V1 (the default) or Sockudo's V2. */
  readonly protocol?: 1 | 2 | undefined
  /** A V2 connection with a capability token of this identity. */
  readonly token?: TokenIdentity | undefined
}

export interface Peer {
  readonly kind: PeerKind
  /** For test titles: "Sockudo 5.0.1" or "the emulator". */
  readonly label: string
  readonly host: string
  readonly port: number
  readonly baseUrl: string
  /** Where this peer's test-app webhooks arrive. */
  readonly receiver: Receiver
  readonly connect: (app: App, options?: ConnectOptions) => Promise<PeerClient>
  /** The emulator's runtime (faults, request log), on the emulator peer only. */
  readonly emulator?: ManagedRuntime.ManagedRuntime<Emulator.Emulator | Emulator.EmulatorServer, unknown> | undefined
  readonly close: () => Promise<void>
}

/** The webhook event types of test-app in `config/node.toml`. */
export const webhookEventTypes = [
  "channel_occupied",
  "channel_vacated",
  "subscription_count",
  "member_added",
  "member_removed",
  "member_updated",
  "client_event",
  "cache_miss",
  "message_version_created",
  "annotation_created",
  "annotation_deleted"
]

/** The emulator's options for the apps of `config/node.toml`. */
export const emulatorOptions = (webhookUrl: string): Emulator.Options => ({
  features: { history: true, presenceHistory: true, versionedMessages: true, annotations: true, push: true },
  // node.toml enables the WNS worker only (`wns_enabled`, with PUSH_WNS_PROVIDER_TOKEN from server.sh).
  pushProviders: ["wns"],
  idempotency: { enabled: true, ttl: "120 seconds", maxKeyLength: 128 },
  channelListCacheTtl: "2 seconds",
  // node.toml's `cache.memory.ttl` (120 s), which replaces every cache entry's own TTL.
  memoryCacheTtl: "120 seconds",
  apps: [
    {
      ...apps.test,
      features: { userAuthentication: true },
      clientMessages: true,
      webhooks: [{ url: webhookUrl, eventTypes: webhookEventTypes }]
    },
    {
      ...apps.off,
      features: { history: false, presenceHistory: false, userAuthentication: false },
      annotationsEnabled: false,
      clientMessages: false
    },
    { ...apps.limits, limits: limitsAppLimits }
  ]
})

/** The node of `config/node.toml`, or another node of `server.sh` on `port`. */
export const sockudoPeer = async (port = servers.port): Promise<Peer> => {
  // Only the main node sends webhooks, to a port the suite-wide receiver of globalSetup.ts holds
  // for the whole run; another node's peer gets a receiver of its own.
  const receiver = port === servers.port ? followFile(servers.webhookPort, webhooksFile()) : await startReceiver(0)
  const { host } = servers
  return {
    kind: "sockudo",
    label: `Sockudo ${servers.version}`,
    host,
    port,
    baseUrl: `http://${host}:${port}`,
    receiver,
    connect: (app, options = {}) =>
      connectRaw({
        host,
        port,
        key: app.key,
        protocol: options.protocol,
        token: options.token === undefined ? undefined : { ...options.token, secret: app.secret }
      }),
    close: () => receiver.close()
  }
}

export const emulatorPeer = async (
  options: (webhookUrl: string) => Emulator.Options = emulatorOptions
): Promise<Peer> => {
  const receiver = await startReceiver()
  const runtime = ManagedRuntime.make(
    EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer(options(receiver.url))))
  )
  const server = await runtime.runPromise(Effect.service(Emulator.EmulatorServer))
  return {
    kind: "emulator",
    label: "the emulator",
    host: "127.0.0.1",
    port: server.port,
    baseUrl: server.baseUrl,
    receiver,
    emulator: runtime,
    connect: (app, options = {}) =>
      connectEmulated(runtime, {
        app: app.id,
        protocol: options.token === undefined ? (options.protocol ?? 1) : 2,
        token: options.token
      }),
    close: async () => {
      await runtime.dispose()
      await receiver.close()
    }
  }
}

/** One scenario's view of one peer. */
export interface Session {
  readonly peer: Peer
  /** The SDK for test-app. */
  readonly sdk: Sdk
  /** The SDK for another app, or with other settings; its exchanges are recorded too. */
  readonly sdkFor: (app: App, settings?: SockudoConfig.Settings) => Sdk
  /** A name unique to this run and scenario, the same on both peers: `<base>-<run><n>`. */
  readonly name: (base: string) => string
  /** A client of test-app (or `app`); Protocol V1 unless `protocol` is 2 or a `token` is given. */
  readonly connect: (options?: ConnectOptions & { readonly app?: App }) => Promise<PeerClient>
  /** Every exchange of this scenario's SDKs so far. */
  readonly exchanges: () => ReadonlyArray<Exchange>
  /** The webhook events received so far that concern this scenario's names. */
  readonly webhooks: () => Array<DeliveredEvent>
  readonly waitForWebhooks: (
    what: string,
    check: (events: ReadonlyArray<DeliveredEvent>) => boolean,
    timeoutMs?: number
  ) => Promise<void>
}

/** What a session records for the comparison. */
export interface SessionRecord {
  readonly recorder: Recorder
  readonly names: Map<string, string>
  readonly clients: Array<PeerClient>
  readonly sdks: Array<Sdk>
}

export const openSession = (peer: Peer, scenario: number): { session: Session; record: SessionRecord } => {
  const record: SessionRecord = { recorder: { exchanges: [] }, names: new Map(), clients: [], sdks: [] }
  const sdkFor = (app: App, settings?: SockudoConfig.Settings) => {
    const sdk = makeSdk(peer.baseUrl, app, record.recorder, settings)
    record.sdks.push(sdk)
    return sdk
  }
  const name = (base: string) => {
    let actual = record.names.get(base)
    if (actual === undefined) {
      actual = `${base}-${runId}${scenario}`
      record.names.set(base, actual)
    }
    return actual
  }
  const concerns = (event: DeliveredEvent) => {
    const channel = String(event.channel ?? "")
    for (const actual of record.names.values()) if (channel.includes(actual)) return true
    return false
  }
  const webhooks = () => peer.receiver.events().filter(concerns)
  const session: Session = {
    peer,
    sdk: sdkFor(apps.test),
    sdkFor,
    name,
    connect: async (options = {}) => {
      const client = await peer.connect(options.app ?? apps.test, options)
      record.clients.push(client)
      return client
    },
    exchanges: () => record.recorder.exchanges,
    webhooks,
    waitForWebhooks: (what, check, timeoutMs = 10_000) =>
      peer.receiver.waitFor(what, () => check(webhooks()), timeoutMs)
  }
  return { session, record }
}

/** Disconnects a session's clients and disposes of its SDKs. */
export const closeSession = async (record: SessionRecord): Promise<void> => {
  await Promise.all(record.clients.map((c) => c.disconnect().catch(() => undefined)))
  await Promise.all(record.sdks.map((s) => s.dispose()))
}
