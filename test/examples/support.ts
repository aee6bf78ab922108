/**
 * Starts an endpoint example (examples/endpoints/) against the emulator on a loopback port: the
 * SDK over undici talks to the emulator's HTTP API, the emulator posts its webhooks to the
 * example's /pusher/webhooks, and clients connect to the emulator's WebSocket endpoint.
 */
import { createServer } from "node:net"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, ManagedRuntime } from "effect"
import type { ClientSettings, ExampleOptions, Started } from "../../examples/endpoints/server.ts"
import { Sockudo, type SockudoConfig, type Webhook } from "../../src/index.ts"
import { Emulator } from "../../src/testing/index.ts"
import * as EmulatorNode from "../../src/testing/Node.ts"

/** A free TCP port on 127.0.0.1 (the example listens there, the emulator's webhooks go there). */
export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

export type Runtime = ManagedRuntime.ManagedRuntime<
  Sockudo.Sockudo | Emulator.Emulator | Emulator.EmulatorServer,
  unknown
>

export interface Harness {
  readonly runtime: Runtime
  /** Where pusher-js connects: the emulator's WebSocket endpoint. */
  readonly client: ClientSettings
  /** Every webhook event the example's endpoint verified, in order. */
  readonly events: Array<Webhook.WebhookEvent>
  readonly server: Started
  readonly emulatorPort: number
  readonly close: () => Promise<void>
}

export const startWithEmulator = async (
  start: (options: ExampleOptions) => Promise<Started>,
  options: {
    readonly onEvent?: ((event: Webhook.WebhookEvent) => void) | undefined
    /** SDK settings (an encryption master key, ...). */
    readonly sockudo?: SockudoConfig.Settings | undefined
  } = {}
): Promise<Harness> => {
  const port = await freePort()
  const emulator = Emulator.layer({
    features: { userAuthentication: true },
    apps: [{ ...Emulator.defaultApp, webhooks: [{ url: `http://127.0.0.1:${port}/pusher/webhooks` }] }]
  })
  const runtime: Runtime = ManagedRuntime.make(
    Sockudo.layer.pipe(
      Layer.provideMerge(Emulator.layerSockudoConfig(options.sockudo)),
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.provideMerge(EmulatorNode.layerServer),
      Layer.provideMerge(emulator)
    )
  )
  const emulatorPort = (await runtime.runPromise(Effect.service(Emulator.EmulatorServer))).port
  const client: ClientSettings = {
    key: Emulator.defaultApp.key,
    wsHost: "127.0.0.1",
    wsPort: emulatorPort,
    forceTLS: false
  }
  const events: Array<Webhook.WebhookEvent> = []
  const server = await start({
    runtime,
    client,
    port,
    onEvent: (event) => {
      options.onEvent?.(event)
      events.push(event)
    }
  })
  return {
    runtime,
    client,
    events,
    server,
    emulatorPort,
    close: async () => {
      await server.close()
      await runtime.dispose()
    }
  }
}
