/**
 * The browser scenario, shared by `npm test` (against the emulator, test/browser/Browser.test.ts)
 * and the real-server suite (test/sockudo/Browser.test.ts): headless Chromium loads the Express
 * example's page (examples/endpoints/public/), whose pusher-js subscribes to a private, a presence
 * and an encrypted channel through the example's /pusher/auth and signs in through
 * /pusher/user-auth; the SDK then publishes, and the page must show exactly what was published.
 */
import { existsSync } from "node:fs"
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"
import { type Endpoints, Sockudo } from "../../src/index.ts"

/** Debian's `chromium` (test/browser/chromium.sh installs it), or CHROMIUM_PATH. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

/** Starts headless Chromium; fails, saying how to install it, when it is missing. */
export const launchChromium = (): Promise<Browser> => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is missing (${chromiumPath}): the browser test needs it. Install Debian's chromium with ` +
        "'bash test/browser/chromium.sh install' (apt-get; .ci/run does this before npm test), or set CHROMIUM_PATH."
    )
  }
  // as root, Chromium refuses to start with its sandbox
  const args = process.getuid?.() === 0 ? ["--no-sandbox"] : []
  return chromium.launch({ executablePath: chromiumPath, headless: true, args })
}

/** What the page keeps in `window.demo` (examples/endpoints/public/app.js). */
export interface Demo {
  readonly socketId: string | null
  readonly subscribed: ReadonlyArray<string>
  readonly members: Readonly<Record<string, ReadonlyArray<{ readonly id: string; readonly info: unknown }>>>
  readonly received: ReadonlyArray<{ readonly channel: string; readonly event: string; readonly data: unknown }>
  readonly user: unknown
  readonly userEvents: ReadonlyArray<{ readonly event: string; readonly data: unknown }>
  readonly errors: ReadonlyArray<Record<string, unknown>>
}

export const demoOf = (page: Page): Promise<Demo> => page.evaluate(() => (window as unknown as { demo: Demo }).demo)

/** Polls the page's `demo` until `check` holds; fails with the page's state and console. */
export const waitForDemo = async (
  page: Page,
  what: string,
  check: (demo: Demo) => boolean,
  console: ReadonlyArray<string>,
  timeoutMs = 15_000
): Promise<Demo> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const demo = await demoOf(page).catch(() => undefined)
    if (demo !== undefined && check(demo)) return demo
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\npage state: ${JSON.stringify(demo)}\nconsole:\n${console.join("\n")}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The channels of one run. */
export interface Channels {
  readonly private: string
  readonly presence: string
  readonly encrypted: string
}

/** Opens the example's page as the user of `token`, subscribed to `channels`; keeps its console. */
export const openPage = async (browser: Browser, exampleUrl: string, token: string, channels: Channels) => {
  const page = await browser.newPage()
  const console: Array<string> = []
  page.on("console", (message) => console.push(`${message.type()}: ${message.text()}`))
  page.on("pageerror", (error) => console.push(`pageerror: ${error.message}`))
  const query = new URLSearchParams({ token, ...channels })
  await page.goto(`${exampleUrl}/?${query}`)
  return { page, console }
}

/** What the SDK publishes in the scenario, and what the page must then show. */
export const publications = (channels: Channels) =>
  [
    { channel: channels.private, event: "order.created", data: { id: "ord_1", total: 42.5 } },
    { channel: channels.presence, event: "chat.message", data: { from: "grace", text: "Hi Ada! ✓" } },
    { channel: channels.encrypted, event: "secret.note", data: { note: "only subscribers can read this" } }
  ] as const

/**
 * The whole scenario, with its assertions: Ada's page subscribes to the three channels and signs
 * in; the SDK publishes to each channel and to Ada; her page shows each event with its exact
 * data (the encrypted one decrypted by pusher-js with the `shared_secret` the endpoint handed
 * out). Grace's page then joins the presence channel (and sees both members) and is refused Ada's
 * own channel with the endpoint's 403.
 */
export const browserScenario = async (options: {
  readonly browser: Browser
  readonly exampleUrl: string
  readonly channels: Channels
  readonly sdk: Endpoints.Runner<Sockudo.Sockudo>
}): Promise<void> => {
  const { browser, exampleUrl, channels, sdk } = options
  const run = <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>) =>
    sdk.runPromise(Effect.flatMap(Effect.service(Sockudo.Sockudo), f))
  const all = [channels.private, channels.presence, channels.encrypted]

  const ada = await openPage(browser, exampleUrl, "ada-token", channels)
  const ready = await waitForDemo(
    ada.page,
    "Ada's page to subscribe to the three channels and sign in",
    (d) => all.every((c) => d.subscribed.includes(c)) && d.user !== null,
    ada.console
  )
  expect(ready.errors).toEqual([])
  expect(ready.user).toEqual({ id: "ada", name: "Ada Lovelace" })
  expect(ready.members[channels.presence]).toEqual([{ id: "ada", info: { name: "Ada Lovelace" } }])
  expect(ready.socketId).toMatch(/^\d+\.\d+$/)

  for (const p of publications(channels)) await run((s) => s.trigger(p.channel, p.event, p.data))
  await run((s) => s.sendToUser("ada", "notice", { body: "your order shipped" }))
  const delivered = await waitForDemo(
    ada.page,
    "the published events on Ada's page",
    (d) => d.received.length >= 3 && d.userEvents.length >= 1,
    ada.console
  )
  expect(delivered.received).toEqual(publications(channels).map((p) => ({ ...p })))
  expect(delivered.userEvents).toEqual([{ event: "notice", data: { body: "your order shipped" } }])

  const grace = await openPage(browser, exampleUrl, "grace-token", { ...channels, private: "private-user-ada" })
  const refused = await waitForDemo(
    grace.page,
    "Grace's page to join the presence channel and be refused Ada's channel",
    (d) => d.subscribed.includes(channels.presence) && d.errors.length > 0,
    grace.console
  )
  expect(refused.errors).toEqual([{ where: "private-user-ada", status: 403, type: "AuthError" }])
  const members = [...(refused.members[channels.presence] ?? [])].sort((a, b) => a.id.localeCompare(b.id))
  expect(members).toEqual([
    { id: "ada", info: { name: "Ada Lovelace" } },
    { id: "grace", info: { name: "Grace Hopper" } }
  ])
  await ada.page.close()
  await grace.page.close()
}
