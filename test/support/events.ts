/**
 * Typed event definitions the tests publish and decode: an `Order` class whose fields transform
 * (a `Schema.Date`, a number sent as a string), and a client event.
 */
import { Schema } from "effect"
import { SockudoEvent } from "../../src/index.ts"

export class Order extends Schema.Class<Order>("Order")({
  id: Schema.String,
  placedAt: Schema.Date,
  total: Schema.NumberFromString
}) {}

export const OrderCreated = SockudoEvent.make("order.created", Order)

export const Typing = SockudoEvent.make("client-typing", Schema.Struct({ userId: Schema.String, at: Schema.Date }))

export const order = new Order({ id: "ord_1", placedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), total: 12.5 })

/** The wire form of `order`, written out by hand. */
export const orderJson = '{"id":"ord_1","placedAt":"2026-01-02T03:04:05.000Z","total":"12.5"}'
