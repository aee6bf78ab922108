/**
 * Simulated client connections of one app: socket ids, sign-in, subscriptions (with the
 * server's signature checks), presence members, user channels, client events, and closing
 * connections. Everything here is synchronous state; what other parts of the emulator must hear
 * about (webhook events, presence changes, a presence member leaving) goes out through
 * {@link HubOutput}.
 *
 * @since 0.1.0
 */
import { admit, isObject } from "./Admission.ts"
import type { PresenceChange } from "./Api.ts"
import type {
  CacheEntry,
  ChannelState,
  CloseInfo,
  ConnectionState,
  HubOutput,
  HubSettings,
  Membership,
  ReceivedMessage,
  SignedInUser,
  SubscribeAuth
} from "./ConnectionState.ts"
import * as Names from "./Names.ts"
import { expectedChannelAuth, verifySignin } from "./Verify.ts"

const json = (value: unknown) => JSON.stringify(value)

/**
 * A server frame's event as a connection of `protocol` receives it: Protocol V2 connections get
 * the protocol events under the `sockudo:` and `sockudo_internal:` prefixes.
 *
 * @since 0.1.0
 */
export const wireEvent = (protocol: 1 | 2, event: string): string =>
  protocol === 1 ? event : event.replace(/^pusher(_internal)?:/, "sockudo$1:")

/** The server's `pusher:error` frame for a close code and reason. */
const errorFrame = (info: CloseInfo): ReceivedMessage => ({
  event: "pusher:error",
  data: { code: info.code, message: info.reason }
})

const newConnection = (socketId: string, protocol: 1 | 2, token: ConnectionState["token"]): ConnectionState => ({
  socketId,
  protocol,
  token,
  user: undefined,
  channels: new Map(),
  received: [],
  closed: undefined,
  onUpdate: undefined
})

/**
 * How long the server keeps the last event of a cache channel.
 *
 * @since 0.1.0
 */
export const cacheTtlMs = 3_600_000

/** The largest `user_info` of a presence update, as JSON bytes. */
const presenceUpdateMaxBytes = 1024

/** Events the server sends to Protocol V2 connections only. */
const v2Only = /^sockudo(_internal)?:/

/** The annotation events only a subscription with the `ANNOTATION_SUBSCRIBE` mode receives. */
const annotationEvent = "sockudo_internal:annotation"

/**
 * The connections and channels of one app.
 *
 * @since 0.1.0
 */
export class Hub {
  readonly connections = new Map<string, ConnectionState>()
  readonly channels = new Map<string, ChannelState>()
  readonly cache = new Map<string, CacheEntry>()
  readonly settings: HubSettings
  readonly out: HubOutput

  constructor(settings: HubSettings, out: HubOutput) {
    this.settings = settings
    this.out = out
  }

  /** Opens a connection with a given socket id. */
  connect(socketId: string, protocol: 1 | 2, token: ConnectionState["token"]): ConnectionState {
    const state = newConnection(socketId, protocol, token)
    this.connections.set(socketId, state)
    this.deliver(state, {
      event: "pusher:connection_established",
      data: json({ socket_id: socketId, activity_timeout: 120 })
    })
    return state
  }

  /**
   * A connection the server closes before it is established (a revoked capability token): it
   * receives the error, under its protocol's name, then the close with its `pusher:error`.
   */
  refuse(socketId: string, protocol: 1 | 2, token: ConnectionState["token"], info: CloseInfo): ConnectionState {
    const state = newConnection(socketId, protocol, token)
    this.deliver(state, errorFrame(info))
    state.received.push(errorFrame(info))
    state.closed = info
    return state
  }

  /** Hands a frame to a connection, under the event name of its protocol. */
  deliver(conn: ConnectionState, message: ReceivedMessage): void {
    const event = wireEvent(conn.protocol, message.event)
    conn.received.push(event === message.event ? message : { ...message, event })
    conn.onUpdate?.()
  }

  /** `pusher:signin` with a signature; returns the error the server answers, if any. */
  signin(conn: ConnectionState, auth: string, userData: string): string | undefined {
    if (conn.closed !== undefined) return "the connection is closed"
    if (!this.settings.userAuthentication) return "user authentication is not enabled for this app"
    if (!verifySignin(this.settings.credentials, conn.socketId, auth, userData)) return "Invalid signature"
    let parsed: unknown
    try {
      parsed = JSON.parse(userData)
    } catch {
      return "user_data is not JSON"
    }
    if (!isObject(parsed) || typeof parsed.id !== "string" || parsed.id === "") {
      return "user_data must be a JSON object with a string 'id'"
    }
    conn.user = parsed as SignedInUser
    this.deliver(conn, { event: "pusher:signin_success", data: json({ user_data: userData }) })
    return undefined
  }

  /** The subscription a real client makes; returns the server's refusal, if any. */
  subscribe(conn: ConnectionState, channel: string, auth: SubscribeAuth, nowMs: number): string | undefined {
    if (conn.closed !== undefined) return "the connection is closed"
    const nameError = Names.channelNameError(
      channel,
      this.settings.limits.maxChannelNameLength,
      this.settings.namespaces
    )
    if (nameError !== undefined) return nameError
    if (conn.channels.has(channel)) return undefined
    const admission = admit(this.settings, conn, channel, auth, this.channels.get(channel)?.members, () =>
      this.userOf(conn)
    )
    if ("refused" in admission) return admission.refused
    this.join(conn, channel, admission.member, nowMs)
    return undefined
  }

  /** The `auth` (and `channel_data`) the app's server would hand this connection. */
  authorize(
    conn: ConnectionState,
    channel: string,
    member: { readonly user_id: string; readonly user_info?: unknown } | undefined
  ): SubscribeAuth {
    const channelData = Names.isPresence(channel) && member !== undefined ? json(member) : undefined
    return {
      auth: expectedChannelAuth(this.settings.credentials, conn.socketId, channel, channelData),
      ...(channelData === undefined ? {} : { channel_data: channelData })
    }
  }

  private join(conn: ConnectionState, channel: string, member: Membership | undefined, nowMs: number): void {
    let state = this.channels.get(channel)
    if (state === undefined) {
      state = { sockets: new Map(), members: new Map() }
      this.channels.set(channel, state)
    }
    state.sockets.set(conn.socketId, conn)
    conn.channels.set(channel, member)
    let newMember = false
    if (member !== undefined) {
      const existing = state.members.get(member.userId)
      if (existing === undefined) {
        state.members.set(member.userId, { info: member.userInfo, sockets: new Set([conn.socketId]) })
        newMember = true
      } else {
        existing.sockets.add(conn.socketId)
      }
    }
    if (Names.isPresence(channel)) {
      const ids = [...state.members.keys()]
      const hash: Record<string, unknown> = {}
      for (const [id, m] of state.members) hash[id] = m.info ?? null
      this.deliver(conn, {
        event: "pusher_internal:subscription_succeeded",
        channel,
        data: json({ presence: { ids, hash, count: ids.length } })
      })
    } else {
      this.deliver(conn, { event: "pusher_internal:subscription_succeeded", channel, data: "{}" })
    }
    if (state.sockets.size === 1) this.out.webhook({ name: "channel_occupied", channel })
    if (!Names.isPresence(channel)) {
      this.out.webhook({ name: "subscription_count", channel, subscription_count: state.sockets.size })
    }
    if (member !== undefined && newMember) {
      const frame = { user_id: member.userId, ...(member.userInfo === undefined ? {} : { user_info: member.userInfo }) }
      this.send(channel, { event: "pusher_internal:member_added", channel, data: json(frame) }, conn.socketId)
      this.out.webhook({ name: "member_added", channel, user_id: member.userId })
      this.out.presence({
        channel,
        event: "member_added",
        userId: member.userId,
        userInfo: member.userInfo,
        socketId: conn.socketId,
        cause: "join",
        atMs: nowMs
      })
    }
    if (Names.isCache(channel)) {
      const cached = this.cache.get(channel)
      if (cached !== undefined && cached.expiresAtMs > nowMs) {
        this.deliver(conn, { event: cached.event, channel, data: cached.data })
      } else {
        this.deliver(conn, { event: "pusher:cache_miss", channel, data: "{}" })
        this.out.webhook({ name: "cache_miss", channel, data: "{}" })
      }
    }
  }

  /**
   * Leaves a channel; `cause` is what presence history records. As on the server, an unsubscribe
   * reports the new subscription count (not for presence channels) and leaves `channel_vacated`
   * to a check 3 s later, while a closing connection's channels get neither count: the ones it
   * leaves empty are reported vacated at once.
   */
  unsubscribe(conn: ConnectionState, channel: string, nowMs: number, cause: PresenceChange["cause"]): void {
    this.leave(conn, channel, nowMs, cause, false)
  }

  private leave(
    conn: ConnectionState,
    channel: string,
    nowMs: number,
    cause: PresenceChange["cause"],
    closing: boolean
  ): void {
    const state = this.channels.get(channel)
    if (!conn.channels.has(channel) || state === undefined) return
    const member = conn.channels.get(channel)
    conn.channels.delete(channel)
    state.sockets.delete(conn.socketId)
    if (member !== undefined) {
      const entry = state.members.get(member.userId)
      entry?.sockets.delete(conn.socketId)
      if (entry !== undefined && entry.sockets.size === 0) {
        state.members.delete(member.userId)
        this.send(channel, {
          event: "pusher_internal:member_removed",
          channel,
          data: json({ user_id: member.userId })
        })
        this.out.presence({
          channel,
          event: "member_removed",
          userId: member.userId,
          userInfo: entry.info,
          socketId: conn.socketId,
          cause,
          atMs: nowMs
        })
        this.out.memberLeft(channel, member.userId)
      }
    }
    if (!closing && !Names.isPresence(channel)) {
      this.out.webhook({ name: "subscription_count", channel, subscription_count: state.sockets.size })
    }
    if (state.sockets.size === 0) {
      this.channels.delete(channel)
      if (closing) this.out.webhook({ name: "channel_vacated", channel })
      else this.out.emptied(channel)
    }
  }

  /**
   * Closes a connection: it leaves every channel, then reads `closed`. An application close code
   * (4000 and up) is announced first by a `pusher:error` frame with that code and reason, under
   * that name on either protocol, as the server sends it.
   */
  close(conn: ConnectionState, info: CloseInfo, nowMs: number, cause: PresenceChange["cause"]): void {
    if (conn.closed !== undefined) return
    if (info.code >= 4000) conn.received.push(errorFrame(info))
    for (const channel of [...conn.channels.keys()]) this.leave(conn, channel, nowMs, cause, true)
    conn.closed = info
    this.connections.delete(conn.socketId)
    conn.onUpdate?.()
  }

  /**
   * A client event sent by a simulated client; returns the server's refusal, if any. The stores
   * take it as a publish (history, a message version), and neither its frames nor its webhook
   * carry the sender's `user_id`, on presence channels either: Sockudo 5.0.1 adds none.
   */
  clientEvent(conn: ConnectionState, channel: string, event: string, data: unknown, nowMs: number): string | undefined {
    if (conn.closed !== undefined) return "the connection is closed"
    if (!this.settings.clientMessages) return "Client events are not enabled for this app"
    if (!event.startsWith("client-")) return "Client event names must start with 'client-'"
    if (!Names.needsAuth(channel)) return "Client events are only allowed on private and presence channels"
    if (!conn.channels.has(channel)) return `The connection is not subscribed to ${channel}`
    const delivered = this.out.publish({
      channel,
      name: event,
      data: typeof data === "string" ? data : json(data),
      value: data,
      socketId: conn.socketId,
      publishedAtMs: nowMs
    })
    if (!delivered) this.send(channel, { event, channel, data }, conn.socketId)
    this.out.webhook({ name: "client_event", channel, event, data, socket_id: conn.socketId })
    return undefined
  }

  /**
   * A Protocol V2 `sockudo:presence_update`: the member's new `user_info`, told to the channel's
   * V2 connections (the sender included) and to webhooks and presence history. Subscribers who
   * join later still get the `user_info` the member joined with, as on the server. Returns the
   * server's refusal, if any.
   */
  presenceUpdate(conn: ConnectionState, channel: string, userInfo: unknown, nowMs: number): string | undefined {
    if (conn.closed !== undefined) return "the connection is closed"
    if (conn.protocol !== 2) return "presence_update requires protocol V2"
    if (userInfo === undefined) return "presence_update data field is required"
    if (!Names.isPresence(channel)) return "presence_update requires a presence channel"
    if (new TextEncoder().encode(json(userInfo)).length > presenceUpdateMaxBytes) {
      return "presence_update data exceeds 1024 bytes"
    }
    const member = conn.channels.get(channel)
    const state = this.channels.get(channel)
    if (member === undefined || state === undefined) return "presence_update requires active membership"
    this.out.webhook({ name: "member_updated", channel, user_id: member.userId, user_info: userInfo })
    const frame = {
      event: "sockudo_internal:presence_update",
      channel,
      data: json({ user_id: member.userId, user_info: userInfo })
    }
    for (const other of state.sockets.values()) if (other.protocol === 2) this.deliver(other, frame)
    this.out.presence({
      channel,
      event: "member_updated",
      userId: member.userId,
      userInfo,
      socketId: conn.socketId,
      cause: "join",
      atMs: nowMs
    })
    return undefined
  }

  /**
   * Delivers an event published by the server to the channel's subscribers (or, for
   * `#server-to-user-<id>`, to the user's signed-in connections), except `exceptSocketId`.
   * Returns how many connections received it.
   */
  publish(
    channel: string,
    event: string,
    data: unknown,
    extras: Readonly<Record<string, unknown>> | undefined,
    exceptSocketId: string | undefined,
    nowMs: number,
    frame?: Readonly<Record<string, unknown>>
  ): number {
    if (Names.isCache(channel)) this.cache.set(channel, { event, data, expiresAtMs: nowMs + this.settings.cacheTtlMs })
    const message: Record<string, unknown> = {
      event,
      channel,
      data,
      ...frame,
      ...(extras === undefined ? {} : { extras })
    }
    for (const key of Object.keys(message)) if (message[key] === undefined) delete message[key]
    return this.send(channel, message as unknown as ReceivedMessage, exceptSocketId)
  }

  private send(channel: string, message: ReceivedMessage, exceptSocketId?: string): number {
    const targets: Array<ConnectionState> = []
    if (channel.startsWith(Names.userChannelPrefix)) {
      const userId = channel.slice(Names.userChannelPrefix.length)
      for (const conn of this.connections.values()) if (conn.user?.id === userId) targets.push(conn)
    } else {
      const state = this.channels.get(channel)
      if (state !== undefined) targets.push(...state.sockets.values())
    }
    let delivered = 0
    for (const conn of targets) {
      if (conn.socketId === exceptSocketId) continue
      if (conn.protocol === 1 && v2Only.test(message.event)) continue
      // No simulated subscription can ask for the ANNOTATION_SUBSCRIBE mode.
      if (message.event === annotationEvent) continue
      if (conn.protocol === 1 && message.extras !== undefined) {
        const { extras: _, ...v1 } = message
        this.deliver(conn, v1)
      } else {
        this.deliver(conn, message)
      }
      delivered++
    }
    return delivered
  }

  /** The user a connection acts as: signed-in id, capability-token client id, else a presence user id. */
  userOf(conn: ConnectionState): string | undefined {
    if (conn.user !== undefined) return conn.user.id
    if (conn.token?.clientId !== undefined) return conn.token.clientId
    for (const member of conn.channels.values()) if (member !== undefined) return member.userId
    return undefined
  }

  /** Every open connection acting as `userId`. */
  connectionsOf(userId: string): Array<ConnectionState> {
    return [...this.connections.values()].filter((conn) => this.userOf(conn) === userId)
  }

  /** Connections subscribed to `channel`. */
  subscriptionCount(channel: string): number {
    return this.channels.get(channel)?.sockets.size ?? 0
  }

  /** Distinct presence users of `channel`. */
  userIds(channel: string): Array<string> {
    return [...(this.channels.get(channel)?.members.keys() ?? [])]
  }

  /** Whether `userId` is a member of the presence channel. */
  isMember(channel: string, userId: string): boolean {
    return this.channels.get(channel)?.members.has(userId) ?? false
  }

  /** Occupied channels, in name order. */
  occupied(): Array<string> {
    return [...this.channels.keys()].sort()
  }
}
