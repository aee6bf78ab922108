/**
 * The emulator's framework-free contract between its HTTP front (request verification, core
 * routes, simulated connections, webhooks, fault injection) and its durable stores (history,
 * presence history, versioned messages, annotations, push). Route handlers are plain
 * synchronous functions from a verified, decoded request to a response, so each store can be
 * read and tested without a server.
 *
 * @since 0.1.0
 */

/**
 * Server features that are off by default on a real Sockudo and switched on per emulator.
 *
 * @since 0.1.0
 */
export interface Features {
  /** `GET /channels/{c}/history` and its state, reset and purge routes, and history in publish receipts. */
  readonly history: boolean
  /** Presence history of `presence-` channels. */
  readonly presenceHistory: boolean
  /** Versioned messages: serials in publish receipts, message versions, update, delete, append. */
  readonly versionedMessages: boolean
  /** Annotations on versioned messages. */
  readonly annotations: boolean
  /** The push routes (devices, subscriptions, templates, credentials, publishing). */
  readonly push: boolean
  /** User sign-in (`pusher:signin`) and the user routes. */
  readonly userAuthentication: boolean
}

/**
 * Per-app limits of the server reference, section 4 (`undefined` = unlimited).
 *
 * @since 0.1.0
 */
export interface Limits {
  /** `max_channel_name_length`: characters of a channel name. */
  readonly maxChannelNameLength: number
  /** `max_event_name_length`: characters of an event name. */
  readonly maxEventNameLength: number
  /** `max_event_channels_at_once`: channels one publish may name. */
  readonly maxEventChannelsAtOnce?: number | undefined
  /** `max_event_batch_size`: events one batch may carry. */
  readonly maxEventBatchSize?: number | undefined
  /** `max_event_payload_in_kb`: KiB of one event's data. */
  readonly maxEventPayloadInKb?: number | undefined
  /** The largest history page; larger `limit`s are clamped. */
  readonly maxHistoryPageSize: number
  /** `max_presence_members_per_channel`: further members' subscriptions are refused. */
  readonly maxPresenceMembersPerChannel?: number | undefined
  /** `max_presence_member_size_in_kb`: a member whose `user_info` JSON is larger is refused. */
  readonly maxPresenceMemberSizeInKb?: number | undefined
}

/**
 * A request that passed signature verification (section 2.1), decoded.
 *
 * @since 0.1.0
 */
export interface ApiRequest {
  /** The HTTP method. */
  readonly method: "GET" | "POST" | "DELETE"
  /** Path parameters, percent-decoded, named as in the route pattern (`channelName`, ...). */
  readonly params: Readonly<Record<string, string>>
  /** Query parameters, percent-decoded, without the `auth_*` and `body_md5` parameters. */
  readonly query: Readonly<Record<string, string>>
  /**
   * The same parameters as ordered pairs, repeated keys kept (`query` keeps the last value), for
   * routes that reject a repeated key the way the server's typed query parsing does.
   */
  readonly queryPairs?: ReadonlyArray<readonly [key: string, value: string]> | undefined
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body; `undefined` when the body is empty. */
  readonly body: unknown
  /** The time the request arrived (the server's `published_at_ms` for publishes). */
  readonly nowMs: number
}

/**
 * What a route answers: a JSON body, or plain text (framework rejections, section 1.4).
 *
 * @since 0.1.0
 */
export type ApiResponse =
  | {
      /** The HTTP status. */
      readonly status: number
      /** The body, sent as JSON. */
      readonly json: unknown
      /** Extra response headers. */
      readonly headers?: Readonly<Record<string, string>> | undefined
    }
  | {
      /** The HTTP status. */
      readonly status: number
      /** The body, sent as plain text. */
      readonly text: string
      /** Extra response headers. */
      readonly headers?: Readonly<Record<string, string>> | undefined
    }

/**
 * A 200 with a JSON body.
 *
 * @since 0.1.0
 */
export const ok = (json: unknown): ApiResponse => ({ status: 200, json })

/**
 * The server's handler error envelope (section 1.3): `{ error, code, status }`.
 *
 * @since 0.1.0
 */
export const apiError = (
  status: number,
  code: string,
  message: string,
  headers?: Readonly<Record<string, string>>
): ApiResponse => ({ status, json: { error: message, code, status }, headers })

/**
 * The plain-text query rejection of section 1.4.
 *
 * @since 0.1.0
 */
export const badQuery = (detail: string): ApiResponse => ({
  status: 400,
  text: `Failed to deserialize query string: ${detail}`
})

/**
 * The plain-text body-shape rejection of section 1.4.
 *
 * @since 0.1.0
 */
export const badBodyShape = (detail: string): ApiResponse => ({
  status: 422,
  text: `Failed to deserialize the JSON body into the target type: ${detail}`
})

/**
 * `feature_disabled` (422) for a switched-off feature.
 *
 * @since 0.1.0
 */
export const featureDisabled = (feature: string): ApiResponse =>
  apiError(422, "feature_disabled", `${feature} is disabled for this app`)

/**
 * An event as the HTTP front accepted it for one channel, before it is stored or delivered.
 *
 * @since 0.1.0
 */
export interface PublishedEvent {
  /** The channel, one of the publish's. */
  readonly channel: string
  /** The event name. */
  readonly name: string
  /** The delivered string: `data` verbatim when it was a JSON string, else its compact JSON. */
  readonly data: string
  /** A client event's data as the client sent it (any JSON value): what its receivers get. */
  readonly value?: unknown
  /** The excluded connection (`socket_id`), if any. */
  readonly socketId?: string | undefined
  /** The publish's `message_id`, if any. */
  readonly messageId?: string | undefined
  /** The publish's extras, if any. */
  readonly extras?: Readonly<Record<string, unknown>> | undefined
  /** The publish's tags, if any. */
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** When the front accepted it, Unix milliseconds. */
  readonly publishedAtMs: number
}

/**
 * The serials a versioned channel returns for a create (sections 3.1 and 6).
 *
 * @since 0.1.0
 */
export interface PublishReceipt {
  /** The message's serial. */
  readonly message_serial?: string | undefined
  /** Its position in the channel's history. */
  readonly history_serial?: number | undefined
  /** Its per-channel realtime serial. */
  readonly delivery_serial?: number | undefined
  /** The serial of its first version. */
  readonly version_serial?: string | undefined
}

/**
 * A presence change the HTTP front observed on a simulated connection (section 10.2).
 *
 * @since 0.1.0
 */
export interface PresenceChange {
  /** The presence channel. */
  readonly channel: string
  /** The webhook event it amounts to. */
  readonly event: "member_added" | "member_updated" | "member_removed"
  /** The member's user id. */
  readonly userId: string
  /** The member's info, if any. */
  readonly userInfo?: unknown
  /** The connection that changed. */
  readonly socketId: string
  /** Why it changed. */
  readonly cause: "join" | "disconnect" | "orphan_cleanup" | "timeout" | "forced_disconnect"
  /** When, Unix milliseconds. */
  readonly atMs: number
}

/**
 * What the HTTP front offers the stores of one app.
 *
 * @since 0.1.0
 */
export interface AppHandle {
  /** The app's id. */
  readonly appId: string
  /** The app's features. */
  readonly features: Features
  /** The app's limits. */
  readonly limits: Limits
  /** Sends an event to the simulated connections subscribed to `channel`. */
  readonly broadcast: (
    channel: string,
    event: string,
    data: unknown,
    options?: {
      /** Extras of the frame (sent to V2 connections only). */
      readonly extras?: Readonly<Record<string, unknown>> | undefined
      /** A connection that does not get it. */
      readonly exceptSocketId?: string
      /** Fields set over the frame's own (a versioned message's `name`, `user_id`); `undefined` leaves one out. */
      readonly frame?: Readonly<Record<string, unknown>> | undefined
    }
  ) => void
  /** Queues a webhook event (section 9.3 shape, without `time_ms`) if webhooks are configured. */
  readonly webhook: (event: Readonly<Record<string, unknown>>) => void
  /**
   * Hands an event to the app's stores as a publish (history, a message version, its webhook);
   * true when a store delivered it to the channel's connections. Absent: nothing records it.
   */
  readonly publish?: ((event: PublishedEvent) => boolean) | undefined
  /** Whether `socketId` is an open simulated connection of this app. */
  readonly isConnected: (socketId: string) => boolean
  /** The signed-in user id of a simulated connection, if any. */
  readonly userOf: (socketId: string) => string | undefined
  /**
   * Why a path channel name fails the app's rules (section 4, with its namespaces), or
   * `undefined` when it passes. Absent: the rules of an app without namespaces.
   */
  readonly channelNameError?: ((channel: string) => string | undefined) | undefined
}

/**
 * One route below `/apps/{appId}`; `path` uses `:name` segments, e.g. `/channels/:channelName/history`.
 *
 * @since 0.1.0
 */
export interface Route {
  /** The HTTP method. */
  readonly method: "GET" | "POST" | "DELETE"
  /** The path pattern below `/apps/{appId}`. */
  readonly path: string
  /**
   * How the HTTP front reads a POST body before `handle` runs. `"json"` (the default for POST):
   * the server's JSON extractor, with its plain-text 415/413/400 rejections (section 1.4), or for
   * paths under `/push/` the push extractor's JSON 400s. `"none"`: the body is not parsed and
   * `request.body` is `undefined`. GET and DELETE bodies are never read.
   */
  readonly body?: "json" | "none" | undefined
  /** Answers a verified request. */
  readonly handle: (request: ApiRequest, app: AppHandle) => ApiResponse
}

/**
 * A store of durable state: its routes, and what it does when the HTTP front publishes an event
 * or sees a presence change. One instance per app.
 */
export interface Store {
  /** The routes the store answers. */
  readonly routes: ReadonlyArray<Route>
  /** Called once per channel of an accepted, non-ephemeral publish; returns the serials, if any. */
  readonly onPublish?: ((event: PublishedEvent, app: AppHandle) => PublishReceipt | ApiResponse) | undefined
  /** Called when a member joins or leaves a presence channel. */
  readonly onPresence?: ((change: PresenceChange, app: AppHandle) => void) | undefined
}
