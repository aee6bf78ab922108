/**
 * Typed event definitions: an event's name and the Schema of its data, defined once and used to
 * publish it and to read it back.
 *
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { Sockudo, SockudoEvent, type Webhook } from "effect-sockudo"
 *
 * class Order extends Schema.Class<Order>("Order")({ id: Schema.String, placedAt: Schema.Date }) {}
 * const OrderCreated = SockudoEvent.make("order.created", Order)
 *
 * const program = Effect.gen(function* () {
 *   const sockudo = yield* Sockudo.Sockudo
 *   const order = new Order({ id: "ord_1", placedAt: new Date() })
 *   yield* sockudo.trigger("orders", OrderCreated.make(order))
 *   yield* sockudo.triggerBatch([{ channel: "orders", ...OrderCreated.make(order) }])
 *   // every `order.created` of the channel's history, decoded (a Result per item)
 *   return yield* sockudo.history.stream("orders").pipe(OrderCreated.decodeHistory, Stream.runCollect)
 * })
 *
 * // A client event in a webhook: its typed data, or fail with its SockudoEventDecodeError
 * const Typing = SockudoEvent.make("client-typing", Schema.Struct({ userId: Schema.String }))
 * const onWebhook = (webhook: Webhook.Webhook) =>
 *   Effect.forEach(webhook.events.filter(Typing.matches), (event) => Effect.fromResult(Typing.decode(event)))
 * ```
 *
 * **Publishing.** `make(data)` gives an {@link Outgoing} event: its `name` and its `data`,
 * which the SDK encodes with the Schema when it prepares the publish. It goes wherever a name
 * and data go: `trigger(channels, event, options)`, `sendToUser(userId, event, options)`,
 * `publisher.publish(channels, event, options)`, the Promise client's same methods, and a
 * batch item as `{ channel, ...event }`. Data that does not encode fails the publish with a
 * `SockudoValidationError` (field `data`, or `events[i].data` in a batch) before anything is
 * sent; a batch with one such item sends nothing.
 *
 * **The wire form.** The data is sent as the JSON text of the Schema's canonical JSON encoding
 * (`Schema.toCodecJson`): a `Schema.Date` travels as its ISO string, a `Schema.Class` as a plain
 * object of its encoded fields, a string as a JSON string (quoted, unlike untyped string data,
 * which is sent as is). On a `private-encrypted-` channel that text is what is sealed.
 *
 * **Reading.** `decode` takes a webhook event (a `client_event`, decrypted by
 * `webhooks.verify`) or a history item and answers a `Result`: the typed data, or a
 * {@link SockudoEventDecodeError} for that item (another event, data that is not JSON or does
 * not match, a client event that could not be decrypted). `matches` checks the name alone, and
 * `decodeHistory` turns a history `Stream` into a `Stream` of `Result`s, one per item of this
 * event, skipping the others. History items on `private-encrypted-` channels hold sealed data,
 * which the SDK does not open: decode them after opening the data yourself (`decodeData`).
 *
 * A name that breaks the SDK's event-name rules (non-empty, at most 200 bytes) is a programming
 * error: `make` throws a `SockudoValidationError` at definition time.
 *
 * @since 0.2.0
 */
import * as Formatter from "effect/Formatter"
import * as Inspectable from "effect/Inspectable"
import * as Pipeable from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { SockudoEventDecodeError } from "./Errors.ts"
import type { HistoryItem } from "./Resources/History.ts"
import { defaultLimits } from "./SockudoConfig.ts"
import * as Validation from "./Validation.ts"
import type { WebhookEvent } from "./Webhook.ts"

export { SockudoEventDecodeError } from "./Errors.ts"

const TypeId = "~effect-sockudo/SockudoEvent"
const OutgoingTypeId = "~effect-sockudo/SockudoEvent/Outgoing"
const DataTypeId = "~effect-sockudo/SockudoEvent/TypedData"

/**
 * A Schema a definition can use: decoding and encoding need no services and run synchronously.
 *
 * @since 0.2.0
 */
export type EventSchema = Schema.Top & {
  /** Decoding needs no services. */
  readonly DecodingServices: never
  /** Encoding needs no services. */
  readonly EncodingServices: never
}

/**
 * Where a definition reads events from: a webhook event or a history item.
 *
 * @since 0.2.0
 */
export type Source = WebhookEvent | HistoryItem

/**
 * A history item of a definition's event, with its decoded data.
 *
 * @since 0.2.0
 */
export interface HistoryEvent<A> {
  /** The data, decoded with the definition's Schema. */
  readonly data: A
  /** The item as the server returned it (serial, publish time, the raw message). */
  readonly item: HistoryItem
}

/**
 * The data of an {@link Outgoing} event: the value and the definition that encodes it. The SDK
 * encodes it when it prepares a publish; nothing else reads it.
 *
 * @since 0.2.0
 */
export interface TypedData<out A> extends Inspectable.Inspectable {
  /** Brands the value for the publish path. */
  readonly [DataTypeId]: typeof DataTypeId
  /** The value, as given to `make`. */
  readonly value: A
  /** The definition whose Schema encodes it. */
  readonly definition: Any
}

/**
 * An event ready to publish: what a definition's `make` returns. Pass it where a name and data
 * go (`trigger(channel, event)`), or spread it into a batch item (`{ channel, ...event }`).
 *
 * @since 0.2.0
 */
export interface Outgoing<out Name extends string = string, out A = unknown> extends Inspectable.Inspectable {
  /** Brands the value for `trigger`, `sendToUser` and `publish`. */
  readonly [OutgoingTypeId]: typeof OutgoingTypeId
  /** The event name. */
  readonly name: Name
  /** The data, encoded with the definition's Schema when the publish is prepared. */
  readonly data: TypedData<A>
}

/**
 * A typed event definition: a name and the Schema of its data.
 *
 * @since 0.2.0
 */
export interface SockudoEvent<out Name extends string, in out S extends EventSchema>
  extends Pipeable.Pipeable,
    Inspectable.Inspectable {
  /** Brands a definition. */
  readonly [TypeId]: typeof TypeId
  /** The event name, as published and as clients bind to it. */
  readonly name: Name
  /** The Schema of the event's data. */
  readonly schema: S
  /** The event with this data, to publish: `sockudo.trigger("orders", OrderCreated.make(order))`. */
  readonly make: (data: S["Type"]) => Outgoing<Name, S["Type"]>
  /**
   * True for a webhook `client_event` (or one that could not be decrypted) or a history item
   * of this event's name; the data is not looked at.
   */
  readonly matches: (source: Source) => boolean
  /**
   * The data of a webhook `client_event` or a history item of this event, decoded; a
   * {@link SockudoEventDecodeError} when the source is another event, or its data is not this
   * event's.
   */
  readonly decode: (source: Source) => Result.Result<S["Type"], SockudoEventDecodeError>
  /**
   * Decodes event data as it travels: the JSON text of the encoded form (or, from a source that
   * carries JSON values, the value). `channel` is named in a failure.
   */
  readonly decodeData: (data: unknown, channel?: string) => Result.Result<S["Type"], SockudoEventDecodeError>
  /**
   * A history `Stream` as this event's items, decoded one by one: items of other events are
   * skipped, an item that does not decode is a failed `Result` and the stream goes on.
   * Use it with `pipe`: `sockudo.history.stream("orders").pipe(OrderCreated.decodeHistory)`.
   */
  readonly decodeHistory: <E, R>(
    items: Stream.Stream<HistoryItem, E, R>
  ) => Stream.Stream<Result.Result<HistoryEvent<S["Type"]>, SockudoEventDecodeError>, E, R>
}

/**
 * Any definition.
 *
 * @since 0.2.0
 */
// A definition of any Schema: `any`, since the Schema is invariant.
export interface Any extends SockudoEvent<string, any> {}

/**
 * The type of a definition's data: `SockudoEvent.Type<typeof OrderCreated>`.
 *
 * @since 0.2.0
 */
export type Type<D extends Any> = D["schema"]["Type"]

/**
 * The encoded type of a definition's data, as its Schema declares it. What is sent is the JSON
 * of its canonical JSON form (a `Schema.Date`'s encoded `Date` travels as an ISO string).
 *
 * @since 0.2.0
 */
export type Encoded<D extends Any> = D["schema"]["Encoded"]

/**
 * The name of a definition: `SockudoEvent.Name<typeof OrderCreated>` is `"order.created"`.
 *
 * @since 0.2.0
 */
export type Name<D extends Any> = D["name"]

/**
 * True for a definition made by {@link make}.
 *
 * @since 0.2.0
 */
export const isSockudoEvent = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

/**
 * True for an event made by a definition's `make`.
 *
 * @since 0.2.0
 */
export const isOutgoing = (u: unknown): u is Outgoing => Predicate.hasProperty(u, OutgoingTypeId)

/**
 * True for the data of an {@link Outgoing} event.
 *
 * @since 0.2.0
 */
export const isTypedData = (u: unknown): u is TypedData<unknown> => Predicate.hasProperty(u, DataTypeId)

/** A schema error as one line, without the data (Schema reports no input unless asked to). */
const issueMessage = (error: Schema.SchemaError): string => error.message.replace(/\n\s*/g, " ")

interface Internal {
  readonly encode: (value: unknown) => Result.Result<unknown, Schema.SchemaError>
}

const internals = new WeakMap<object, Internal>()

/**
 * The JSON text of typed data as it is sent, or why it has none: the data does not match the
 * definition's Schema, or its encoded form is not JSON. The publish path calls it.
 *
 * @since 0.2.0
 */
export const serialize = (data: TypedData<unknown>): Validation.Serialized => {
  const internal = internals.get(data.definition)
  if (internal === undefined) return { error: "is typed data of an unknown definition" }
  const encoded = internal.encode(data.value)
  if (Result.isFailure(encoded)) {
    return { error: `does not match the schema of event '${data.definition.name}': ${issueMessage(encoded.failure)}` }
  }
  return Validation.toJson(encoded.success)
}

const inspectable = {
  [Inspectable.NodeInspectSymbol](this: Inspectable.Inspectable) {
    return this.toJSON()
  },
  toString(this: Inspectable.Inspectable) {
    return Formatter.format(this.toJSON())
  }
}

const DataProto = {
  ...inspectable,
  [DataTypeId]: DataTypeId,
  toJSON(this: TypedData<unknown>) {
    return { _id: "SockudoEvent.TypedData", event: this.definition.name }
  }
}

const OutgoingProto = {
  ...inspectable,
  [OutgoingTypeId]: OutgoingTypeId,
  toJSON(this: Outgoing) {
    return { _id: "SockudoEvent.Outgoing", name: this.name }
  }
}

const DefinitionProto = {
  ...inspectable,
  ...Pipeable.Prototype,
  [TypeId]: TypeId,
  toJSON(this: Any) {
    return { _id: "SockudoEvent", name: this.name }
  }
}

/** The event name of a source, and its data, channel and whether it could be read at all. */
const read = (
  source: Source
):
  | { readonly name: string; readonly data: unknown; readonly channel: string | undefined; readonly sealed: boolean }
  | undefined => {
  if (!Predicate.isObject(source)) return undefined
  if ("_tag" in source) {
    const event = source as WebhookEvent
    if (event._tag === "ClientEvent")
      return { name: event.event, data: event.data, channel: event.channel, sealed: false }
    if (event._tag === "UndecryptableEvent") {
      return { name: event.event, data: event.data, channel: event.channel, sealed: true }
    }
    return undefined
  }
  const message = (source as HistoryItem).message
  if (!Predicate.isObject(message)) return undefined
  // A versioned row's `event` is the action (`sockudo:message.update`); `name` is the event's.
  const name = "message_serial" in message && "action" in message ? message.name : (message.event ?? source.event_name)
  return typeof name === "string" ? { name, data: message.data, channel: message.channel, sealed: false } : undefined
}

const sourceName = (source: Source): string | undefined => read(source)?.name

/**
 * Defines an event: its name and the Schema of its data. Throws a `SockudoValidationError` when
 * the name breaks the SDK's event-name rules (a definition is a constant of the program, so a
 * bad one is a bug to fix, not an error to handle); the publish path checks the name again
 * against the configured limits.
 *
 * ```ts
 * import { Schema } from "effect"
 * import { SockudoEvent } from "effect-sockudo"
 *
 * const Typing = SockudoEvent.make("client-typing", Schema.Struct({ userId: Schema.String }))
 * type Typing = SockudoEvent.Type<typeof Typing> // { readonly userId: string }
 * ```
 *
 * @since 0.2.0
 */
export const make = <const Name extends string, S extends EventSchema>(
  name: Name,
  schema: S
): SockudoEvent<Name, S> => {
  const reason = Validation.eventName(name, defaultLimits)
  if (reason) throw Validation.validationError("SockudoEvent.make", "name", reason)
  if (!Schema.isSchema(schema)) throw Validation.validationError("SockudoEvent.make", "schema", "must be a Schema")
  const codec = Schema.toCodecJson(schema)
  const encode = Schema.encodeUnknownResult(codec as Schema.Codec<unknown, unknown>)
  const decodeValue = Schema.decodeUnknownResult(codec as Schema.Codec<unknown, unknown>)

  const failure = (
    reason: SockudoEventDecodeError["reason"],
    channel: string | undefined,
    message: string
  ): Result.Result<never, SockudoEventDecodeError> =>
    Result.fail(
      new SockudoEventDecodeError({ event: name, reason, message, ...(channel === undefined ? {} : { channel }) })
    )

  const decodeData = (data: unknown, channel?: string): Result.Result<S["Type"], SockudoEventDecodeError> => {
    let value = data
    if (typeof data === "string") {
      try {
        value = JSON.parse(data)
      } catch {
        return failure("NotJson", channel, `the data of '${name}' is not JSON`)
      }
    }
    const decoded = decodeValue(value)
    return Result.isSuccess(decoded)
      ? Result.succeed(decoded.success as S["Type"])
      : failure(
          "InvalidData",
          channel,
          `the data of '${name}' does not match its schema: ${issueMessage(decoded.failure)}`
        )
  }

  const decode = (source: Source): Result.Result<S["Type"], SockudoEventDecodeError> => {
    const fields = read(source)
    if (fields === undefined || fields.name !== name) {
      const other = fields === undefined ? "not a client event or a history item" : `'${fields.name}'`
      return failure("OtherEvent", fields?.channel, `expected '${name}', got ${other}`)
    }
    if (fields.sealed) return failure("Undecryptable", fields.channel, `the data of '${name}' could not be decrypted`)
    return decodeData(fields.data, fields.channel)
  }

  const matches = (source: Source): boolean => sourceName(source) === name

  const historyFilter = (item: HistoryItem) =>
    matches(item)
      ? Result.succeed(Result.map(decode(item), (data): HistoryEvent<S["Type"]> => ({ data, item })))
      : Result.failVoid

  const definition: SockudoEvent<Name, S> = Object.assign(Object.create(DefinitionProto), {
    name,
    schema,
    make: (data: S["Type"]): Outgoing<Name, S["Type"]> => {
      const typed: TypedData<S["Type"]> = Object.assign(Object.create(DataProto), { value: data, definition })
      return Object.assign(Object.create(OutgoingProto), { name, data: typed })
    },
    matches,
    decode,
    decodeData,
    decodeHistory: <E, R>(items: Stream.Stream<HistoryItem, E, R>) => Stream.filterMap(items, historyFilter)
  })
  internals.set(definition, { encode })
  return definition
}
