/**
 * The endpoints in a Hono app, through the Fetch adapter (the same handlers serve Bun, Deno,
 * Cloudflare Workers and Next.js route handlers), served on Node by `@hono/node-server`.
 *
 *   SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id node examples/endpoints/hono.ts
 */
import type * as Http from "node:http"
import { createAdaptorServer } from "@hono/node-server"
import { Hono } from "hono"
import { Endpoints } from "../../src/index.ts"
import { channelAuthorization, userAuthentication, webhooks } from "./policy.ts"
import { type ExampleOptions, listen, main, type Started } from "./server.ts"

export const start = ({ runtime, port, host, onEvent = console.log }: ExampleOptions): Promise<Started> => {
  // #region hono
  const auth = Endpoints.toFetch(channelAuthorization, runtime)
  const userAuth = Endpoints.toFetch(userAuthentication, runtime)
  const hooks = Endpoints.toFetch(webhooks(onEvent), runtime)

  const app = new Hono()
  app.post("/pusher/auth", (c) => auth(c.req.raw))
  app.post("/pusher/user-auth", (c) => userAuth(c.req.raw))
  app.post("/pusher/webhooks", (c) => hooks(c.req.raw))
  // #endregion hono
  app.post("/api/echo", async (c) => c.json(await c.req.json()))
  return listen(createAdaptorServer({ fetch: app.fetch }) as Http.Server, port, host)
}

if (import.meta.main) await main(start)
