/**
 * The one-call layers of an entry (`effect-sockudo/node`, `effect-sockudo/fetch`): the SDK,
 * its configuration from options, a URL or the environment, and an `HttpClient`, in one layer.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { SockudoConfigError } from "../Errors.ts"
import * as Sockudo from "../Sockudo.ts"
import * as SockudoConfig from "../SockudoConfig.ts"

/**
 * The layers of an entry over its `HttpClient`.
 *
 * @since 0.1.0
 */
export interface Layers {
  /** The SDK from options. */
  readonly layer: (
    options: SockudoConfig.Options | SockudoConfig.UrlOptions
  ) => Layer.Layer<Sockudo.Sockudo, SockudoConfigError>
  /** The SDK from `http(s)://key:secret@host:port/apps/<appId>`. */
  readonly layerFromUrl: (
    url: string | Redacted.Redacted<string>,
    settings?: SockudoConfig.Settings
  ) => Layer.Layer<Sockudo.Sockudo, SockudoConfigError>
  /** The SDK configured from the environment. */
  readonly layerConfig: Layer.Layer<Sockudo.Sockudo, Config.ConfigError | SockudoConfigError>
}

/**
 * The layers over `client`.
 *
 * @since 0.1.0
 */
export const layersOver = (client: Layer.Layer<HttpClient.HttpClient>): Layers => {
  const withConfig = <E>(config: Layer.Layer<SockudoConfig.SockudoConfig, E>): Layer.Layer<Sockudo.Sockudo, E> =>
    // Fresh: `Sockudo.layer` is one constant, which a runtime that already built it (with another
    // configuration) would otherwise hand out again. The HttpClient stays shared.
    Layer.fresh(Sockudo.layer.pipe(Layer.provide(config))).pipe(Layer.provide(client))
  return {
    layer: (options) => withConfig(SockudoConfig.layer(options)),
    layerFromUrl: (url, settings) => withConfig(SockudoConfig.layerFromUrl(url, settings)),
    layerConfig: withConfig(SockudoConfig.layerConfig)
  }
}
