/**
 * The Node entry, `effect-sockudo/node`: the SDK with configuration and an undici-based
 * `HttpClient` in one layer. Only this entry (this module and `UndiciHttpClient.ts`) imports
 * `@effect/platform-node`.
 *
 * ```ts
 * import { ManagedRuntime } from "effect"
 * import * as SockudoNode from "effect-sockudo/node"
 *
 * const runtime = ManagedRuntime.make(SockudoNode.layerConfig)
 * ```
 *
 * Provide the layer once (one `ManagedRuntime`, or at the program's edge): a layer provided per
 * call builds a new connection pool per call.
 *
 * `toNodeHandler` serves the endpoints of `Endpoints` from `node:http`, Express or Fastify
 * (`NodeEndpoints.ts`).
 *
 * @module effect-sockudo/node
 * @since 0.1.0
 */
import { layersOver } from "./internal/Layers.ts"
import { layerUndici } from "./UndiciHttpClient.ts"

export { type NodeHandler, readNodeBody, toNodeHandler } from "./NodeEndpoints.ts"
export { layerUndici, layerUndiciNoDispatcher, layerUndiciOptions, makeUndici } from "./UndiciHttpClient.ts"

const layers = layersOver(layerUndici)

/**
 * The SDK from options, over an undici connection pool.
 *
 * @since 0.1.0
 */
export const layer = layers.layer

/**
 * The SDK from `http(s)://key:secret@host:port/apps/<appId>`, over an undici connection pool.
 *
 * @since 0.1.0
 */
export const layerFromUrl = layers.layerFromUrl

/**
 * The SDK configured from the environment (`SOCKUDO_URL` or `SOCKUDO_APP_ID`, ...), over
 * an undici connection pool.
 *
 * @since 0.1.0
 */
export const layerConfig = layers.layerConfig
