/**
 * Publishing: `trigger` (one event to one or more channels), `triggerBatch` and `sendToUser`.
 *
 * Every publish is validated before anything is sent, serialised once, and carries an
 * idempotency key (the caller's, or a generated one when `autoIdempotency` is on). The key is
 * chosen the first time the returned Effect runs and kept for every re-run of that same Effect,
 * so the SDK's retries and a caller's `Effect.retry` re-send exactly the same bytes; each call
 * of `trigger` is a new logical publish with a new key.
 *
 * The module holds what publishing takes and answers (the options of `trigger`, `sendToUser` and
 * `triggerBatch`, the batch events, and the per-channel receipts with their response schemas)
 * and the operations built on them. `MessageExtras` is re-exported from `Extras`, which it shares
 * with message mutations.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { Encryption } from "../Crypto.ts"
import { orElse, tolerant } from "../Decode.ts"
import type { SockudoEncryptionError, SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { Http, prepareBody, type Request, schemaDecoder } from "../Http.ts"
import { newKey, scopedKey } from "../Idempotency.ts"
import { md5Hex } from "../Signer.ts"
import { type Limits, SockudoConfig } from "../SockudoConfig.ts"
import * as SockudoEvent from "../SockudoEvent.ts"
import * as Validation from "../Validation.ts"
import { checkExtras, type MessageExtras } from "./Extras.ts"

export type { MessageExtras } from "./Extras.ts"

/**
 * Attributes the server can report per channel in a publish response.
 *
 * @since 0.1.0
 */
export type PublishInfo = "user_count" | "subscription_count"

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
 * What a publish takes after its channels (or user): an event name, its data and options, or a
 * typed event (`SockudoEvent`'s `make`) and options, whose data its Schema encodes.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Sockudo, SockudoEvent } from "effect-sockudo"
 *
 * const OrderCreated = SockudoEvent.make("order.created", Schema.Struct({ id: Schema.String }))
 * const publish = Effect.gen(function* () {
 *   const sockudo = yield* Sockudo.Sockudo
 *   yield* sockudo.trigger("orders", "order.created", { id: "ord_1" }, { socketId: "123.456" })
 *   yield* sockudo.trigger("orders", OrderCreated.make({ id: "ord_1" }), { socketId: "123.456" })
 * })
 * ```
 *
 * @since 0.2.0
 */
export type PublishArgs =
  | [name: string, data: unknown, options?: TriggerOptions | undefined]
  | [event: SockudoEvent.Outgoing, options?: TriggerOptions | undefined]

/**
 * A publish's event name, data and options, however they were given.
 *
 * @since 0.2.0
 */
export interface Publish {
  /** The event name. */
  readonly name: string
  /** The data: as given, or a typed event's (encoded with its Schema when the publish is prepared). */
  readonly data: unknown
  /** The options. */
  readonly options: TriggerOptions | undefined
}

/**
 * The name, data and options of a publish given as {@link PublishArgs}: a typed event's own,
 * or the arguments as given. A typed event with a third argument is refused (its options come
 * second), also from plain JavaScript.
 *
 * @since 0.2.0
 */
export const publishArgs = (
  operation: string,
  nameOrEvent: string | SockudoEvent.Outgoing,
  dataOrOptions: unknown,
  options: TriggerOptions | undefined
): Result.Result<Publish, SockudoValidationError> => {
  if (!SockudoEvent.isOutgoing(nameOrEvent)) {
    return Result.succeed({ name: nameOrEvent as string, data: dataOrOptions, options })
  }
  if (options !== undefined) {
    return Validation.invalid(
      operation,
      "options",
      "of a typed event come right after it (trigger(channel, event, options))"
    )
  }
  return Result.succeed({ name: nameOrEvent.name, data: nameOrEvent.data, options: dataOrOptions as TriggerOptions })
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
  /**
   * The event data: a string is sent as is, anything else as its JSON; the data of a typed
   * event (`{ channel, ...OrderCreated.make(order) }`) is encoded with its Schema.
   */
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

/**
 * Errors of publishing.
 *
 * @since 0.1.0
 */
export type PublishError = SockudoValidationError | SockudoEncryptionError | SockudoRequestError

const emptyChannels: Readonly<Record<string, ChannelReceipt>> = {}
const noReceipts = Result.succeed(emptyChannels)

/**
 * The decoder of a one-request trigger's answer into its result. Made apart from the publish, so
 * that what a publish in flight holds is the key, not everything the publish was prepared from.
 */
const decodeTriggerResult =
  (idempotencyKey: string | undefined) =>
  (u: unknown): Result.Result<TriggerResult, string> =>
    Result.map(decodeChannels(u), (channels) => ({ idempotencyKey, channels }))
const emptyReceipt: ChannelReceipt = {}

const decodeTrigger = schemaDecoder(TriggerResponse)
const decodeBatch = schemaDecoder(BatchResponse)

/**
 * The per-channel receipts of a `/events` answer. A key that an item of an earlier batch used
 * is answered with that item's stored marker, the number `1`: published before, no receipt.
 */
const decodeChannels = (u: unknown): Result.Result<Readonly<Record<string, ChannelReceipt>>, string> =>
  // Without `channels` (Sockudo's `{"ok": true}`, Pusher's `{}`, the stored marker 1) there is no
  // receipt, whatever else the answer holds: every field of TriggerResponse is tolerant.
  typeof u !== "object" || u === null || (u as { readonly channels?: unknown }).channels === undefined
    ? noReceipts
    : Result.map(decodeTrigger(u), (r) => r.channels ?? emptyChannels)

/**
 * A batch answer: one receipt per item, or `undefined` when no item asked for one.
 *
 * @since 0.2.0
 */
export type BatchEntries = ReadonlyArray<ChannelReceipt> | undefined

const batchRequest = (
  operation: string,
  body: string,
  messages: number,
  batchKey: string | undefined
): Request<BatchEntries> =>
  publishRequest(operation, "/batch_events", body, batchKey, (u) => Result.map(decodeBatch(u), (r) => r.batch), {
    messages
  })

const decodeSent = (u: unknown): Result.Result<SentPublish, string> =>
  Result.map(decodeChannels(u), (channels) => ({ replayed: u === 1, channels }))

/**
 * A publish validated and serialised for a batch item or a `/events` body (the two take the
 * same object).
 *
 * @since 0.2.0
 */
export interface PreparedPublish {
  /** The event as sent, serialised. */
  readonly json: string
  /** Its UTF-8 length. */
  readonly bytes: number
  /** Its key, the same on every request that carries it. */
  readonly idempotencyKey: string | undefined
  /** The channel the server answers for in a batch (the first one). */
  readonly channel: string
}

/**
 * What `/events` answered for a prepared publish: `replayed` when its key belonged to an item of
 * an earlier batch (published then).
 *
 * @since 0.2.0
 */
export interface SentPublish {
  /** The key was an earlier batch item's: published then, no receipt now. */
  readonly replayed: boolean
  /** The per-channel receipts, as from `trigger`. */
  readonly channels: Readonly<Record<string, ChannelReceipt>>
}

/**
 * What the `Publisher` builds on: the same validation, serialisation and requests as `trigger`
 * and `triggerBatch`, one request at a time.
 *
 * @since 0.2.0
 */
export interface PublishKit {
  /** The configured limits. */
  readonly limits: Limits
  /** A key for a batch request (`undefined` when automatic keys are off). */
  readonly batchKey: () => string | undefined
  /** Validates and serialises one publish as `trigger` would, sealed for an encrypted channel. */
  readonly prepare: (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    data: unknown,
    options: TriggerOptions | undefined
  ) => Result.Result<PreparedPublish, SockudoValidationError | SockudoEncryptionError>
  /**
   * One `batch_events` request of these items (each a {@link PreparedPublish.json}); a 503
   * `backpressure` (the batch's key is claimed: it failed part way, or still runs) is not retried.
   */
  readonly sendBatch: (
    operation: string,
    items: ReadonlyArray<string>,
    batchKey: string | undefined
  ) => Effect.Effect<BatchEntries, SockudoRequestError>
  /**
   * One `/events` request of a prepared publish, under its own key; a 503 `backpressure` (the
   * key is claimed) is not retried.
   */
  readonly sendOne: (operation: string, item: PreparedPublish) => Effect.Effect<SentPublish, SockudoRequestError>
}

/**
 * The key under which the `Sockudo` service carries its {@link PublishKit}.
 *
 * @since 0.2.0
 */
export const publishKit: unique symbol = Symbol.for("effect-sockudo/PublishKit")

/** `{"batch":[` and `]}`. */
const batchOverhead = 12

/**
 * The key of part `index` of a publish under `key`: `<key>:<index>`, or the key's MD5 in hex
 * for the prefix when that would not fit the server's 128 characters. The same on every run.
 *
 * @since 0.2.0
 */
export const deriveKey = (key: string, index: number): string => {
  const suffix = `:${index}`
  return (key.length + suffix.length <= 128 ? key : md5Hex(key)) + suffix
}

const { invalid } = Validation

type Wire = Record<string, unknown>

/** A publish request: the key goes in the `X-Idempotency-Key` header too. */
const publishRequest = <A>(
  operation: string,
  path: string,
  body: string,
  idempotencyKey: string | undefined,
  decode: Request<A>["decode"],
  about: Pick<Request<A>, "channels" | "event" | "messages">
): Request<A> => ({
  operation,
  channels: about.channels,
  event: about.event,
  messages: about.messages,
  method: "POST",
  path,
  body: prepareBody(body),
  headers: idempotencyKey === undefined ? undefined : { "x-idempotency-key": idempotencyKey },
  decode,
  // Without a key a retried publish could be delivered twice: only retry what never ran.
  retry: idempotencyKey === undefined ? "rejected-only" : "retryable",
  // Aborted mid-request, the server would leave the key claimed (503) for its whole TTL.
  finishOnTimeout: idempotencyKey !== undefined
})

/** Validates an event's options and writes them onto the wire object, in the server's names. */
const addOptions = (
  operation: string,
  prefix: string,
  wire: Wire,
  options: EventOptions | undefined
): Result.Result<Wire, SockudoValidationError> => {
  if (options === undefined) return Result.succeed(wire)
  const optionsReason = Validation.optionsReason(options)
  if (optionsReason) return invalid(operation, "options", optionsReason)
  if (options.socketId !== undefined) {
    const reason = Validation.socketId(options.socketId)
    if (reason) return invalid(operation, `${prefix}socketId`, reason)
    wire.socket_id = options.socketId
  }
  if (options.info !== undefined) {
    if (!Array.isArray(options.info)) {
      return invalid(operation, `${prefix}info`, "must be a list of 'user_count' and 'subscription_count'")
    }
    for (const attribute of options.info) {
      if (attribute !== "user_count" && attribute !== "subscription_count") {
        return invalid(operation, `${prefix}info`, "may contain only 'user_count' and 'subscription_count'")
      }
    }
    wire.info = options.info.join(",")
  }
  if (options.messageId !== undefined) {
    if (typeof options.messageId !== "string" || options.messageId.length === 0) {
      return invalid(operation, `${prefix}messageId`, "must be a non-empty string")
    }
    wire.message_id = options.messageId
  }
  if (options.tags !== undefined) {
    if (!Validation.isRecord(options.tags as unknown))
      return invalid(operation, `${prefix}tags`, "must be an object of strings")
    for (const [k, v] of Object.entries(options.tags)) {
      if (typeof v !== "string") return invalid(operation, `${prefix}tags.${k}`, "must be a string")
    }
    wire.tags = options.tags
  }
  if (options.delta !== undefined) {
    if (typeof options.delta !== "boolean") return invalid(operation, `${prefix}delta`, "must be a boolean")
    wire.delta = options.delta
  }
  if (options.extras !== undefined) {
    const extras = checkExtras(operation, `${prefix}extras`, options.extras)
    if (Result.isFailure(extras)) return Result.fail(extras.failure)
    wire.extras = extras.success
  }
  return Result.succeed(wire)
}

/**
 * Builds the publishing operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const encryption = yield* Encryption
  const limits: Limits = config.limits

  const chooseKey = (given: string | undefined) =>
    given ?? scopedKey() ?? (config.autoIdempotency ? newKey() : undefined)

  /** The `data` field as sent: serialised, and sealed for an encrypted channel. */
  const wireData = (
    operation: string,
    field: string,
    channel: string,
    data: unknown
  ): Result.Result<string, SockudoValidationError | SockudoEncryptionError> => {
    const encrypted = Validation.isEncryptedChannel(channel)
    // Typed data is the JSON of its encoded form, so its definition decodes it back; encrypted
    // payloads are always JSON, so clients decode a string as a string.
    const serialized = SockudoEvent.isTypedData(data)
      ? SockudoEvent.serialize(data)
      : encrypted
        ? Validation.toJson(data)
        : Validation.serializeData(data)
    if ("error" in serialized) return invalid(operation, field, serialized.error)
    let json = serialized.json
    if (encrypted) {
      const sealed = encryption.seal(channel, json)
      if (Result.isFailure(sealed)) return Result.fail(sealed.failure)
      json = sealed.success
    }
    if (limits.maxPayloadBytes !== undefined) {
      const bytes = Validation.byteLength(json)
      if (bytes > limits.maxPayloadBytes) {
        return invalid(operation, field, `is ${bytes} bytes, above the limit of ${limits.maxPayloadBytes}`)
      }
    }
    return Result.succeed(json)
  }

  /** Validates one event of a batch and builds its wire object, data serialised (and sealed). */
  const prepareItem = (
    operation: string,
    field: string,
    event: BatchEvent
  ): Result.Result<Wire, SockudoValidationError | SockudoEncryptionError> => {
    if (!Validation.isRecord(event as unknown)) return invalid(operation, field, "must be an object")
    const channelReason = Validation.channelName(event.channel, limits)
    if (channelReason) return invalid(operation, `${field}.channel`, channelReason)
    const nameReason = Validation.eventName(event.name, limits)
    if (nameReason) return invalid(operation, `${field}.name`, nameReason)
    const json = wireData(operation, `${field}.data`, event.channel, event.data)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    const wire: Wire = { channel: event.channel, name: event.name, data: json.success }
    const withOptions = addOptions(operation, `${field}.`, wire, event)
    if (Result.isFailure(withOptions)) return Result.fail(withOptions.failure)
    if (event.idempotencyKey !== undefined) {
      const reason = Validation.idempotencyKey(event.idempotencyKey)
      if (reason) return invalid(operation, `${field}.idempotencyKey`, reason)
      wire.idempotency_key = event.idempotencyKey
    }
    return Result.succeed(wire)
  }

  const checkKey = (operation: string, field: string, key: string | undefined) => {
    if (key === undefined) return undefined
    const reason = Validation.idempotencyKey(key)
    return reason ? Validation.validationError(operation, field, reason) : undefined
  }

  /** The channels, name and key of one publish. */
  const checkPublish = (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    options: TriggerOptions | undefined
  ): SockudoValidationError | undefined => {
    for (let i = 0; i < channels.length; i++) {
      const reason = Validation.channelName(channels[i], limits)
      if (reason) {
        return Validation.validationError(operation, channels.length === 1 ? "channel" : `channels[${i}]`, reason)
      }
    }
    const nameReason = Validation.eventName(name, limits)
    if (nameReason) return Validation.validationError(operation, "name", nameReason)
    return checkKey(operation, "idempotencyKey", options?.idempotencyKey)
  }

  /**
   * Sends prepared batch items in as few requests as `maxBatchSize` and `maxRequestBytes` allow,
   * in order, and answers one receipt per item (`undefined` when no item asked for one). Every
   * chunk's `X-Idempotency-Key` is derived from `batchKey`, so a re-run re-sends the same keys.
   */
  const planBatch = (
    operation: string,
    fieldOf: (index: number) => string,
    items: ReadonlyArray<string>,
    batchKey: string | undefined
  ): Result.Result<Effect.Effect<BatchEntries, SockudoRequestError>, SockudoValidationError> => {
    const maxItems = limits.maxBatchSize ?? Number.POSITIVE_INFINITY
    const chunks: Array<{ readonly body: string; readonly size: number }> = []
    let parts: Array<string> = []
    let bytes = batchOverhead
    for (let i = 0; i < items.length; i++) {
      const json = items[i]!
      const itemBytes = Validation.byteLength(json)
      if (batchOverhead + itemBytes > limits.maxRequestBytes) {
        return invalid(
          operation,
          fieldOf(i),
          `is ${itemBytes} bytes as sent, above the request limit of ${limits.maxRequestBytes}`
        )
      }
      const separator = parts.length === 0 ? 0 : 1
      if (parts.length > 0 && (parts.length === maxItems || bytes + separator + itemBytes > limits.maxRequestBytes)) {
        chunks.push({ body: `{"batch":[${parts.join(",")}]}`, size: parts.length })
        parts = []
        bytes = batchOverhead
      }
      bytes += (parts.length === 0 ? 0 : 1) + itemBytes
      parts.push(json)
    }
    chunks.push({ body: `{"batch":[${parts.join(",")}]}`, size: parts.length })
    const requests = chunks.map((chunk, j) =>
      batchRequest(
        operation,
        chunk.body,
        chunk.size,
        chunks.length === 1 || batchKey === undefined ? batchKey : deriveKey(batchKey, j)
      )
    )
    if (requests.length === 1) return Result.succeed(http.request(requests[0]!))
    return Result.succeed(
      Effect.map(Effect.forEach(requests, http.request), (answers) => {
        if (answers.every((entries) => entries === undefined)) return undefined
        return answers.flatMap((entries, j) => entries ?? Array.from({ length: chunks[j]!.size }, () => emptyReceipt))
      })
    )
  }

  const prepareTrigger = (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    data: unknown,
    options: TriggerOptions | undefined
  ): Result.Result<
    Effect.Effect<TriggerResult, SockudoRequestError>,
    SockudoValidationError | SockudoEncryptionError
  > => {
    if (!Array.isArray(channels)) return invalid(operation, "channel", "must be a channel name or a list of them")
    if (channels.length === 0) return invalid(operation, "channels", "must name at least one channel")
    const refused = checkPublish(operation, channels, name, options)
    if (refused) return Result.fail(refused)
    const idempotencyKey = chooseKey(options?.idempotencyKey)
    if (channels.length > 1 && channels.some(Validation.isEncryptedChannel)) {
      return prepareFanOut(operation, channels, name, data, options, idempotencyKey)
    }
    const json = wireData(operation, "data", channels[0]!, data)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    /** The `/events` request to `group` under `key`, or why it cannot be sent. */
    const eventsRequest = <A>(
      group: ReadonlyArray<string>,
      key: string | undefined,
      decode: Request<A>["decode"]
    ): Result.Result<Request<A>, SockudoValidationError> => {
      const wire = addOptions(operation, "", { name, data: json.success, channels: group }, options)
      if (Result.isFailure(wire)) return Result.fail(wire.failure)
      if (key !== undefined) wire.success.idempotency_key = key
      const request = publishRequest(operation, "/events", JSON.stringify(wire.success), key, decode, {
        channels: group,
        event: name
      })
      return request.body!.size > limits.maxRequestBytes
        ? invalid(operation, "data", `makes a request above the limit of ${limits.maxRequestBytes} bytes`)
        : Result.succeed(request)
    }
    if (channels.length <= limits.maxChannelsPerTrigger) {
      // One request: its decoder answers the result itself, with no step after the request.
      return Result.map(eventsRequest(channels, idempotencyKey, decodeTriggerResult(idempotencyKey)), http.request)
    }
    const groups = Arr.chunksOf(channels, limits.maxChannelsPerTrigger)
    const requests: Array<Request<Readonly<Record<string, ChannelReceipt>>>> = []
    for (let j = 0; j < groups.length; j++) {
      const key = idempotencyKey === undefined ? undefined : deriveKey(idempotencyKey, j)
      const request = eventsRequest(groups[j]!, key, decodeChannels)
      if (Result.isFailure(request)) return Result.fail(request.failure)
      requests.push(request.success)
    }
    return Result.succeed(
      Effect.map(Effect.forEach(requests, http.request), (answers) => ({
        idempotencyKey,
        channels: Object.assign({}, ...answers) as Record<string, ChannelReceipt>
      }))
    )
  }

  /**
   * A publish to several channels of which some are `private-encrypted-`: one batch item per
   * encrypted channel (sealed with that channel's key), the other channels together, or one
   * item each when the caller asked for receipts (a batch answers for an item's first channel).
   */
  const prepareFanOut = (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    data: unknown,
    options: TriggerOptions | undefined,
    idempotencyKey: string | undefined
  ): Result.Result<
    Effect.Effect<TriggerResult, SockudoRequestError>,
    SockudoValidationError | SockudoEncryptionError
  > => {
    const perChannel = options?.info !== undefined || options?.messageId !== undefined
    const plain = channels.filter((channel) => !Validation.isEncryptedChannel(channel))
    const targets: Array<ReadonlyArray<string>> = channels.filter(Validation.isEncryptedChannel).map((c) => [c])
    if (perChannel) for (const channel of plain) targets.push([channel])
    else if (plain.length > 0) targets.push(...Arr.chunksOf(plain, limits.maxChannelsPerTrigger))
    const items: Array<string> = []
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!
      const json = wireData(operation, "data", target[0]!, data)
      if (Result.isFailure(json)) return Result.fail(json.failure)
      const wire: Wire =
        target.length === 1
          ? { channel: target[0], name, data: json.success }
          : { channels: target, name, data: json.success }
      const withOptions = addOptions(operation, "", wire, options)
      if (Result.isFailure(withOptions)) return Result.fail(withOptions.failure)
      if (idempotencyKey !== undefined) wire.idempotency_key = deriveKey(idempotencyKey, i)
      items.push(JSON.stringify(wire))
    }
    const plan = planBatch(operation, () => "data", items, idempotencyKey)
    if (Result.isFailure(plan)) return Result.fail(plan.failure)
    return Result.succeed(
      Effect.map(plan.success, (entries) => {
        const receipts: Record<string, ChannelReceipt> = {}
        if (entries !== undefined) {
          for (let i = 0; i < targets.length; i++) {
            const entry = entries[i]
            if (entry !== undefined && Object.keys(entry).length > 0) receipts[targets[i]![0]!] = entry
          }
        }
        return { idempotencyKey, channels: receipts }
      })
    )
  }

  /**
   * Publishes one event to one channel or several. A publish to more than
   * `limits.maxChannelsPerTrigger` channels is split into several requests, in order, each
   * with its own key derived from the publish's key; a publish to several channels of which
   * some are `private-encrypted-` is sealed once per encrypted channel and sent as one batch.
   *
   * ```ts
   * import { Effect } from "effect"
   * import { Sockudo } from "effect-sockudo"
   *
   * const publish = Effect.gen(function* () {
   *   const sockudo = yield* Sockudo.Sockudo
   *   const receipt = yield* sockudo.trigger("orders", "order.created", { id: "ord_1" }, {
   *     socketId: "123.456", info: ["subscription_count"]
   *   })
   *   return receipt.channels.orders?.subscription_count
   * })
   * ```
   */
  const trigger: (
    channels: string | ReadonlyArray<string>,
    ...args: PublishArgs
  ) => Effect.Effect<TriggerResult, PublishError> = (channels, nameOrEvent, dataOrOptions?, maybeOptions?) =>
    http.planOnce("Sockudo.trigger", () => {
      const args = publishArgs("trigger", nameOrEvent, dataOrOptions, maybeOptions)
      if (Result.isFailure(args)) return Result.fail(args.failure)
      const { name, data, options } = args.success
      return prepareTrigger("trigger", typeof channels === "string" ? [channels] : channels, name, data, options)
    })

  /**
   * Publishes an event to every signed-in connection of one user (`#server-to-user-<id>`).
   */
  const sendToUser: (userId: string, ...args: PublishArgs) => Effect.Effect<TriggerResult, PublishError> = (
    userId,
    nameOrEvent,
    dataOrOptions?,
    maybeOptions?
  ) =>
    http.planOnce("Sockudo.sendToUser", () => {
      const reason = Validation.channelUserId(userId)
      if (reason) return invalid("sendToUser", "userId", reason)
      const args = publishArgs("sendToUser", nameOrEvent, dataOrOptions, maybeOptions)
      if (Result.isFailure(args)) return Result.fail(args.failure)
      const { name, data, options } = args.success
      return prepareTrigger("sendToUser", [Validation.userChannelPrefix + userId], name, data, options)
    })

  const prepareBatch = (
    events: ReadonlyArray<BatchEvent>,
    options: BatchOptions | undefined
  ): Result.Result<
    Effect.Effect<BatchResult, SockudoRequestError>,
    SockudoValidationError | SockudoEncryptionError
  > => {
    const operation = "triggerBatch"
    if (!Array.isArray(events)) return invalid(operation, "events", "must be a list of events")
    if (events.length === 0) return invalid(operation, "events", "must contain at least one event")
    const optionsReason = Validation.optionsReason(options)
    if (optionsReason) return invalid(operation, "options", optionsReason)
    const keyError = checkKey(operation, "idempotencyKey", options?.idempotencyKey)
    if (keyError) return Result.fail(keyError)
    const idempotencyKey = chooseKey(options?.idempotencyKey)
    const items: Array<string> = []
    for (let i = 0; i < events.length; i++) {
      const wire = prepareItem(operation, `events[${i}]`, events[i]!)
      if (Result.isFailure(wire)) return Result.fail(wire.failure)
      if (wire.success.idempotency_key === undefined && idempotencyKey !== undefined) {
        wire.success.idempotency_key = deriveKey(idempotencyKey, i)
      }
      items.push(JSON.stringify(wire.success))
    }
    const plan = planBatch(operation, (i) => `events[${i}]`, items, idempotencyKey)
    if (Result.isFailure(plan)) return Result.fail(plan.failure)
    return Result.succeed(Effect.map(plan.success, (batch) => ({ idempotencyKey, batch: batch ?? [] })))
  }

  /**
   * Publishes several events; events on `private-encrypted-` channels are sealed one by one.
   * The server processes items in order and is not atomic: on an error at item k the items
   * before it stay published. Every item carries an idempotency key (its own, or
   * `<batch key>:<index>` when the batch has one), so a re-run skips the items already
   * published. A batch above `limits.maxBatchSize` events or `limits.maxRequestBytes` is split
   * into several requests, in order.
   */
  const triggerBatch = (
    events: ReadonlyArray<BatchEvent>,
    options?: BatchOptions
  ): Effect.Effect<BatchResult, PublishError> =>
    http.planOnce("Sockudo.triggerBatch", () => prepareBatch(events, options))

  const preparePublish = (
    operation: string,
    channels: ReadonlyArray<string>,
    name: string,
    data: unknown,
    options: TriggerOptions | undefined
  ): Result.Result<PreparedPublish, SockudoValidationError | SockudoEncryptionError> => {
    const refused = checkPublish(operation, channels, name, options)
    if (refused) return Result.fail(refused)
    const channel = channels[0]!
    const json = wireData(operation, "data", channel, data)
    if (Result.isFailure(json)) return Result.fail(json.failure)
    const base: Wire =
      channels.length === 1 ? { channel, name, data: json.success } : { channels, name, data: json.success }
    const wire = addOptions(operation, "", base, options)
    if (Result.isFailure(wire)) return Result.fail(wire.failure)
    const idempotencyKey = chooseKey(options?.idempotencyKey)
    if (idempotencyKey !== undefined) wire.success.idempotency_key = idempotencyKey
    const text = JSON.stringify(wire.success)
    const bytes = Validation.byteLength(text)
    if (batchOverhead + bytes > limits.maxRequestBytes) {
      return invalid(operation, "data", `makes a request above the limit of ${limits.maxRequestBytes} bytes`)
    }
    return Result.succeed({ json: text, bytes, idempotencyKey, channel })
  }

  const kit: PublishKit = {
    limits,
    batchKey: () => chooseKey(undefined),
    prepare: preparePublish,
    sendBatch: (operation, items, batchKey) =>
      http.request({
        ...batchRequest(operation, `{"batch":[${items.join(",")}]}`, items.length, batchKey),
        retry: "unless-claimed"
      }),
    sendOne: (operation, item) =>
      http.request({
        ...publishRequest(operation, "/events", item.json, item.idempotencyKey, decodeSent, { channels: item.channel }),
        retry: "unless-claimed"
      })
  }

  return { trigger, triggerBatch, sendToUser, [publishKit]: kit } as const
})

/**
 * The publishing operations.
 *
 * @since 0.1.0
 */
export type Events = Effect.Success<typeof make>
