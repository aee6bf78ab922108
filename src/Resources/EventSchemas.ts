/**
 * What publishing takes and answers: the options of `trigger`, `sendToUser` and `triggerBatch`,
 * the batch events, the message extras, and the per-channel receipts with their response schemas.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { orElse, tolerant } from "../Decode.ts"

/**
 * Attributes the server can report per channel in a publish response.
 *
 * @since 0.1.0
 */
export type PublishInfo = "user_count" | "subscription_count"

/**
 * `extras` of a Sockudo message (sent camelCase, as the server reads them). Delivered to
 * Protocol V2 connections only.
 *
 * @since 0.1.0
 */
export interface MessageExtras {
  /** Flat headers; `sockudo_*` names are reserved by the server. */
  readonly headers?: Readonly<Record<string, string | number | boolean>> | undefined
  /** Skip history, the recovery buffer and versioning. */
  readonly ephemeral?: boolean | undefined
  /** Whether the publishing connection gets the message back; overrides the connection's echo setting. */
  readonly echo?: boolean | undefined
  /** Message-level dedupe key (only effective when connection recovery is off). */
  readonly idempotencyKey?: string | undefined
  /** A push notification payload sent to the channel's push subscribers. */
  readonly push?: Readonly<Record<string, unknown>> | undefined
  /** AI Transport metadata: string maps under `transport` and `codec`. */
  readonly ai?:
    | {
        /** Transport fields of the AI Transport convention (such as `status`). */
        readonly transport?: Readonly<Record<string, string>> | undefined
        /** Codec fields of the AI Transport convention. */
        readonly codec?: Readonly<Record<string, string>> | undefined
      }
    | undefined
}

/**
 * Options of one published event.
 *
 * @since 0.1.0
 */
export interface EventOptions {
  /** Exclude this connection (`"1234.5678"`) from delivery. */
  readonly socketId?: string | undefined
  /**
   * Ask for per-channel counts; switches the response to the per-channel form, whose receipts
   * carry the serials on versioned channels. `[]` asks for that form without counts.
   */
  readonly info?: ReadonlyArray<PublishInfo> | undefined
  /** Client-chosen message identity; also the message-level dedupe key. */
  readonly messageId?: string | undefined
  /** V2 extras delivered with the message (headers, ephemeral, push...). */
  readonly extras?: MessageExtras | undefined
  /** Tag metadata for server-side filtering. */
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** `false` forces a full (non-delta) message. */
  readonly delta?: boolean | undefined
}

/**
 * Options of `trigger` and `sendToUser`.
 *
 * @since 0.1.0
 */
export interface TriggerOptions extends EventOptions {
  /** Dedupe key of this publish (default: generated when `autoIdempotency` is on). */
  readonly idempotencyKey?: string | undefined
}

/**
 * One event of a batch.
 *
 * @since 0.1.0
 */
export interface BatchEvent extends EventOptions {
  /** The channel of this event (one per batch item). */
  readonly channel: string
  /** The event name. */
  readonly name: string
  /** The event data: a string is sent as is, anything else as its JSON. */
  readonly data: unknown
  /** This item's own dedupe key (shares the server's key space with `trigger` keys). */
  readonly idempotencyKey?: string | undefined
}

/**
 * Options of `triggerBatch`.
 *
 * @since 0.1.0
 */
export interface BatchOptions {
  /** Dedupe key of the whole batch (`X-Idempotency-Key`); default generated when `autoIdempotency` is on. */
  readonly idempotencyKey?: string | undefined
}

/**
 * What the server reports for one channel of a publish: the acknowledgement id, serials on
 * versioned channels, and the counts that were asked for. Every field is tolerant: one of an
 * unexpected type (a serial past 2^53 sent as a string, say) is `undefined`, never a failed
 * publish; fields this SDK does not know are kept.
 *
 * @since 0.1.0
 */
export const ChannelReceipt = Schema.Struct({
  acknowledgement_id: tolerant(Schema.String),
  message_serial: tolerant(Schema.String),
  history_serial: tolerant(Schema.Number),
  delivery_serial: tolerant(Schema.Number),
  version_serial: tolerant(Schema.String),
  user_count: tolerant(Schema.Number),
  subscription_count: tolerant(Schema.Number)
})

/**
 * @since 0.1.0
 */
export interface ChannelReceipt extends Schema.Schema.Type<typeof ChannelReceipt> {
  /** Fields a newer server adds. */
  readonly [field: string]: unknown
}

const receipt = orElse(ChannelReceipt, {})

/**
 * The publish response: `{"ok":true}` (Sockudo), `{}` (Pusher) or `{"channels":{...}}`. A 2xx
 * answer of any other shape decodes as `{}`: the publish was accepted.
 *
 * @since 0.1.0
 */
export const TriggerResponse = orElse(
  Schema.Struct({
    ok: tolerant(Schema.Boolean),
    channels: tolerant(Schema.Record(Schema.String, receipt))
  }),
  {}
)

/**
 * The batch response: `{}` or `{"batch":[{channel: receipt} | {}, ...]}`, as tolerant as
 * {@link TriggerResponse}.
 *
 * @since 0.1.0
 */
export const BatchResponse = orElse(Schema.Struct({ batch: tolerant(Schema.Array(receipt)) }), {})

/**
 * The result of `trigger` and `sendToUser`.
 *
 * @since 0.1.0
 */
export interface TriggerResult {
  /** The idempotency key that was sent, if any: the same on every retry. */
  readonly idempotencyKey: string | undefined
  /**
   * Per-channel receipts, only when the request asked for them: with `info` (`[]` for receipts
   * without counts), a `messageId`, or an AI event name (`ai-output`, ...). Empty otherwise,
   * on a versioned channel too. A receipt holds the serials only on channels with versioned
   * messages and history on.
   */
  readonly channels: Readonly<Record<string, ChannelReceipt>>
}

/**
 * The result of `triggerBatch`.
 *
 * @since 0.1.0
 */
export interface BatchResult {
  /** The batch's idempotency key that was sent, if any: the same on every retry. */
  readonly idempotencyKey: string | undefined
  /**
   * One receipt per event, in order, for the event's channel (its first, when it has several):
   * `{}` for an event that asked for no info or was skipped as a duplicate. Empty when no event
   * asked for info.
   */
  readonly batch: ReadonlyArray<ChannelReceipt>
}
