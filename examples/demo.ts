/**
 * A short tour of effect-sockudo: publish, read history as a Stream, update and append a
 * message, annotate it, and verify a webhook the server sent.
 *
 *   npm run demo
 *     runs against the in-process emulator (`effect-sockudo/testing`), served on a loopback port
 *     and called over real HTTP; webhooks go to a small node:http receiver started here.
 *
 *   SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id npm run demo
 *     runs against a real Sockudo server (configured with `SockudoConfig.layerConfig`). The
 *     history, message and annotation steps need those features switched on in the server's
 *     config; a step the server refuses is skipped with its answer. The webhook step runs only
 *     when SOCKUDO_DEMO_WEBHOOK_PORT is set and the server's webhook URL points at that port on
 *     this machine; otherwise it is skipped with an explanation.
 *
 * Node 24 runs this file as is (type stripping); it imports the SDK from `src/`.
 */
import * as Http from "node:http"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Option, Queue, Schedule, Stream } from "effect"
import { Sockudo, SockudoConfig } from "../src/index.ts"
import { Emulator } from "../src/testing/index.ts"
import * as EmulatorNode from "../src/testing/Node.ts"

// ===== What to run against =====

const realServer = process.env.SOCKUDO_URL !== undefined && process.env.SOCKUDO_URL !== ""
const webhookPortSetting = process.env.SOCKUDO_DEMO_WEBHOOK_PORT
/** A fresh channel on a real server, so history holds only this run's messages. */
const channel = realServer ? `demo-chat-${Date.now().toString(36)}` : "demo-chat"

// ===== A tiny webhook receiver (node:http) =====

interface Received {
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** Listens on `host:port` (port 0: any free port); every POST is answered 200 and queued. */
const receiver = (port: number, host: string) =>
  Effect.gen(function* () {
    const inbox = yield* Queue.unbounded<Received>()
    const server = yield* Effect.acquireRelease(
      Effect.callback<Http.Server, Error>((resume) => {
        const server = Http.createServer((request, response) => {
          const chunks: Array<Buffer> = []
          request.on("data", (chunk: Buffer) => chunks.push(chunk))
          request.on("end", () => {
            response.writeHead(200).end()
            Queue.offerUnsafe(inbox, { headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
          })
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(port, host, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const bound = typeof address === "object" && address !== null ? address.port : port
    return { url: `http://${host}:${bound}/webhooks`, port: bound, inbox }
  })

// ===== Printing =====

const line = (text = "") => Console.log(text)
const step = (n: number, title: string) => line(`\n${n}. ${title}`)
const say = (text: string) => line(`   ${text}`)
const show = (data: unknown) => (typeof data === "string" ? data : JSON.stringify(data))
let skipped = 0
const skip = (why: string) =>
  Effect.suspend(() => {
    skipped++
    return say(`skipped: ${why}`)
  })

/** On a real server, a feature switched off (422) or refused (403) skips the step. */
const orSkip = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<Option.Option<A>, E, R> =>
  Effect.asSome(effect).pipe(
    Effect.catchIf(
      (e) =>
        realServer &&
        (e._tag === "SockudoClientError" || e._tag === "SockudoAuthenticationError") &&
        "status" in e &&
        (e.status === 422 || e.status === 403),
      (e) =>
        Effect.as(skip(`the server answered "${e.message}" (switch the feature on to see this step)`), Option.none())
    )
  )

// ===== The tour =====

interface Receiver {
  readonly url: string
  readonly port: number
  readonly inbox: Queue.Queue<Received>
}

const tour = (webhooks: Option.Option<Receiver>) =>
  Effect.gen(function* () {
    const sockudo = yield* Sockudo.Sockudo
    const emulator = yield* Effect.serviceOption(Emulator.Emulator)

    // 1. Publish
    yield* step(1, "Publish")
    const watcher = yield* Option.match(emulator, {
      onNone: () => Effect.succeed(Option.none()),
      onSome: (e) =>
        Effect.gen(function* () {
          const client = yield* e.connect()
          yield* client.subscribe(channel)
          yield* say(`a simulated client (socket ${client.socketId}) subscribed to ${channel}`)
          return Option.some(client)
        })
    })
    const messages: ReadonlyArray<readonly [string, unknown]> = [
      ["message", { from: "ada", text: "Hi Grace!" }],
      ["message", { from: "grace", text: "Hi Ada, how is the engine?" }],
      ["reply", "Nearly done"]
    ]
    const serials: Array<string | undefined> = []
    for (const [name, data] of messages) {
      // `info` switches the answer to its per-channel form, which carries the message's serials
      const receipt = yield* sockudo.trigger(channel, name, data, { info: ["subscription_count"] })
      const entry = receipt.channels[channel]
      serials.push(entry?.message_serial)
      yield* say(`trigger ${name} ${show(data)}`)
      yield* say(`  -> message_serial ${entry?.message_serial ?? "-"}, ${entry?.subscription_count ?? 0} subscriber(s)`)
    }
    if (Option.isSome(watcher)) {
      const events = yield* watcher.value.events(channel)
      yield* say(`the simulated client received ${events.length} events: ${events.map((m) => m.event).join(", ")}`)
    }

    // 2. History as a Stream
    yield* step(2, "Read history as a Stream (oldest first, 2 per page: the Stream follows the cursor)")
    const history = yield* orSkip(
      sockudo.history.stream(channel, { direction: "oldest_first", limit: 2 }).pipe(Stream.runCollect)
    )
    if (Option.isSome(history)) {
      for (const item of history.value) {
        const message = item.message
        const name = message.name ?? message.event ?? item.event_name ?? "?"
        yield* say(`serial ${item.serial}  ${name.padEnd(8)} ${show(message.data)}  (${item.operation_kind})`)
      }
      const pages = Option.match(emulator, {
        onNone: () => Effect.succeed(""),
        onSome: (e) =>
          Effect.map(e.requests, (log) => {
            const n = log.filter((r) => r.route === "/channels/:channelName/history").length
            return ` over ${n} page request(s)`
          })
      })
      yield* say(`${history.value.length} item(s) read${yield* pages}`)
    }

    // 3. Update and append
    yield* step(3, "Update and append a message")
    const [, second, third] = serials
    if (second === undefined || third === undefined) {
      yield* skip("the publishes returned no message serials (versioned messages are off for this channel)")
    } else {
      const updated = yield* orSkip(
        sockudo.messages.update(channel, second, {
          data: { from: "grace", text: "Hi Ada! How is the Analytical Engine?" },
          description: "fix typo",
          clientId: "grace"
        })
      )
      if (Option.isSome(updated)) {
        yield* say(`update -> ${updated.value.status}, version_serial ${updated.value.version_serial ?? "-"}`)
      }
      for (const fragment of [": the mill works", ", the store is next."]) {
        const appended = yield* orSkip(sockudo.messages.append(channel, third, fragment))
        if (Option.isSome(appended)) {
          yield* say(`append ${JSON.stringify(fragment)} -> ${appended.value.status}`)
        }
      }
      const latest = yield* orSkip(sockudo.messages.get(channel, third))
      if (Option.isSome(latest)) {
        yield* say(`latest version of the reply: ${show(latest.value.item.data)} (action ${latest.value.item.action})`)
      }
      const edited = yield* orSkip(sockudo.messages.get(channel, second))
      if (Option.isSome(edited)) {
        yield* say(`latest version of the edited message: ${show(edited.value.item.data)}`)
      }
    }

    // 4. Annotate
    yield* step(4, "Annotate a message")
    const [first] = serials
    if (first === undefined) {
      yield* skip("no message serial to annotate (versioned messages are off for this channel)")
    } else {
      for (const [clientId, name] of [
        ["grace", "👍"],
        ["charles", "👍"],
        ["grace", "🎉"]
      ] as const) {
        const published = yield* orSkip(
          sockudo.annotations.publish(channel, first, { type: "reactions:distinct.v1", name, clientId })
        )
        if (Option.isSome(published)) {
          yield* say(`annotation ${name} by ${clientId} -> annotationSerial ${published.value.annotationSerial}`)
        }
      }
      const page = yield* orSkip(sockudo.annotations.list(channel, first, { type: "reactions:distinct.v1" }))
      if (Option.isSome(page)) {
        const summary = page.value.items.map((a) => `${a.name ?? "?"} by ${a.clientId ?? "?"}`).join(", ")
        yield* say(`list -> ${page.value.items.length} annotation(s): ${summary}`)
      }
    }

    // 5. Webhooks
    yield* step(5, "Verify a webhook")
    if (Option.isNone(webhooks)) {
      yield* skip("a real server posts webhooks to the URL in its own config. To see this step, point a")
      yield* say("webhook at http://<this machine>:<port>/ and run again with SOCKUDO_DEMO_WEBHOOK_PORT=<port>.")
      return
    }
    const { inbox, port, url } = webhooks.value
    yield* say(realServer ? `receiver: listening on port ${port} of this machine` : `receiver: ${url}`)
    // wait for the annotation's webhook (the emulator sends one POST per event, in order)
    let verified = 0
    let sawAnnotation = false
    let tamperedChecked = false
    while (!sawAnnotation) {
      const next = yield* Queue.take(inbox).pipe(Effect.timeoutOption(realServer ? "10 seconds" : "5 seconds"))
      if (Option.isNone(next)) {
        yield* skip(
          verified === 0
            ? "no webhook arrived: check the server's webhook URL and that its queue driver is configured"
            : "no annotation_created webhook arrived in time"
        )
        break
      }
      const { headers, body } = next.value
      // the emulator signs with the demo app's secret, so a failure there fails the demo; a real
      // server may also send webhooks of other apps to the same receiver
      const checked = yield* sockudo.webhooks.verify({ headers, body }).pipe(
        Effect.asSome,
        Effect.catchIf(
          () => realServer,
          (e) => Effect.as(say(`a webhook failed verification (${e._tag}): another app's?`), Option.none())
        )
      )
      if (Option.isNone(checked)) continue
      const webhook = checked.value
      verified++
      for (const event of webhook.events) {
        const detail = "channel" in event && typeof event.channel === "string" ? event.channel : ""
        const action = "action" in event && typeof event.action === "string" ? ` ${event.action}` : ""
        const signature = String(headers["x-pusher-signature"]).slice(0, 8)
        yield* say(`#${verified} verified (X-Pusher-Signature ${signature}…): ${event.name} ${detail}${action}`)
        if (event.name === "annotation_created") sawAnnotation = true
      }
      if (!tamperedChecked) {
        tamperedChecked = true
        const tampered = yield* Effect.flip(
          sockudo.webhooks.verify({ headers, body: body.replace("events", "events ") })
        )
        yield* say(`the same webhook with one byte changed -> rejected with ${tampered._tag}`)
      }
    }
    yield* say(`${verified} webhook(s) verified`)
  })

// ===== Layers =====

/** The emulator with the features the tour uses, on a loopback port, webhooks to `url`. */
const emulatorLayer = (webhookUrl: string) => {
  const emulator = Emulator.layer({
    features: { history: true, versionedMessages: true, annotations: true },
    apps: [{ ...Emulator.defaultApp, webhooks: [{ url: webhookUrl }] }]
  })
  return Sockudo.layer.pipe(
    Layer.provideMerge(Emulator.layerSockudoConfig({ retry: Schedule.recurs(2) })),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provideMerge(EmulatorNode.layerServer),
    Layer.provideMerge(emulator)
  )
}

/** A real server from SOCKUDO_URL (or SOCKUDO_APP_ID, SOCKUDO_KEY, ...). */
const realLayer = Sockudo.layer.pipe(
  Layer.provideMerge(SockudoConfig.layerConfig),
  Layer.provide(NodeHttpClient.layerUndici)
)

const main = Effect.gen(function* () {
  if (realServer) {
    yield* Effect.gen(function* () {
      const config = yield* SockudoConfig.SockudoConfig
      yield* line(`effect-sockudo demo against ${config.baseUrl} (app ${config.appId}), channel ${channel}`)
      const port = webhookPortSetting === undefined ? undefined : Number(webhookPortSetting)
      const webhooks =
        port === undefined || !Number.isInteger(port) ? Option.none() : Option.some(yield* receiver(port, "0.0.0.0"))
      yield* tour(webhooks)
    }).pipe(Effect.provide(realLayer))
  } else {
    const webhooks = yield* receiver(0, "127.0.0.1")
    const layer = emulatorLayer(webhooks.url)
    yield* Effect.gen(function* () {
      const server = yield* Emulator.EmulatorServer
      yield* line(`effect-sockudo demo against the emulator at ${server.baseUrl} (in this process), channel ${channel}`)
      yield* tour(Option.some(webhooks))
    }).pipe(Effect.provide(layer))
  }
  yield* line(skipped === 0 ? "\nDone: every step ran." : `\nDone, with ${skipped} step(s) skipped.`)
}).pipe(Effect.scoped)

NodeRuntime.runMain(main)
