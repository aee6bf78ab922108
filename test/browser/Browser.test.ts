import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import type { Browser } from "playwright-core"
import * as ExpressExample from "../../examples/endpoints/express.ts"
import { type Harness, startWithEmulator } from "../examples/support.ts"
import { browserScenario, launchChromium } from "./support.ts"

// A real browser against the emulator: Chromium (Debian's, test/browser/chromium.sh), pusher-js
// from the Express example's page, the example's auth endpoints, the emulator's WebSocket
// endpoint, and the SDK publishing over HTTP. The same scenario runs against the real server in
// test/sockudo/Browser.test.ts.

describe("pusher-js in Chromium, authorized by the Express example, against the emulator", () => {
  let browser: Browser
  let harness: Harness
  beforeAll(async () => {
    browser = await launchChromium()
    harness = await startWithEmulator(ExpressExample.start, {
      sockudo: { encryptionMasterKeyBase64: Redacted.make(Buffer.alloc(32, 7).toString("base64")) }
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await harness?.close()
  })

  it(
    "subscribes to private, presence and encrypted channels, signs in, and shows what the SDK publishes",
    { timeout: 60_000 },
    () =>
      browserScenario({
        browser,
        exampleUrl: harness.server.url,
        channels: { private: "private-orders", presence: "presence-lobby", encrypted: "private-encrypted-notes" },
        sdk: harness.runtime
      })
  )
})
