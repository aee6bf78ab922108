/**
 * The endpoints in a Fastify 5 app. Fastify parses JSON bodies before any handler runs, and
 * refuses form-encoded ones (pusher-js sends its auth requests form-encoded), so the endpoints
 * live in a plugin of their own whose only content-type parser leaves the stream unread; the
 * rest of the app keeps Fastify's parsers.
 *
 *   SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id node examples/endpoints/fastify.ts
 */
import Fastify, { type FastifyInstance } from "fastify"
import * as SockudoNode from "../../src/Node.ts"
import { channelAuthorization, userAuthentication, webhooks } from "./policy.ts"
import { type ExampleOptions, main, type Started } from "./server.ts"

export const start = async ({ runtime, port, host, onEvent = console.log }: ExampleOptions): Promise<Started> => {
  // #region fastify
  const app = Fastify()
  await app.register(async (pusher: FastifyInstance) => {
    // in this plugin only: every body stays unread, for the endpoint to read as it arrived
    pusher.removeAllContentTypeParsers()
    pusher.addContentTypeParser("*", (_request, _payload, done) => done(null))
    const mount = (path: string, handler: SockudoNode.NodeHandler) =>
      pusher.post(path, (request, reply) => {
        reply.hijack()
        return handler(request.raw, reply.raw)
      })
    mount("/pusher/auth", SockudoNode.toNodeHandler(channelAuthorization, runtime))
    mount("/pusher/user-auth", SockudoNode.toNodeHandler(userAuthentication, runtime))
    mount("/pusher/webhooks", SockudoNode.toNodeHandler(webhooks(onEvent), runtime))
  })
  // #endregion fastify
  app.post("/api/echo", async (request) => request.body)
  const address = await app.listen({ port: port ?? 0, host: host ?? "127.0.0.1" })
  return { url: address, close: () => app.close() }
}

if (import.meta.main) await main(start)
