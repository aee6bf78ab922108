/**
 * The endpoints in an Express 5 app, which also serves the browser page that uses them
 * (public/index.html, with pusher-js).
 *
 *   SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id node examples/endpoints/express.ts
 *   then open http://127.0.0.1:3000/?token=ada-token
 *
 * test/examples/endpoints.test.ts starts it against the emulator and sends it real requests;
 * test/browser/ loads its page in Chromium.
 */
import * as Http from "node:http"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import express from "express"
import * as SockudoNode from "../../src/Node.ts"
import { channelAuthorization, userAuthentication, webhooks } from "./policy.ts"
import { type ExampleOptions, listen, main, type Started } from "./server.ts"

const pusherJs = createRequire(import.meta.url).resolve("pusher-js/dist/web/pusher-with-encryption.min.js")
const publicDir = fileURLToPath(new URL("./public", import.meta.url))

export const start = ({ runtime, client, port, host, onEvent = console.log }: ExampleOptions): Promise<Started> => {
  // #region express
  const app = express()
  app.post("/pusher/auth", SockudoNode.toNodeHandler(channelAuthorization, runtime))
  app.post("/pusher/user-auth", SockudoNode.toNodeHandler(userAuthentication, runtime))
  app.post("/pusher/webhooks", SockudoNode.toNodeHandler(webhooks(onEvent), runtime))
  // body parsers after the endpoints: a webhook's signature covers its raw body
  app.use(express.json())
  // #endregion express
  app.post("/api/echo", (request, response) => {
    response.json(request.body)
  })
  app.get("/config.json", (_request, response) => {
    response.json(client)
  })
  app.get("/pusher.js", (_request, response) => {
    response.sendFile(pusherJs)
  })
  app.use(express.static(publicDir))
  return listen(Http.createServer(app), port, host)
}

if (import.meta.main) await main(start)
