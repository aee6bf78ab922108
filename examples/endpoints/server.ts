/**
 * What the endpoint examples share besides their policy: their options, a listening helper, and
 * their `main` (run against `SOCKUDO_URL` on `PORT`).
 */
import type * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ManagedRuntime } from "effect"
import type { Endpoints, Sockudo, Webhook } from "../../src/index.ts"
import * as SockudoNode from "../../src/Node.ts"

/** What the browser page needs to connect: the app key and where the server's WebSocket is. */
export interface ClientSettings {
  readonly key: string
  readonly wsHost: string
  readonly wsPort: number
  readonly forceTLS: boolean
}

/** The client settings of a `SOCKUDO_URL` (`http(s)://key:secret@host:port/apps/<appId>`). */
export const clientSettingsOf = (sockudoUrl: string): ClientSettings => {
  const url = new URL(sockudoUrl)
  const forceTLS = url.protocol === "https:"
  return {
    key: decodeURIComponent(url.username),
    wsHost: url.hostname,
    wsPort: url.port === "" ? (forceTLS ? 443 : 80) : Number(url.port),
    forceTLS
  }
}

/** A started example server. */
export interface Started {
  readonly url: string
  readonly close: () => Promise<void>
}

/** What each example's `start` takes. */
export interface ExampleOptions {
  /** Runs the endpoints: a `ManagedRuntime` of the SDK's layer, built once. */
  readonly runtime: Endpoints.Runner<Sockudo.Sockudo>
  /** Where the browser page connects (served at `/config.json` by the Express example). */
  readonly client: ClientSettings
  /** Default 0: any free port. */
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** Called with each verified webhook event (default: logs its name). */
  readonly onEvent?: ((event: Webhook.WebhookEvent) => void) | undefined
}

/** Listens on `port` of `host` and resolves once it does. */
export const listen = (server: Http.Server, port = 0, host = "127.0.0.1"): Promise<Started> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo
      resolve({
        url: `http://${host}:${bound}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })

/** Runs an example against `SOCKUDO_URL` on `PORT` (default 3000), until stopped. */
export const main = async (start: (options: ExampleOptions) => Promise<Started>): Promise<void> => {
  const sockudoUrl = process.env.SOCKUDO_URL
  if (sockudoUrl === undefined || sockudoUrl === "") {
    console.error("set SOCKUDO_URL=http://<key>:<secret>@<host>:<port>/apps/<appId>")
    process.exitCode = 1
    return
  }
  const runtime = ManagedRuntime.make(SockudoNode.layerConfig)
  const server = await start({
    runtime,
    client: clientSettingsOf(sockudoUrl),
    port: Number(process.env.PORT ?? 3000),
    onEvent: (event) => console.log(`webhook: ${event.name}`)
  })
  console.log(`listening on ${server.url} (open ${server.url}/?token=ada-token)`)
  const stop = async () => {
    await server.close()
    await runtime.dispose()
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
}
