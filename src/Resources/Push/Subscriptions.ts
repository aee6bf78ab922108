/**
 * Channel subscriptions: which devices receive a channel's pushes. Subscribe a device, list a
 * channel's subscribers or a device's subscriptions, remove them, and list the channels that
 * have subscribers.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { SockudoValidationError } from "../../Errors.ts"
import { schemaDecoder } from "../../Http.ts"
import type { QueryParam } from "../../Signer.ts"
import { traced } from "../../Telemetry.ts"
import {
  type DeviceAccess,
  NonEmpty,
  type PageOptions,
  PositiveInt,
  type PushError,
  PushPage,
  PushProvider
} from "./Common.ts"
import { accessHeaders, invalid, json, nonEmpty, type PushContext, pageQuery, validator } from "./Request.ts"

const subscriptionFields = {
  channel: NonEmpty,
  deviceId: NonEmpty,
  clientId: Schema.optional(Schema.String),
  provider: PushProvider,
  /** The device's `tokenHash`, from its registration. */
  tokenHash: NonEmpty,
  credentialVersion: Schema.optional(PositiveInt)
}

/**
 * A device's subscription to a channel's pushes, as a caller gives it.
 *
 * @since 0.1.0
 */
export const NewChannelSubscription = Schema.Struct(subscriptionFields)
/** @since 0.1.0 */
export interface NewChannelSubscription extends Schema.Schema.Type<typeof NewChannelSubscription> {}

/**
 * A channel subscription on the wire and in responses (`appId` required, set by the SDK).
 *
 * @since 0.1.0
 */
export const ChannelSubscription = Schema.Struct({ appId: Schema.String, ...subscriptionFields })
/** @since 0.1.0 */
export interface ChannelSubscription extends Schema.Schema.Type<typeof ChannelSubscription> {}

/**
 * `DELETE channelSubscriptions`: how many subscriptions were removed.
 *
 * @since 0.1.0
 */
export const DeletedSubscriptions = Schema.Struct({ deleted: Schema.Number })
/** @since 0.1.0 */
export interface DeletedSubscriptions extends Schema.Schema.Type<typeof DeletedSubscriptions> {}

/**
 * Options of `subscriptions.list`: at most one of `channel` and `deviceId` (neither lists all).
 *
 * @since 0.1.0
 */
export interface SubscriptionListOptions extends PageOptions, DeviceAccess {
  /** Only this channel's subscriptions. */
  readonly channel?: string | undefined
  /** Required with `deviceIdentityToken`. */
  readonly deviceId?: string | undefined
}

/**
 * Which subscriptions `subscriptions.delete` removes: a channel's or a device's.
 *
 * @since 0.1.0
 */
export type SubscriptionSelector =
  | {
      /** Every subscription of this channel. */
      readonly channel: string
      /** Not with `channel`. */
      readonly deviceId?: undefined
    }
  | {
      /** Every subscription of this device. */
      readonly deviceId: string
      /** Not with `deviceId`. */
      readonly channel?: undefined
    }

const checkSubscription = validator(NewChannelSubscription)
const decodeSubscription = schemaDecoder(ChannelSubscription)
const decodeSubscriptions = schemaDecoder(PushPage(ChannelSubscription))
const decodeDeleted = schemaDecoder(DeletedSubscriptions)
const decodeChannels = schemaDecoder(PushPage(Schema.String))

/** `channel` or `deviceId` (exactly one when `required`), and `deviceId` whenever a token is used. */
const selectorQuery = (
  operation: string,
  selector: { readonly channel?: string | undefined; readonly deviceId?: string | undefined } | undefined,
  access: DeviceAccess | undefined,
  required: boolean
): Result.Result<Array<QueryParam>, SockudoValidationError> => {
  const channel = selector?.channel
  const deviceId = selector?.deviceId
  if (channel !== undefined && deviceId !== undefined) {
    return invalid(operation, "channel", "and deviceId exclude each other")
  }
  if (access?.deviceIdentityToken !== undefined && deviceId === undefined) {
    return invalid(operation, "deviceId", "is required with deviceIdentityToken")
  }
  if (channel !== undefined) return Result.map(nonEmpty(operation, "channel", channel), (c) => [["channel", c]])
  if (deviceId !== undefined) return Result.map(nonEmpty(operation, "deviceId", deviceId), (d) => [["deviceId", d]])
  return required ? invalid(operation, "channel", "or deviceId is required") : Result.succeed([])
}

/**
 * Builds `push.subscriptions`.
 *
 * @since 0.1.0
 */
export const make = ({ http, appId, list }: PushContext) => {
  const subscriptions = {
    /** Subscribes a device to a channel's pushes (as admin, or with the device's token). */
    upsert: traced("Sockudo.push.subscriptions.upsert")(function* (
      subscription: NewChannelSubscription,
      access?: DeviceAccess
    ): Effect.fn.Return<ChannelSubscription, PushError> {
      const operation = "push.subscriptions.upsert"
      const checked = yield* Effect.fromResult(checkSubscription(operation, "subscription", subscription))
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({
        operation,
        method: "POST",
        path: "/push/channelSubscriptions",
        body: json({ appId, ...checked }),
        headers,
        decode: decodeSubscription
      })
    }),
    /** One page of a channel's subscribers, a device's subscriptions, or all subscriptions. */
    list: traced("Sockudo.push.subscriptions.list")(function* (
      options?: SubscriptionListOptions
    ): Effect.fn.Return<PushPage<ChannelSubscription>, PushError> {
      const operation = "push.subscriptions.list"
      const selector = yield* Effect.fromResult(selectorQuery(operation, options, options, false))
      const paging = yield* Effect.fromResult(pageQuery(operation, options))
      const headers = yield* Effect.fromResult(accessHeaders(operation, options))
      return yield* http.request({
        operation,
        method: "GET",
        path: "/push/channelSubscriptions",
        query: [...selector, ...paging],
        headers,
        decode: decodeSubscriptions
      })
    }),
    /** Removes a channel's or a device's subscriptions. */
    delete: traced("Sockudo.push.subscriptions.delete")(function* (
      selector: SubscriptionSelector,
      access?: DeviceAccess
    ): Effect.fn.Return<DeletedSubscriptions, PushError> {
      const operation = "push.subscriptions.delete"
      const query = yield* Effect.fromResult(selectorQuery(operation, selector, access, true))
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({
        operation,
        method: "DELETE",
        path: "/push/channelSubscriptions",
        query,
        headers,
        decode: decodeDeleted
      })
    }),
    /** One page of the channels that have push subscribers. */
    channels: traced("Sockudo.push.subscriptions.channels")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<string>, PushError> {
      return yield* list("push.subscriptions.channels", "/push/channelSubscriptions/channels", decodeChannels, options)
    })
  }
  return subscriptions
}
