/**
 * The emulator's framework-free contract between its HTTP front (request verification, core
 * routes, simulated connections, webhooks, fault injection) and its durable stores (history,
 * presence history, versioned messages, annotations, push). Route handlers are plain
 * synchronous functions from a verified, decoded request to a response, so each store can be
 * read and tested without a server.
 *
 * @since 0.1.0
 */

/** Server features that are off by default on a real Sockudo and switched on per emulator. */
export interface Features {
  readonly history: boolean
  readonly presenceHistory: boolean
  readonly versionedMessages: boolean
  readonly annotations: boolean
  readonly push: boolean
  readonly userAuthentication: boolean
}

/** Per-app limits of the server reference, section 4 (`undefined` = unlimited). */
export interface Limits {
  readonly maxChannelNameLength: number
  readonly maxEventNameLength: number
  readonly maxEventChannelsAtOnce?: number | undefined
  readonly maxEventBatchSize?: number | undefined
  readonly maxEventPayloadInKb?: number | undefined
  readonly maxHistoryPageSize: number
  /** `max_presence_members_per_channel`: further members' subscriptions are refused. */
  readonly maxPresenceMembersPerChannel?: number | undefined
  /** `max_presence_member_size_in_kb`: a member whose `user_info` JSON is larger is refused. */
  readonly maxPresenceMemberSizeInKb?: number | undefined
}

/** A request that passed signature verification (section 2.1), decoded. */
export interface ApiRequest {
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

/** What a route answers: a JSON body, or plain text (framework rejections, section 1.4). */
export type ApiResponse =
  | {
      readonly status: number
      readonly json: unknown
      readonly headers?: Readonly<Record<string, string>> | undefined
    }
  | {
      readonly status: number
      readonly text: string
      readonly headers?: Readonly<Record<string, string>> | undefined
    }

/** A 200 with a JSON body. */
export const ok = (json: unknown): ApiResponse => ({ status: 200, json })

/** The server's handler error envelope (section 1.3): `{ error, code, status }`. */
export const apiError = (
  status: number,
  code: string,
  message: string,
  headers?: Readonly<Record<string, string>>
): ApiResponse => ({ status, json: { error: message, code, status }, headers })

/** The plain-text query rejection of section 1.4. */
export const badQuery = (detail: string): ApiResponse => ({
  status: 400,
  text: `Failed to deserialize query string: ${detail}`
})

/** The plain-text body-shape rejection of section 1.4. */
export const badBodyShape = (detail: string): ApiResponse => ({
  status: 422,
  text: `Failed to deserialize the JSON body into the target type: ${detail}`
})

/** `feature_disabled` (422) for a switched-off feature. */
export const featureDisabled = (feature: string): ApiResponse =>
  apiError(422, "feature_disabled", `${feature} is disabled for this app`)

/** An event as the HTTP front accepted it for one channel, before it is stored or delivered. */
export interface PublishedEvent {
  readonly channel: string
  readonly name: string
  /** The delivered string: `data` verbatim when it was a JSON string, else its compact JSON. */
  readonly data: string
  /** A client event's data as the client sent it (any JSON value): what its receivers get. */
  readonly value?: unknown
  readonly socketId?: string | undefined
  readonly messageId?: string | undefined
  readonly extras?: Readonly<Record<string, unknown>> | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  readonly publishedAtMs: number
}

/** The serials a versioned channel returns for a create (sections 3.1 and 6). */
export interface PublishReceipt {
  readonly message_serial?: string | undefined
  readonly history_serial?: number | undefined
  readonly delivery_serial?: number | undefined
  readonly version_serial?: string | undefined
}

/** A presence change the HTTP front observed on a simulated connection (section 10.2). */
export interface PresenceChange {
  readonly channel: string
  readonly event: "member_added" | "member_updated" | "member_removed"
  readonly userId: string
  readonly userInfo?: unknown
  readonly socketId: string
  readonly cause: "join" | "disconnect" | "orphan_cleanup" | "timeout" | "forced_disconnect"
  readonly atMs: number
}

/** What the HTTP front offers the stores of one app. */
export interface AppHandle {
  readonly appId: string
  readonly features: Features
  readonly limits: Limits
  /** Sends an event to the simulated connections subscribed to `channel`. */
  readonly broadcast: (
    channel: string,
    event: string,
    data: unknown,
    options?: {
      readonly extras?: Readonly<Record<string, unknown>> | undefined
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

/** One route below `/apps/{appId}`; `path` uses `:name` segments, e.g. `/channels/:channelName/history`. */
export interface Route {
  readonly method: "GET" | "POST" | "DELETE"
  readonly path: string
  /**
   * How the HTTP front reads a POST body before `handle` runs. `"json"` (the default for POST):
   * the server's JSON extractor, with its plain-text 415/413/400 rejections (section 1.4), or for
   * paths under `/push/` the push extractor's JSON 400s. `"none"`: the body is not parsed and
   * `request.body` is `undefined`. GET and DELETE bodies are never read.
   */
  readonly body?: "json" | "none" | undefined
  readonly handle: (request: ApiRequest, app: AppHandle) => ApiResponse
}

/**
 * A store of durable state: its routes, and what it does when the HTTP front publishes an event
 * or sees a presence change. One instance per app.
 */
export interface Store {
  readonly routes: ReadonlyArray<Route>
  /** Called once per channel of an accepted, non-ephemeral publish; returns the serials, if any. */
  readonly onPublish?: ((event: PublishedEvent, app: AppHandle) => PublishReceipt | ApiResponse) | undefined
  readonly onPresence?: ((change: PresenceChange, app: AppHandle) => void) | undefined
}
