/**
 * The endpoints as routes of effect's own HTTP server: each endpoint is a layer on `HttpRouter`,
 * served by `HttpRouter.serve` over `@effect/platform-node`'s `NodeHttpServer`.
 *
 *   SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id node examples/endpoints/effect.ts
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import { Endpoints, type Webhook } from "../../src/index.ts"
import * as SockudoNode from "../../src/Node.ts"
import { channelAuthorization, userAuthentication, webhooks } from "./policy.ts"

// #region effect
/** The three endpoints as routes; they need the `Sockudo` service. */
export const Routes = (onEvent: (event: Webhook.WebhookEvent) => void) =>
  Layer.mergeAll(
    Endpoints.layerRoute("/pusher/auth", channelAuthorization),
    Endpoints.layerRoute("/pusher/user-auth", userAuthentication),
    Endpoints.layerRoute("/pusher/webhooks", webhooks(onEvent))
  )

/** The HTTP server with those routes, on `port` of `host`. */
export const ServerLive = (options: {
  readonly port: number
  readonly host?: string | undefined
  readonly onEvent: (event: Webhook.WebhookEvent) => void
}) =>
  HttpRouter.serve(Routes(options.onEvent), { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "127.0.0.1" }))
  )
// #endregion effect

if (import.meta.main) {
  const port = Number(process.env.PORT ?? 3000)
  const onEvent = (event: Webhook.WebhookEvent) => console.log(`webhook: ${event.name}`)
  NodeRuntime.runMain(Layer.launch(ServerLive({ port, onEvent }).pipe(Layer.provide(SockudoNode.layerConfig))))
}
