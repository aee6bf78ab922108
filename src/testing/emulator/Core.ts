/**
 * The core routes (server reference, section 3): publishing, channel state, users and
 * revocations, answering from the simulated connections of the app.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { type ApiRequest, type ApiResponse, apiError, badBodyShape, badQuery, ok } from "./Api.ts"
import type { AppRuntime, MountedRoute } from "./App.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import * as Names from "./Names.ts"
import * as Publish from "./Publish.ts"

const invalid = (message: string) => apiError(400, "invalid_input", message)

/** A repeated key of a typed query struct is a plain-text 400, as the server's extractor answers. */
const duplicateField = (request: ApiRequest, fields: ReadonlyArray<string>): ApiResponse | undefined => {
  const seen = new Set<string>()
  for (const [key] of request.queryPairs ?? []) {
    if (!fields.includes(key)) continue
    if (seen.has(key)) return badQuery(`duplicate field \`${key}\``)
    seen.add(key)
  }
  return undefined
}

const infoTokens = (info: string | undefined): ReadonlyArray<string> =>
  info === undefined ? [] : info.split(",").map((t) => t.trim())

const channelError = (app: AppRuntime, channel: string): ApiResponse | undefined => {
  const error = Names.channelNameError(channel, app.limits.maxChannelNameLength, app.namespaces)
  return error === undefined ? undefined : invalid(error)
}

/**
 * `GET /channels`.
 *
 * @since 0.1.0
 */
export const listChannels = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const duplicate = duplicateField(request, ["filter_by_prefix", "info"])
  if (duplicate !== undefined) return duplicate
  const prefix = request.query.filter_by_prefix ?? ""
  const info = request.query.info
  const cacheKey = `${prefix}\u0000${info ?? "\u0000"}`
  const cached = app.channelListCache.get(cacheKey)
  if (cached !== undefined && cached.expiresAtMs > request.nowMs) return cached.response
  const names = app.hub.occupied().filter((name) => name.startsWith(prefix))
  const tokens = infoTokens(info)
  const wantUsers = tokens.includes("user_count")
  if (wantUsers && !prefix.startsWith("presence-") && names.some((name) => !Names.isPresence(name))) {
    return invalid("user_count is only available for presence channels. Use filter_by_prefix=presence-")
  }
  const channels: Record<string, Record<string, number>> = {}
  for (const name of names) {
    if (info === undefined) {
      channels[name] = {}
      continue
    }
    const entry: Record<string, number> = {}
    if (tokens.includes("subscription_count")) entry.subscription_count = app.hub.subscriptionCount(name)
    if (wantUsers && Names.isPresence(name)) entry.user_count = app.hub.userIds(name).length
    if (Object.keys(entry).length > 0) channels[name] = entry
  }
  const response = ok({ channels })
  if (app.settings.channelListCacheMs > 0) {
    const ttlMs = app.settings.memoryCacheMs ?? app.settings.channelListCacheMs
    app.channelListCache.set(cacheKey, { expiresAtMs: request.nowMs + ttlMs, response })
  }
  return response
}

/**
 * `GET /channels/{channelName}`.
 *
 * @since 0.1.0
 */
export const getChannel = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const duplicate = duplicateField(request, ["info"])
  if (duplicate !== undefined) return duplicate
  const channel = request.params.channelName ?? ""
  const nameError = channelError(app, channel)
  if (nameError !== undefined) return nameError
  const tokens = infoTokens(request.query.info)
  if (tokens.includes("user_count") && !Names.isPresence(channel)) {
    return invalid("user_count is only available for presence channels")
  }
  const count = app.hub.subscriptionCount(channel)
  const body: Record<string, unknown> = { occupied: count > 0 }
  if (tokens.includes("subscription_count")) body.subscription_count = count
  if (tokens.includes("user_count")) body.user_count = app.hub.userIds(channel).length
  if (tokens.includes("cache") && Names.isCache(channel)) {
    const entry = app.hub.cache.get(channel)
    if (entry !== undefined && entry.expiresAtMs > request.nowMs) {
      body.cache = {
        data: JSON.stringify({ event: entry.event, channel, data: entry.data }),
        ttl: Math.floor((app.settings.memoryCacheMs ?? entry.expiresAtMs - request.nowMs) / 1000)
      }
    }
  }
  return ok(body)
}

/**
 * `GET /channels/{channelName}/users`.
 *
 * @since 0.1.0
 */
export const channelUsers = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const channel = request.params.channelName ?? ""
  const nameError = channelError(app, channel)
  if (nameError !== undefined) return nameError
  if (!Names.isPresence(channel)) return invalid("Only presence channels support this endpoint")
  return ok({ users: app.hub.userIds(channel).map((id) => ({ id })) })
}

const closeAll = (
  app: AppRuntime,
  connections: ReadonlyArray<ConnectionState>,
  code: number,
  reason: string,
  nowMs: number
) => {
  for (const conn of connections) app.hub.close(conn, { code, reason }, nowMs, "forced_disconnect")
}

/**
 * `POST /users/{userId}/terminate_connections`: close code 4009.
 *
 * @since 0.1.0
 */
export const terminateConnections = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const user = request.params.userId ?? ""
  closeAll(app, app.hub.connectionsOf(user), 4009, "You got disconnected by the app.", request.nowMs)
  return ok({ ok: true })
}

/**
 * `POST /users/{userId}/force_reconnect`: close code 4200.
 *
 * @since 0.1.0
 */
export const forceReconnect = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const user = request.params.userId ?? ""
  closeAll(app, app.hub.connectionsOf(user), 4200, "Force reconnect requested by the app.", request.nowMs)
  return ok({ ok: true })
}

const field = <T>(
  body: Record<string, unknown>,
  key: string,
  check: (u: unknown) => u is T,
  expected: string
): { readonly value: T | undefined } | { readonly error: ApiResponse } => {
  const v = body[key]
  if (v === undefined || v === null) return { value: undefined }
  return check(v)
    ? { value: v }
    : { error: badBodyShape(`${key}: invalid type: ${JSON.stringify(v)}, expected ${expected}`) }
}

/** The `code` of the `sockudo:token_expired` frame a revoked connection receives. */
const tokenRevokedCode = 40160

const isString = (u: unknown): u is string => typeof u === "string"
const isInt = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u)
const isUint = (u: unknown): u is number => isInt(u) && u >= 0

/**
 * `POST /revocations`: revokes capability tokens by `jti` or client id and closes the
 * connections using them.
 *
 * @since 0.1.0
 */
export const revocations = (request: ApiRequest, app: AppRuntime): ApiResponse => {
  const body = request.body
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return badBodyShape("invalid type, expected struct RevocationRequest")
  }
  const record = body as Record<string, unknown>
  const jti = field(record, "jti", isString, "a string")
  const clientId = field(record, "client_id", isString, "a string")
  const expiresAt = field(record, "expires_at", isInt, "i64")
  const ttl = field(record, "ttl_seconds", isUint, "u64")
  const reason = field(record, "reason", isString, "a string")
  for (const f of [jti, clientId, expiresAt, ttl, reason]) if ("error" in f) return f.error
  const get = <T>(f: { readonly value: T | undefined } | { readonly error: ApiResponse }) =>
    "value" in f ? f.value : undefined
  const id = get(jti)
  const client = get(clientId)
  if (id === undefined && client === undefined) {
    return apiError(401, "auth_failed", "revocation requires jti or client_id")
  }
  const nowSeconds = Math.floor(request.nowMs / 1000)
  const ttlSeconds = get(ttl)
  const expires = get(expiresAt)
  const seconds =
    ttlSeconds !== undefined
      ? Math.max(1, ttlSeconds)
      : expires !== undefined
        ? Math.max(1, expires - nowSeconds)
        : 86_400
  const until = request.nowMs + (app.settings.memoryCacheMs ?? seconds * 1000)
  if (id !== undefined) app.revocations.set(`jti:${id}`, until)
  if (client !== undefined) app.revocations.set(`client:${client}`, until)
  const revoked = [...app.hub.connections.values()].filter(
    (conn) => (id !== undefined && conn.token?.jti === id) || (client !== undefined && conn.token?.clientId === client)
  )
  // The reason is stored with the revocation; the connections are told "revoked".
  for (const conn of revoked) {
    app.hub.deliver(conn, { event: "sockudo:token_expired", data: { code: tokenRevokedCode, reason: "revoked" } })
  }
  closeAll(app, revoked, 4009, "capability token revoked", request.nowMs)
  return ok({
    revoked_jti: id !== undefined,
    revoked_client_id: client !== undefined,
    closed_connections: revoked.length
  })
}

const sync =
  (f: (request: ApiRequest, app: AppRuntime) => ApiResponse) =>
  (request: ApiRequest, app: AppRuntime): Effect.Effect<ApiResponse> =>
    Effect.sync(() => f(request, app))

/**
 * The core routes, below `/apps/:appId`.
 *
 * @since 0.1.0
 */
export const routes: ReadonlyArray<MountedRoute> = [
  { method: "POST", path: "/events", body: "json", handle: Publish.events },
  { method: "POST", path: "/batch_events", body: "json", handle: Publish.batchEvents },
  { method: "GET", path: "/channels", body: "none", handle: sync(listChannels) },
  { method: "GET", path: "/channels/:channelName", body: "none", handle: sync(getChannel) },
  { method: "GET", path: "/channels/:channelName/users", body: "none", handle: sync(channelUsers) },
  { method: "POST", path: "/users/:userId/terminate_connections", body: "none", handle: sync(terminateConnections) },
  { method: "POST", path: "/users/:userId/force_reconnect", body: "none", handle: sync(forceReconnect) },
  { method: "POST", path: "/revocations", body: "json", handle: sync(revocations) }
]
