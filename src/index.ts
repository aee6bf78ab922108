/**
 * effect-sockudo: the Effect server SDK for Sockudo and other Pusher-protocol servers.
 *
 * @since 0.1.0
 */

/** Publishing keys, retries and signing: see each module. @since 0.1.0 */
export * as Crypto from "./Crypto.ts"
/** @since 0.1.0 */
export * as SockudoError from "./Errors.ts"
/** @since 0.1.0 */
export * as Http from "./Http.ts"
/** The SDK as Promises, for code that does not use Effect. @since 0.1.0 */
export * as PromiseClient from "./PromiseClient.ts"
/** @since 0.1.0 */
export * as Signer from "./Signer.ts"
/** @since 0.1.0 */
export * as Sockudo from "./Sockudo.ts"
/** @since 0.1.0 */
export * as SockudoConfig from "./SockudoConfig.ts"
/** @since 0.1.0 */
export * as Validation from "./Validation.ts"
/** @since 0.1.0 */
export * as Webhook from "./Webhook.ts"
