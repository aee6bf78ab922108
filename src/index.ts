/**
 * effect-sockudo: the Effect server SDK for Sockudo and other Pusher-protocol servers.
 *
 * @module effect-sockudo
 * @since 0.1.0
 */

/** End-to-end encryption of `private-encrypted-` channels. @since 0.1.0 */
export * as Crypto from "./Crypto.ts"
/** How answers are decoded so that a newer server's additions never fail them. @since 0.1.0 */
export * as Decode from "./Decode.ts"
/**
 * The auth and webhook endpoints a Pusher-protocol app serves, framework-free, with Fetch and
 * `HttpRouter` adapters (Node: `effect-sockudo/node`). @since 0.1.0
 */
export * as Endpoints from "./Endpoints.ts"
/** @since 0.1.0 */
export * as SockudoError from "./Errors.ts"
/** @since 0.1.0 */
export * as Http from "./Http.ts"
/** Idempotency across a whole program: `Sockudo.idempotent`. @since 0.1.0 */
export * as Idempotency from "./Idempotency.ts"
/** The SDK as Promises, for code that does not use Effect. @since 0.1.0 */
export * as PromiseClient from "./PromiseClient.ts"
/** A coalescing publisher: concurrent publishes share batch requests. @since 0.2.0 */
export * as Publisher from "./Publisher.ts"
/** Annotations on versioned messages: request options and response schemas. @since 0.1.0 */
export * as Annotations from "./Resources/Annotations.ts"
/** Channel state: response schemas of `channels.list`, `channels.get`, `channels.users`. @since 0.1.0 */
export * as Channels from "./Resources/Channels.ts"
/** Publishing: trigger options, batch events and receipts. @since 0.1.0 */
export * as Events from "./Resources/Events.ts"
/** Durable channel history: page, item, state, reset and purge schemas. @since 0.1.0 */
export * as History from "./Resources/History.ts"
/** Versioned messages: versions, mutations and their results. @since 0.1.0 */
export * as Messages from "./Resources/Messages.ts"
/** Pagination of list endpoints into lazy `Stream`s. @since 0.1.0 */
export * as Pagination from "./Resources/Pagination.ts"
/** Presence history of `presence-` channels: pages, state, reset and snapshots. @since 0.1.0 */
export * as PresenceHistory from "./Resources/PresenceHistory.ts"
/** Push notifications: devices, subscriptions, templates, credentials and publish payloads. @since 0.1.0 */
export * as Push from "./Resources/Push.ts"
/** Revocation of capability tokens. @since 0.1.0 */
export * as Revocations from "./Resources/Revocations.ts"
/** Users: `terminateConnections` and `forceReconnect`. @since 0.1.0 */
export * as Users from "./Resources/Users.ts"
/** @since 0.1.0 */
export * as Signer from "./Signer.ts"
/** @since 0.1.0 */
export * as Sockudo from "./Sockudo.ts"
/** @since 0.1.0 */
export * as SockudoConfig from "./SockudoConfig.ts"
/** Typed event definitions: a name and a Schema, to publish with and to decode webhooks and history with. @since 0.2.0 */
export * as SockudoEvent from "./SockudoEvent.ts"
/** @since 0.2.0 */
export * as Telemetry from "./Telemetry.ts"
/** @since 0.1.0 */
export * as Validation from "./Validation.ts"
/** @since 0.1.0 */
export * as Webhook from "./Webhook.ts"
