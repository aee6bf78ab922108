import { spawn } from "node:child_process"
import { createHmac } from "node:crypto"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import express from "express"
import * as EffectExample from "../../examples/endpoints/effect.ts"
import * as ExpressExample from "../../examples/endpoints/express.ts"
import * as FastifyExample from "../../examples/endpoints/fastify.ts"
import * as HonoExample from "../../examples/endpoints/hono.ts"
import { channelAuthorization, webhooks } from "../../examples/endpoints/policy.ts"
import { type ExampleOptions, listen, type Started } from "../../examples/endpoints/server.ts"
import { Sockudo } from "../../src/index.ts"
import * as SockudoNode from "../../src/Node.ts"
import { Emulator } from "../../src/testing/index.ts"
import * as EmulatorNode from "../../src/testing/Node.ts"
import { connectRaw, sleep, waitUntil } from "../sockudo/support/clients.ts"
import { freePort, type Harness, startWithEmulator } from "./support.ts"

// Each example is started as it is, against the emulator on a loopback port, and sent real HTTP
// requests: what pusher-js sends (form-encoded auth requests with the user's token), what the
// emulator posts (signed webhooks), and malformed requests. Every auth answer is then used on a
// real WebSocket connection to the emulator, which checks its signature as the server does.

/** The Effect example is a layer: this starts it on the harness's Sockudo service. */
const startEffect = async ({ runtime, port, host, onEvent }: ExampleOptions): Promise<Started> => {
  const sockudo = await runtime.runPromise(Effect.service(Sockudo.Sockudo))
  const server = ManagedRuntime.make(
    EffectExample.ServerLive({ port: port ?? 0, host, onEvent: onEvent ?? (() => undefined) }).pipe(
      Layer.provide(Layer.succeed(Sockudo.Sockudo, sockudo))
    )
  )
  await server.runPromise(Effect.void)
  return { url: `http://${host ?? "127.0.0.1"}:${port}`, close: () => server.dispose() }
}

const examples = [
  ["Express", ExpressExample.start],
  ["Hono (Fetch adapter)", HonoExample.start],
  ["Fastify", FastifyExample.start],
  ["effect's HttpRouter", startEffect]
] as const

const ada = { authorization: "Bearer ada-token" }
const formHeaders = { "content-type": "application/x-www-form-urlencoded" }

const post = async (url: string, body: string, headers: Record<string, string>) => {
  const response = await fetch(url, { method: "POST", headers, body })
  const text = await response.text()
  return { status: response.status, type: response.headers.get("content-type"), json: JSON.parse(text) as unknown }
}

for (const [name, start] of examples) {
  describe(`the ${name} example, against the emulator`, () => {
    let harness: Harness
    beforeAll(async () => {
      harness = await startWithEmulator(start)
    })
    afterAll(() => harness.close())
    const connect = () => connectRaw({ host: "127.0.0.1", port: harness.emulatorPort, key: Emulator.defaultApp.key })
    const auth = (body: string, headers: Record<string, string> = ada) =>
      post(`${harness.server.url}/pusher/auth`, body, { ...formHeaders, ...headers })

    it("authorizes private and presence subscriptions the emulator then accepts", async () => {
      const client = await connect()
      const priv = await auth(`socket_id=${client.socketId}&channel_name=private-orders`)
      expect(priv).toMatchObject({ status: 200, type: "application/json" })
      expect(await client.subscribe("private-orders", priv.json as Sockudo.ChannelAuthorization)).toEqual({ ok: true })
      const presence = await auth(`socket_id=${client.socketId}&channel_name=presence-lobby`)
      expect(presence.json).toMatchObject({ channel_data: '{"user_id":"ada","user_info":{"name":"Ada Lovelace"}}' })
      expect(await client.subscribe("presence-lobby", presence.json as Sockudo.ChannelAuthorization)).toEqual({
        ok: true
      })
      expect(
        client
          .frames()
          .find((f) => f.event === "pusher_internal:subscription_succeeded" && f.channel === "presence-lobby")?.data
      ).toEqual({
        presence: { ids: ["ada"], hash: { ada: { name: "Ada Lovelace" } }, count: 1 }
      })
      // a JSON body is read as well
      const json = await post(
        `${harness.server.url}/pusher/auth`,
        JSON.stringify({ socket_id: client.socketId, channel_name: "private-user-ada" }),
        { "content-type": "application/json", ...ada }
      )
      expect(await client.subscribe("private-user-ada", json.json as Sockudo.ChannelAuthorization)).toEqual({
        ok: true
      })
      await harness.runtime.runPromise(
        Effect.flatMap(Effect.service(Sockudo.Sockudo), (s) => s.trigger("private-orders", "order.created", { id: 1 }))
      )
      await client.waitFor("the event", (frames) => frames.some((f) => f.event === "order.created"))
      await client.disconnect()
    })

    it("signs a user in; sendToUser then reaches the connection", async () => {
      const client = await connect()
      const signin = await post(`${harness.server.url}/pusher/user-auth`, `socket_id=${client.socketId}`, {
        ...formHeaders,
        ...ada
      })
      expect(signin).toMatchObject({ status: 200, json: { user_data: '{"id":"ada","name":"Ada Lovelace"}' } })
      expect(await client.signin(signin.json as Sockudo.UserAuthentication)).toEqual({ ok: true })
      await harness.runtime.runPromise(
        Effect.flatMap(Effect.service(Sockudo.Sockudo), (s) => s.sendToUser("ada", "notice", { body: "hi" }))
      )
      await client.waitFor("the user event", (frames) => frames.some((f) => f.event === "notice"))
      await client.disconnect()
    })

    it("refuses what the policy refuses (403) and malformed requests (400, 415), as JSON errors", async () => {
      const client = await connect()
      const socket = `socket_id=${client.socketId}`
      expect(await auth(`${socket}&channel_name=private-user-grace`)).toEqual({
        status: 403,
        type: "application/json",
        json: { error: "not your channel" }
      })
      expect(await auth(`${socket}&channel_name=private-orders`, {})).toMatchObject({
        status: 403,
        json: { error: "sign in first" }
      })
      expect(await post(`${harness.server.url}/pusher/user-auth`, socket, formHeaders)).toMatchObject({
        status: 403,
        json: { error: "sign in first" }
      })
      expect(await auth("channel_name=private-orders")).toMatchObject({
        status: 400,
        json: { error: "socket_id is missing" }
      })
      expect(await auth(`${socket}&channel_name=orders`)).toMatchObject({ status: 400 })
      expect(
        await post(`${harness.server.url}/pusher/auth`, socket, { "content-type": "text/plain", ...ada })
      ).toMatchObject({
        status: 415
      })
      await client.disconnect()
    })

    it("verifies the emulator's webhooks and hands the typed events over; a forged one is 401", async () => {
      const client = await connect()
      const presence = await auth(`socket_id=${client.socketId}&channel_name=presence-webhooks`)
      await client.subscribe("presence-webhooks", presence.json as Sockudo.ChannelAuthorization)
      await waitUntil("the member_added webhook", () =>
        harness.events.some((e) => e._tag === "MemberAdded" && e.channel === "presence-webhooks")
      )
      expect(harness.events.find((e) => e._tag === "MemberAdded" && e.channel === "presence-webhooks")).toEqual({
        _tag: "MemberAdded",
        name: "member_added",
        channel: "presence-webhooks",
        user_id: "ada"
      })
      const deliveries = await harness.runtime.runPromise(
        Effect.flatMap(Effect.service(Emulator.Emulator), (e) => e.webhooks.deliveries)
      )
      expect(deliveries.length).toBeGreaterThan(0)
      expect(new Set(deliveries.map((d) => d.status))).toEqual(new Set([200]))
      const body = JSON.stringify({ time_ms: 1, events: [{ name: "channel_occupied", channel: "x" }] })
      const forged = await post(`${harness.server.url}/pusher/webhooks`, body, {
        "content-type": "application/json",
        "x-pusher-key": "app-key",
        "x-pusher-signature": createHmac("sha256", "not-the-secret").update(body).digest("hex")
      })
      expect(forged).toMatchObject({ status: 401, json: { error: "the webhook signature does not match its body" } })
      await client.disconnect()
    })

    if (start !== startEffect) {
      it("the app's own JSON routes keep their body parser", async () => {
        expect(
          await post(`${harness.server.url}/api/echo`, '{"a":1}', { "content-type": "application/json" })
        ).toMatchObject({
          status: 200,
          json: { a: 1 }
        })
      })
    }
  })
}

describe("Express: the raw-body trap", () => {
  const sign = (body: string) => createHmac("sha256", "app-secret").update(body).digest("hex")
  const body = JSON.stringify({ time_ms: 1, events: [{ name: "channel_occupied", channel: "x" }] })
  const hookHeaders = {
    "content-type": "application/json",
    "x-pusher-key": "app-key",
    "x-pusher-signature": sign(body)
  }
  const runtime = ManagedRuntime.make(
    Sockudo.layer.pipe(
      Layer.provideMerge(Emulator.layerSockudoConfig()),
      Layer.provide(Emulator.layerHttpClient),
      Layer.provideMerge(Emulator.layer())
    )
  )
  const servers: Array<Started> = []
  afterAll(async () => {
    for (const s of servers) await s.close()
    await runtime.dispose()
  })
  const served = async (app: express.Express) => {
    const server = await listen(Http.createServer(app))
    servers.push(server)
    return server.url
  }

  it("with express.json() first, auth still works from the parsed fields; webhooks answer 500 until the route gets the raw body", async () => {
    const received: Array<string> = []
    const hooks = SockudoNode.toNodeHandler(
      webhooks((e) => received.push(e.name)),
      runtime
    )
    const wrong = express()
    wrong.use(express.json(), express.urlencoded())
    wrong.post("/pusher/auth", SockudoNode.toNodeHandler(channelAuthorization, runtime))
    wrong.post("/pusher/webhooks", hooks)
    const wrongUrl = await served(wrong)
    expect(
      await post(`${wrongUrl}/pusher/auth`, "socket_id=1.2&channel_name=private-a", { ...formHeaders, ...ada })
    ).toMatchObject({
      status: 200
    })
    expect(await post(`${wrongUrl}/pusher/webhooks`, body, hookHeaders)).toEqual({
      status: 500,
      type: "application/json",
      json: { error: "internal error" }
    })
    assert.deepStrictEqual(received, [])
    // the fix: the raw body for that route (express.raw keeps the bytes)
    const fixed = express()
    fixed.post("/pusher/webhooks", express.raw({ type: "application/json" }), hooks)
    fixed.use(express.json())
    const fixedUrl = await served(fixed)
    expect(await post(`${fixedUrl}/pusher/webhooks`, body, hookHeaders)).toMatchObject({
      status: 200,
      json: { ok: true }
    })
    assert.deepStrictEqual(received, ["channel_occupied"])
  })
})

describe("a webhook handler that fails", () => {
  it("is answered 500, and the emulator delivers the webhook again, as the server does", {
    timeout: 30_000
  }, async () => {
    let failures = 1
    const harness = await startWithEmulator(ExpressExample.start, {
      onEvent: (event) => {
        if (event.name === "channel_occupied" && failures-- > 0) throw new Error("the queue is down")
      }
    })
    const client = await connectRaw({ host: "127.0.0.1", port: harness.emulatorPort, key: Emulator.defaultApp.key })
    try {
      await client.subscribe("retried")
      const occupied = async () => {
        const deliveries = await harness.runtime.runPromise(
          Effect.flatMap(Effect.service(Emulator.Emulator), (e) => e.webhooks.deliveries)
        )
        return deliveries.find((d) => d.body.includes("channel_occupied"))
      }
      // The delivery is recorded once the second attempt's answer is back, after the handler saw the event.
      let delivery = await occupied()
      for (const deadline = Date.now() + 20_000; delivery === undefined && Date.now() < deadline; ) {
        await sleep(50)
        delivery = await occupied()
      }
      expect(harness.events.filter((e) => e.name === "channel_occupied")).toHaveLength(1)
      expect({ status: delivery?.status, attempts: delivery?.attempts }).toEqual({ status: 200, attempts: 2 })
    } finally {
      // A connection left open keeps the emulator's scope from closing.
      await client.disconnect()
      await harness.close()
    }
  })
})

describe("node examples/endpoints/<framework>.ts", () => {
  const emulator = ManagedRuntime.make(EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer())))
  afterAll(() => emulator.dispose())

  /** Runs the example as its header says, until it listens; then asks it to authorize, and stops it. */
  const run = async (file: string) => {
    const { baseUrl } = await emulator.runPromise(Effect.service(Emulator.EmulatorServer))
    const { id, key, secret } = Emulator.defaultApp
    const port = await freePort()
    const child = spawn(process.execPath, [`examples/endpoints/${file}`], {
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      env: {
        ...process.env,
        SOCKUDO_URL: `${baseUrl.replace("http://", `http://${key}:${secret}@`)}/apps/${id}`,
        PORT: String(port)
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    try {
      await waitUntil(`${file} to listen (output so far: ${output})`, () => /listening on/i.test(output), 15_000)
      const answer = await post(`http://127.0.0.1:${port}/pusher/auth`, "socket_id=1.2&channel_name=presence-lobby", {
        ...formHeaders,
        ...ada
      })
      child.kill("SIGTERM")
      return { answer, code: await exited }
    } finally {
      child.kill("SIGKILL")
    }
  }

  for (const file of ["express.ts", "hono.ts", "fastify.ts", "effect.ts"]) {
    it(`${file} runs against SOCKUDO_URL on PORT`, { timeout: 30_000 }, async () => {
      const { answer, code } = await run(file)
      expect(answer).toMatchObject({
        status: 200,
        json: { channel_data: '{"user_id":"ada","user_info":{"name":"Ada Lovelace"}}' }
      })
      assert.include([0, 130, 143, null], code)
    })
  }
})
