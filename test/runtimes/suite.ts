/**
 * The runtime suite: what every JavaScript runtime must do with the SDK, against the emulator on a
 * loopback port. It imports only the package's public entries (resolved through its `exports` map
 * to the built `dist/`, with the runtime's own conditions) and `effect`, and uses no API of any one
 * runtime, so Node, Bun, Deno and workerd (bundled, without `nodejs_compat`) load it as it is. The
 * checks against the emulator go through `effect-sockudo/fetch`, the layer for every runtime.
 * `run` answers one result per check; a check's failure never stops the others.
 */
import { Cause, Effect, Exit, ManagedRuntime, Stream } from "effect"
import { Endpoints, Sockudo } from "effect-sockudo"
import * as SockudoFetch from "effect-sockudo/fetch"
import { type Check, checks, type Fixture, type Result } from "./checks.ts"

/** A check's own refusal: what it expected and what it saw. */
class Mismatch extends Error {}

const same = (what: string, actual: unknown, expected: unknown): Effect.Effect<void, Mismatch> => {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)]
  return a === e ? Effect.void : Effect.fail(new Mismatch(`${what}: expected ${e}, got ${a}`))
}

const json = (response: Response) =>
  Effect.promise(async () => ({ status: response.status, body: (await response.json()) as unknown }))

type CheckEffect = Effect.Effect<string, unknown, Sockudo.Sockudo>

const definitions = (
  fixture: Fixture,
  runner: ManagedRuntime.ManagedRuntime<Sockudo.Sockudo, unknown>
): Record<Exclude<Check, keyof typeof standalone>, CheckEffect> => ({
  publish: Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const receipt = yield* sockudo.trigger(
      fixture.subscribed,
      "order.created",
      { id: "ord_1" },
      { info: ["subscription_count"] }
    )
    yield* same("trigger receipt's channels", Object.keys(receipt.channels), [fixture.subscribed])
    yield* same("subscription_count", receipt.channels[fixture.subscribed]?.subscription_count, 1)
    const batch = yield* sockudo.triggerBatch([
      { channel: fixture.subscribed, name: "order.paid", data: { id: "ord_1" } },
      { channel: `${fixture.prefix}audit`, name: "order.paid", data: { id: "ord_1" } }
    ])
    yield* same("batch key sent", typeof batch.idempotencyKey, "string")
    return "trigger (1 subscriber counted) and a batch of 2"
  }),

  "channel state": Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const list = yield* sockudo.channels.list({ filterByPrefix: fixture.prefix, info: ["subscription_count"] })
    yield* same("channels.list", list.channels, { [fixture.subscribed]: { subscription_count: 1 } })
    const occupied = yield* sockudo.channels.get(fixture.subscribed, { info: ["subscription_count"] })
    yield* same("channels.get", [occupied.occupied, occupied.subscription_count], [true, 1])
    const empty = yield* sockudo.channels.get(`${fixture.prefix}nobody`)
    yield* same("channels.get of an empty channel", empty.occupied, false)
    return "list, one occupied channel, one empty"
  }),

  "history stream": Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const sent = [1, 2, 3].map((n) => ({ name: `step.${n}`, data: { n, text: "zß€😀" } }))
    for (const event of sent) yield* sockudo.trigger(fixture.historyChannel, event.name, event.data)
    // two items per page: the Stream follows the cursor over two pages
    const items = yield* sockudo.history
      .stream(fixture.historyChannel, { direction: "oldest_first", limit: 2 })
      .pipe(Stream.runCollect)
    yield* same(
      "history",
      items.map((item) => [item.event_name, item.message.data]),
      sent.map((event) => [event.name, JSON.stringify(event.data)])
    )
    return "3 published, 3 read back over 2 pages"
  }),

  "webhook verify": Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const { webhook } = fixture
    const headers = { "X-Pusher-Key": webhook.key, "X-Pusher-Signature": webhook.signature }
    for (const body of [webhook.body, new TextEncoder().encode(webhook.body)]) {
      const verified = yield* sockudo.webhooks.verify({ headers, body })
      yield* same(
        "events",
        verified.events.map((event) => [event._tag, "channel" in event ? event.channel : undefined]),
        [["ChannelOccupied", webhook.channel]]
      )
    }
    const refused = yield* Effect.flip(sockudo.webhooks.verify({ headers, body: webhook.tamperedBody }))
    yield* same("a tampered body", refused._tag, "SockudoWebhookSignatureError")
    return "verified as text and bytes; tampered body refused"
  }),

  "channel auth": Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const { auth } = fixture
    const privateAuth = yield* sockudo.authorizeChannel(auth.socketId, auth.privateChannel)
    yield* same("private auth", privateAuth, { auth: auth.privateAuth })
    const presence = yield* sockudo.authorizeChannel(auth.socketId, auth.presenceChannel, auth.member)
    yield* same("presence auth", presence, { auth: auth.presenceAuth, channel_data: auth.channelData })
    return "private and presence signatures equal node:crypto's"
  }),

  endpoints: Effect.gen(function* () {
    const { auth, webhook } = fixture
    const authorize = Endpoints.toFetch(Endpoints.channelAuthorization({ authorize: () => Endpoints.allow() }), runner)
    const form = new URLSearchParams({ socket_id: auth.socketId, channel_name: auth.privateChannel })
    const answered = yield* Effect.promise(() =>
      authorize(
        new Request("http://app.test/pusher/auth", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form.toString()
        })
      )
    ).pipe(Effect.flatMap(json))
    yield* same("auth endpoint", answered, { status: 200, body: { auth: auth.privateAuth } })

    const received: Array<string> = []
    const hooks = Endpoints.toFetch(
      Endpoints.webhooks({
        handle: (verified) => {
          for (const event of verified.events) received.push(event._tag)
        }
      }),
      runner
    )
    const post = (body: string) =>
      Effect.promise(() =>
        hooks(
          new Request("http://app.test/pusher/webhooks", {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-pusher-key": webhook.key,
              "x-pusher-signature": webhook.signature
            },
            body
          })
        )
      )
    yield* same("webhook endpoint", (yield* post(webhook.body)).status, 200)
    yield* same("tampered webhook", (yield* post(webhook.tamperedBody)).status, 401)
    yield* same("events handed to the handler", received, ["ChannelOccupied"])
    return "form-encoded auth answered; webhooks 200 and 401"
  })
})

/**
 * The checks of the other entries, each with its own layer, run on their own: in the runner, whose
 * memo map already holds a `Sockudo.layer`, their layers would reuse that one. Each entry is loaded
 * in its check, not with the suite, so that an entry this runtime cannot load fails that check alone.
 */
const standalone = {
  testing: Effect.gen(function* () {
    const SockudoTest = yield* Effect.promise(() => import("effect-sockudo/testing"))
    const delivered = yield* Effect.gen(function* () {
      const emulator = yield* SockudoTest.Emulator.Emulator
      const sockudo = yield* Sockudo.Sockudo
      const client = yield* emulator.connect()
      yield* client.subscribe("orders")
      yield* sockudo.trigger("orders", "order.created", { id: "ord_1" })
      return (yield* client.events("orders")).map((message) => [message.event, message.data])
    }).pipe(Effect.provide(SockudoTest.Emulator.layerTest()))
    yield* same("the in-process emulator's client received", delivered, [["order.created", '{"id":"ord_1"}']])
    const recorded = yield* Effect.gen(function* () {
      const sockudo = yield* Sockudo.Sockudo
      yield* sockudo.trigger("orders", "order.created", { id: "ord_2" })
      return (yield* SockudoTest.RequestRecorder).requests.map((request) => [request.method, request.path])
    }).pipe(Effect.provide(SockudoTest.layer()))
    yield* same("the mock layer recorded", recorded, [["POST", "/apps/app-id/events"]])
    return "the in-process emulator and the mock layer"
  }),

  "node entry": (fixture: Fixture) =>
    Effect.gen(function* () {
      const SockudoNode = yield* Effect.promise(() => import("effect-sockudo/node"))
      const channel = `${fixture.prefix}node-entry`
      const receipt = yield* Effect.gen(function* () {
        const sockudo = yield* Sockudo.Sockudo
        return yield* sockudo.trigger(channel, "ping", 1, { info: ["subscription_count"] })
      }).pipe(Effect.provide(SockudoNode.layerFromUrl(fixture.url)))
      yield* same("the receipt's subscription_count", receipt.channels[channel]?.subscription_count, 0)
      return "SockudoNode.layerFromUrl published, and its layer closed"
    })
}

const reason = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Mismatch) return error.message
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const tagged = error as { readonly _tag: unknown; readonly message?: unknown }
    return `${String(tagged._tag)}: ${String(tagged.message ?? "")}`
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** Runs every check against the emulator the fixture names. */
export const run = async (fixture: Fixture): Promise<ReadonlyArray<Result>> => {
  // the one-call layer for Fetch runtimes, on every runtime
  const runner = ManagedRuntime.make(SockudoFetch.layerFromUrl(fixture.url))
  const all = definitions(fixture, runner)
  const results: Array<Result> = []
  try {
    for (const check of checks) {
      if (check === "node entry" && !fixture.nodeEntry) {
        results.push({ check, ok: true, detail: "not a runtime for effect-sockudo/node", skipped: true })
        continue
      }
      const exit = await (check === "testing"
        ? Effect.runPromiseExit(standalone.testing)
        : check === "node entry"
          ? Effect.runPromiseExit(standalone[check](fixture))
          : runner.runPromiseExit(all[check]))
      results.push(
        Exit.isSuccess(exit)
          ? { check, ok: true, detail: exit.value }
          : { check, ok: false, detail: reason(exit.cause) }
      )
    }
  } finally {
    await runner.dispose()
  }
  return results
}
