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
import type * as Config from "effect/Config"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { SockudoConfigError } from "./Errors.ts"
import * as Sockudo from "./Sockudo.ts"
import * as SockudoConfig from "./SockudoConfig.ts"
import { layerUndici } from "./UndiciHttpClient.ts"

export { type NodeHandler, readNodeBody, toNodeHandler } from "./NodeEndpoints.ts"
export { layerUndici, layerUndiciNoDispatcher, layerUndiciOptions, makeUndici } from "./UndiciHttpClient.ts"

const withConfig = <E>(config: Layer.Layer<SockudoConfig.SockudoConfig, E>): Layer.Layer<Sockudo.Sockudo, E> =>
  Sockudo.layer.pipe(Layer.provide(config), Layer.provide(layerUndici))

/**
 * The SDK from options, over an undici connection pool.
 *
 * @since 0.1.0
 */
export const layer = (
  options: SockudoConfig.Options | SockudoConfig.UrlOptions
): Layer.Layer<Sockudo.Sockudo, SockudoConfigError> => withConfig(SockudoConfig.layer(options))

/**
 * The SDK from `http(s)://key:secret@host:port/apps/<appId>`.
 *
 * @since 0.1.0
 */
export const layerFromUrl = (
  url: string | Redacted.Redacted<string>,
  settings?: SockudoConfig.Settings
): Layer.Layer<Sockudo.Sockudo, SockudoConfigError> => withConfig(SockudoConfig.layerFromUrl(url, settings))

/**
 * The SDK configured from the environment (`SOCKUDO_URL` or `SOCKUDO_APP_ID`, ...).
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<Sockudo.Sockudo, Config.ConfigError | SockudoConfigError> = withConfig(
  SockudoConfig.layerConfig
)
