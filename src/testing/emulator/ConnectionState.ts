/**
 * The state of simulated client connections: the frames a connection received, why it was
 * closed, the user it signed in as, its subscriptions and presence memberships, and what the
 * hub needs from and tells the rest of the emulator.
 *
 * @since 0.1.0
 */
import type { Limits, PresenceChange, PublishedEvent } from "./Api.ts"
import type * as Names from "./Names.ts"
import type { AppCredentials } from "./Verify.ts"

/**
 * A message a simulated connection received, in the shape of the Pusher protocol frame.
 *
 * @since 0.1.0
 */
export interface ReceivedMessage {
  /** The event name (`order.created`, `pusher:subscription_succeeded`...). */
  readonly event: string
  /** The channel, for channel events. */
  readonly channel?: string | undefined
  /** A string for events published over HTTP; what the sender sent for client events. */
  readonly data: unknown
  /** The sender of a client event on a presence channel. */
  readonly user_id?: string | undefined
  /** Message extras, delivered to Protocol V2 connections only. */
  readonly extras?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Why a connection was closed by the server (WebSocket close code and reason).
 *
 * @since 0.1.0
 */
export interface CloseInfo {
  /** The WebSocket close code (`4009`...). */
  readonly code: number
  /** The close reason. */
  readonly reason: string
}

/**
 * The user a connection signed in as: the `user_data` object, which has a string `id`.
 *
 * @since 0.1.0
 */
export interface SignedInUser {
  /** The user's id. */
  readonly id: string
  readonly [field: string]: unknown
}

/**
 * What the hub tells the rest of the emulator.
 *
 * @since 0.1.0
 */
export interface HubOutput {
  readonly webhook: (event: Readonly<Record<string, unknown>>) => void
  readonly presence: (change: PresenceChange) => void
  /** The last connection of `userId` left a presence channel (the delayed `member_removed`). */
  readonly memberLeft: (channel: string, userId: string) => void
  /** The last subscriber unsubscribed from `channel` (the delayed `channel_vacated`). */
  readonly emptied: (channel: string) => void
  /**
   * A client event, handed to the stores as a publish (history, versioned messages); true when
   * a store delivered it to the channel's connections itself.
   */
  readonly publish: (event: PublishedEvent) => boolean
}

/**
 * App settings the hub needs.
 *
 * @since 0.1.0
 */
export interface HubSettings {
  readonly credentials: AppCredentials
  readonly userAuthentication: boolean
  /** How long a cache channel's last event is kept. */
  readonly cacheTtlMs: number
  readonly clientMessages: boolean
  readonly limits: Limits
  readonly namespaces: ReadonlyMap<string, Namespace>
}

type Namespace = Names.Namespace

/**
 * A connection's presence membership in one channel.
 *
 * @since 0.1.0
 */
export interface Membership {
  readonly userId: string
  readonly userInfo: unknown
}

/**
 * One simulated connection's state.
 *
 * @since 0.1.0
 */
export interface ConnectionState {
  readonly socketId: string
  readonly protocol: 1 | 2
  readonly token: { readonly jti?: string | undefined; readonly clientId?: string | undefined } | undefined
  user: SignedInUser | undefined
  readonly channels: Map<string, Membership | undefined>
  readonly received: Array<ReceivedMessage>
  closed: CloseInfo | undefined
  /** Called after each frame is added to `received`, and once the connection is closed. */
  onUpdate: (() => void) | undefined
}

/**
 * The sockets and presence members of one channel.
 *
 * @since 0.1.0
 */
export interface ChannelState {
  readonly sockets: Map<string, ConnectionState>
  readonly members: Map<string, { info: unknown; readonly sockets: Set<string> }>
}

/**
 * The last event of a cache channel.
 *
 * @since 0.1.0
 */
export interface CacheEntry {
  readonly event: string
  readonly data: unknown
  readonly expiresAtMs: number
}

/**
 * The options of a subscription: the `auth` (and `channel_data`) a client sends, as returned by
 * the SDK's `authorizeChannel`.
 *
 * @since 0.1.0
 */
export interface SubscribeAuth {
  readonly auth?: string | undefined
  readonly channel_data?: string | undefined
}
