/**
 * The browser scenario of `npm test` (test/browser/), against Sockudo 5.0.1: headless Chromium
 * loads the Express example's page; its pusher-js connects to the real server, subscribes to a
 * private, a presence and an encrypted channel through the example's /pusher/auth and signs in
 * through /pusher/user-auth; the SDK publishes to the server and the page shows exactly what was
 * published. Then the webhooks the server sent about it (recorded by the suite's receiver) are
 * posted, byte for byte, to the example's /pusher/webhooks, which verifies them and hands the
 * typed events over. Real server only: the emulator run is the one in `npm test`.
 */
import { randomBytes } from "node:crypto"
import { ManagedRuntime } from "effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ExpressExample from "../../examples/endpoints/express.ts"
import type { Started } from "../../examples/endpoints/server.ts"
import { Sockudo, SockudoConfig, type Webhook } from "../../src/index.ts"
import { layerUndici } from "../../src/Node.ts"
import { browserScenario, launchChromium } from "../browser/support.ts"
import { apps, servers, unique, webhooksFile } from "./support/env.ts"
import { eventsOf, followFile } from "./support/webhooks.ts"

describe("pusher-js in Chromium, authorized by the Express example, against Sockudo", () => {
  let browser: Browser
  let example: Started
  let runtime: ManagedRuntime.ManagedRuntime<Sockudo.Sockudo, unknown>
  const events: Array<Webhook.WebhookEvent> = []

  beforeAll(async () => {
    runtime = ManagedRuntime.make(
      Sockudo.layer.pipe(
        Layer.provide(
          SockudoConfig.layer({
            appId: apps.test.id,
            key: apps.test.key,
            secret: Redacted.make(apps.test.secret),
            host: servers.host,
            port: servers.port,
            encryptionMasterKeyBase64: Redacted.make(randomBytes(32).toString("base64"))
          })
        ),
        Layer.provide(layerUndici)
      )
    )
    browser = await launchChromium()
    example = await ExpressExample.start({
      runtime,
      client: { key: apps.test.key, wsHost: servers.host, wsPort: servers.port, forceTLS: false },
      onEvent: (event) => events.push(event)
    })
  })
  afterAll(async () => {
    await browser?.close()
    await example?.close()
    await runtime?.dispose()
  })

  it("subscribes, signs in and shows what the SDK published; the server's webhooks pass the example's endpoint", async () => {
    const channels = {
      private: unique("private-browser"),
      presence: unique("presence-browser"),
      encrypted: unique("private-encrypted-browser")
    }
    await browserScenario({ browser, exampleUrl: example.url, channels, sdk: runtime })

    const receiver = followFile(servers.webhookPort, webhooksFile())
    // Ada joining the presence channel (batching is off: one event per delivery)
    const adaJoined = (d: (typeof receiver.deliveries)[number]) =>
      eventsOf(d).some((e) => e.name === "member_added" && e.channel === channels.presence && e.user_id === "ada")
    await receiver.waitFor("the server's member_added webhook", () => receiver.deliveries.some(adaJoined))
    const delivery = receiver.deliveries.find(adaJoined)!
    const response = await fetch(`${example.url}/pusher/webhooks`, {
      method: "POST",
      headers: {
        "content-type": String(delivery.headers["content-type"]),
        "x-pusher-key": String(delivery.headers["x-pusher-key"]),
        "x-pusher-signature": String(delivery.headers["x-pusher-signature"])
      },
      body: new Uint8Array(delivery.body)
    })
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 200, body: { ok: true } })
    expect(events.filter((e) => "channel" in e && e.channel === channels.presence)).toContainEqual({
      _tag: "MemberAdded",
      name: "member_added",
      channel: channels.presence,
      user_id: "ada"
    })
  })
})
