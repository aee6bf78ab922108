/**
 * A fake `AppHandle` that records broadcasts and webhooks, and a dispatcher that drives stores
 * through their routes the way the HTTP front would (path matching, decoded params and query).
 */
import type {
  ApiResponse,
  AppHandle,
  Features,
  Limits,
  PresenceChange,
  PublishedEvent,
  PublishReceipt,
  Store
} from "../../../../src/testing/emulator/Api.ts"

export const T0 = 1_700_000_000_000

export interface Broadcast {
  readonly channel: string
  readonly event: string
  readonly data: string
  readonly extras?: Readonly<Record<string, unknown>> | undefined
  readonly exceptSocketId?: string | undefined
}

export interface FakeApp {
  readonly app: AppHandle
  readonly broadcasts: Array<Broadcast>
  /** The `frame` option of each broadcast that gave one. */
  readonly frames: Array<{ readonly event: string; readonly frame: Readonly<Record<string, unknown>> }>
  readonly webhooks: Array<Readonly<Record<string, unknown>>>
  /** Opens a simulated connection, optionally signed in as `userId`. */
  readonly connect: (socketId: string, userId?: string) => void
}

export const allFeatures: Features = {
  history: true,
  presenceHistory: true,
  versionedMessages: true,
  annotations: true,
  push: true,
  userAuthentication: true
}

export const fakeApp = (
  options: { readonly features?: Partial<Features>; readonly limits?: Partial<Limits>; readonly appId?: string } = {}
): FakeApp => {
  const broadcasts: Array<Broadcast> = []
  const frames: FakeApp["frames"] = []
  const webhooks: Array<Readonly<Record<string, unknown>>> = []
  const sockets = new Map<string, string | undefined>()
  const app: AppHandle = {
    appId: options.appId ?? "app-id",
    features: { ...allFeatures, ...options.features },
    limits: { maxChannelNameLength: 200, maxEventNameLength: 200, maxHistoryPageSize: 100, ...options.limits },
    broadcast: (channel, event, data, extra) => {
      const text = typeof data === "string" ? data : JSON.stringify(data)
      broadcasts.push({ channel, event, data: text, extras: extra?.extras, exceptSocketId: extra?.exceptSocketId })
      if (extra?.frame !== undefined) frames.push({ event, frame: extra.frame })
    },
    webhook: (event) => {
      webhooks.push(event)
    },
    isConnected: (socketId) => sockets.has(socketId),
    userOf: (socketId) => sockets.get(socketId)
  }
  return { app, broadcasts, frames, webhooks, connect: (socketId, userId) => sockets.set(socketId, userId) }
}

/** Deterministic ids: `<prefix>-1`, `<prefix>-2`, ... */
export const counterIds = (prefix = "id"): (() => string) => {
  let n = 0
  return () => `${prefix}-${++n}`
}

const matchRoute = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split("/")
  const got = path.split("/")
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!
    const g = got[i]!
    if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(g)
    else if (w !== g) return undefined
  }
  return params
}

export interface CallOptions {
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  readonly nowMs?: number
}

/** Sends one request to the first matching route of `stores`; throws when none matches. */
export const call = (
  stores: ReadonlyArray<Store>,
  app: AppHandle,
  method: "GET" | "POST" | "DELETE",
  target: string,
  options: CallOptions = {}
): ApiResponse => {
  const url = new URL(`http://emulator${target}`)
  for (const store of stores) {
    for (const route of store.routes) {
      if (route.method !== method) continue
      const params = matchRoute(route.path, url.pathname)
      if (params === undefined) continue
      return route.handle(
        {
          method,
          params,
          query: Object.fromEntries(url.searchParams),
          queryPairs: [...url.searchParams],
          headers: options.headers ?? {},
          body: options.body,
          nowMs: options.nowMs ?? T0
        },
        app
      )
    }
  }
  throw new Error(`no route for ${method} ${url.pathname}`)
}

/** The JSON body of a response (throws for text answers). */
export const body = (response: ApiResponse): any => {
  if (!("json" in response)) throw new Error(`expected JSON, got text ${response.text}`)
  return response.json
}

/** Calls the publish hooks of `stores` for one channel, like the front does after accepting a publish. */
export const publish = (
  stores: ReadonlyArray<Store>,
  app: AppHandle,
  event: Partial<PublishedEvent> & { readonly channel: string }
): PublishReceipt | ApiResponse => {
  let result: PublishReceipt | ApiResponse = {}
  for (const store of stores) {
    if (store.onPublish === undefined) continue
    result = store.onPublish({ name: "evt", data: "{}", publishedAtMs: T0, ...event }, app)
  }
  return result
}

/** Publishes and returns the receipt, failing the test on an error response. */
export const publishOk = (
  stores: ReadonlyArray<Store>,
  app: AppHandle,
  event: Partial<PublishedEvent> & { readonly channel: string }
): PublishReceipt => {
  const result = publish(stores, app, event)
  if ("status" in result) throw new Error(`publish failed: ${JSON.stringify(result)}`)
  return result
}

/** Feeds a presence change to every store. */
export const presence = (
  stores: ReadonlyArray<Store>,
  app: AppHandle,
  change: Partial<PresenceChange> & Pick<PresenceChange, "channel" | "event" | "userId">
): void => {
  for (const store of stores) {
    store.onPresence?.({ socketId: "1.1", cause: "join", atMs: T0, ...change }, app)
  }
}
