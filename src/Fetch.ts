/**
 * The Fetch entry, `effect-sockudo/fetch`: the SDK with configuration and effect's
 * `FetchHttpClient` in one layer, for every runtime with a global `fetch` (Cloudflare Workers,
 * Deno, Bun, Node). Nothing it loads imports a Node built-in, so it bundles for
 * `platform=neutral` and runs on Workers without `nodejs_compat`.
 *
 * ```ts
 * import { Effect, ManagedRuntime, Redacted } from "effect"
 * import { Sockudo } from "effect-sockudo"
 * import * as SockudoFetch from "effect-sockudo/fetch"
 *
 * const runtime = ManagedRuntime.make(
 *   SockudoFetch.layer({ appId: "app-id", key: "app-key", secret: Redacted.make("app-secret"), host: "sockudo.example.com", useTLS: true })
 * )
 * const publish = (id: string) =>
 *   runtime.runPromise(Effect.flatMap(Sockudo.Sockudo, (sockudo) => sockudo.trigger("orders", "order.created", { id })))
 * ```
 *
 * Provide the layer once (one `ManagedRuntime`, or at the program's edge), as with
 * `effect-sockudo/node`. A `fetch` of your own (a Worker's service binding, a test double) goes
 * in through effect's `FetchHttpClient.Fetch` reference.
 *
 * @module effect-sockudo/fetch
 * @since 0.1.0
 */

import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { layersOver } from "./internal/Layers.ts"

const layers = layersOver(FetchHttpClient.layer)

/**
 * The SDK from options, over the global `fetch`.
 *
 * @since 0.1.0
 */
export const layer = layers.layer

/**
 * The SDK from `http(s)://key:secret@host:port/apps/<appId>`, over the global `fetch`.
 *
 * @since 0.1.0
 */
export const layerFromUrl = layers.layerFromUrl

/**
 * The SDK configured from the environment (`SOCKUDO_URL` or `SOCKUDO_APP_ID`, ...), over
 * the global `fetch`. On Workers, whose bindings are not in `process.env`, give a
 * `ConfigProvider` built from the `env` object (`ConfigProvider.fromEnv({ env })`), or use
 * {@link layerFromUrl}.
 *
 * @since 0.1.0
 */
export const layerConfig = layers.layerConfig
