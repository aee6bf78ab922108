/**
 * Channel state: the occupied channels, one channel's counts, and a presence channel's users.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { Http, schemaDecoder } from "../Http.ts"
import { encode, type QueryParam } from "../Signer.ts"
import { SockudoConfig } from "../SockudoConfig.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"

/**
 * Attributes `channels.list` can report.
 *
 * @since 0.1.0
 */
export type ListInfo = "user_count" | "subscription_count"

/**
 * Attributes `channels.get` can report (`cache`: the last event of a cache channel).
 *
 * @since 0.1.0
 */
export type ChannelInfo = "user_count" | "subscription_count" | "cache"

/**
 * @since 0.1.0
 */
export interface ListOptions {
  /** Only channels whose name starts with this (`"presence-"` is required for `user_count`). */
  readonly filterByPrefix?: string | undefined
  /** Counts to include per channel: `user_count` (with a `presence-` prefix) and `subscription_count`. */
  readonly info?: ReadonlyArray<ListInfo> | undefined
}

/**
 * @since 0.1.0
 */
export interface GetOptions {
  /** What to include: `subscription_count`, `user_count` (presence channels), `cache` (cache channels). */
  readonly info?: ReadonlyArray<ChannelInfo> | undefined
}

/**
 * `GET /channels`: every occupied channel, with the requested counts.
 *
 * @since 0.1.0
 */
export const ChannelList = Schema.Struct({
  channels: Schema.Record(
    Schema.String,
    Schema.Struct({
      subscription_count: Schema.optionalKey(Schema.Number),
      user_count: Schema.optionalKey(Schema.Number)
    })
  )
})

/**
 * @since 0.1.0
 */
export interface ChannelList extends Schema.Schema.Type<typeof ChannelList> {}

/**
 * `GET /channels/{channel}`.
 *
 * @since 0.1.0
 */
export const ChannelState = Schema.Struct({
  occupied: Schema.Boolean,
  subscription_count: Schema.optionalKey(Schema.Number),
  /** True when the cluster-wide count was partial. */
  subscription_count_complete: Schema.optionalKey(Schema.Boolean),
  user_count: Schema.optionalKey(Schema.Number),
  cache: Schema.optionalKey(Schema.Struct({ data: Schema.String, ttl: Schema.Number })),
  ai: Schema.optionalKey(
    Schema.Struct({
      active_streams: Schema.Number,
      last_history_serial: Schema.optionalKey(Schema.NullOr(Schema.Number)),
      message_count: Schema.Number
    })
  )
})

/**
 * @since 0.1.0
 */
export interface ChannelState extends Schema.Schema.Type<typeof ChannelState> {}

/**
 * `GET /channels/{channel}/users`.
 *
 * @since 0.1.0
 */
export const ChannelUsers = Schema.Struct({
  users: Schema.Array(Schema.Struct({ id: Schema.String }))
})

/**
 * @since 0.1.0
 */
export interface ChannelUsers extends Schema.Schema.Type<typeof ChannelUsers> {}

const decodeList = schemaDecoder(ChannelList)
const decodeState = schemaDecoder(ChannelState)
const decodeUsers = schemaDecoder(ChannelUsers)

/**
 * The percent-encoded path of a channel, after validating its name.
 *
 * @since 0.1.0
 */
export const channelPath = Effect.fnUntraced(function* (
  operation: string,
  channel: string,
  limits: SockudoConfig["Service"]["limits"]
) {
  const reason = Validation.channelName(channel, limits)
  if (reason) return yield* new SockudoValidationError({ operation, field: "channel", message: `channel ${reason}` })
  return `/channels/${encode(channel)}`
})

const checkInfo = <A extends string>(operation: string, info: ReadonlyArray<A>, allowed: ReadonlyArray<A>) =>
  Array.isArray(info) && info.every((a) => allowed.includes(a))
    ? Effect.void
    : Effect.fail(
        new SockudoValidationError({
          operation,
          field: "info",
          message: `info must be a list of ${allowed.map((a) => `'${a}'`).join(", ")}`
        })
      )

const checkOptions = (operation: string, options: unknown) => {
  const reason = Validation.optionsReason(options)
  return reason ? Effect.fail(Validation.validationError(operation, "options", reason)) : Effect.void
}

/**
 * Builds the channel state operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http

  /** The occupied channels, optionally filtered by prefix, with the requested counts. */
  const list = traced("Sockudo.channels.list")(function* (
    options?: ListOptions
  ): Effect.fn.Return<ChannelList, SockudoValidationError | SockudoRequestError> {
    yield* checkOptions("channels.list", options)
    const query: Array<QueryParam> = []
    if (options?.filterByPrefix !== undefined) {
      if (typeof options.filterByPrefix !== "string") {
        return yield* Validation.validationError("channels.list", "filterByPrefix", "must be a string")
      }
      query.push(["filter_by_prefix", options.filterByPrefix])
    }
    if (options?.info !== undefined)
      yield* checkInfo("channels.list", options.info, ["user_count", "subscription_count"])
    if (options?.info !== undefined && options.info.length > 0) {
      if (options.info.includes("user_count") && !(options.filterByPrefix ?? "").startsWith("presence-")) {
        return yield* new SockudoValidationError({
          operation: "channels.list",
          field: "info",
          message: "info 'user_count' needs filterByPrefix starting with 'presence-'"
        })
      }
      query.push(["info", options.info.join(",")])
    }
    return yield* http.request({
      operation: "channels.list",
      method: "GET",
      path: "/channels",
      query,
      decode: decodeList
    })
  })

  /** One channel's state: whether it is occupied, and the requested counts. */
  const get = traced("Sockudo.channels.get")(function* (
    channel: string,
    options?: GetOptions
  ): Effect.fn.Return<ChannelState, SockudoValidationError | SockudoRequestError> {
    const path = yield* channelPath("channels.get", channel, config.limits)
    yield* checkOptions("channels.get", options)
    const query: Array<QueryParam> = []
    if (options?.info !== undefined) {
      yield* checkInfo("channels.get", options.info, ["user_count", "subscription_count", "cache"])
    }
    if (options?.info !== undefined && options.info.length > 0) {
      if (options.info.includes("user_count") && !Validation.isPresenceChannel(channel)) {
        return yield* new SockudoValidationError({
          operation: "channels.get",
          field: "info",
          message: "info 'user_count' is only available for presence- channels"
        })
      }
      query.push(["info", options.info.join(",")])
    }
    return yield* http.request({
      channels: channel,
      operation: "channels.get",
      method: "GET",
      path,
      query,
      decode: decodeState
    })
  })

  /** The users subscribed to a `presence-` channel. */
  const users = traced("Sockudo.channels.users")(function* (
    channel: string
  ): Effect.fn.Return<ChannelUsers, SockudoValidationError | SockudoRequestError> {
    const path = yield* channelPath("channels.users", channel, config.limits)
    if (!Validation.isPresenceChannel(channel)) {
      return yield* new SockudoValidationError({
        operation: "channels.users",
        field: "channel",
        message: "channel must be a presence- channel"
      })
    }
    return yield* http.request({
      channels: channel,
      operation: "channels.users",
      method: "GET",
      path: `${path}/users`,
      decode: decodeUsers
    })
  })

  return { list, get, users } as const
})

/**
 * The channel state operations.
 *
 * @since 0.1.0
 */
export type Channels = Effect.Success<typeof make>
