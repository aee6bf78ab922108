/**
 * End-to-end scenarios: the SDK (imported from ../src) publishes, signs and verifies against a
 * real Pusher-protocol server, and pusher-js clients report what they actually received.
 *
 * Run through `e2e/run.sh`, which starts the server and sets E2E_PORT, E2E_APP_ID, E2E_APP_KEY,
 * E2E_APP_SECRET and E2E_WEBHOOK_PORT. `E2E_ONLY=3,5` runs a subset.
 */
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Sockudo, Webhook } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"
import {
  type Authenticator,
  type Authorizer,
  Client,
  type Delivery,
  FENCE_EVENT,
  pusherLog,
  RawClient,
  type Received,
  startWebhookReceiver,
  type Target,
  targetFromEnv,
  waitUntil
} from "./support.ts"

const target: Target = targetFromEnv()
/** Makes channel and user names unique to this run, so a long-lived server can be reused. */
const run = randomBytes(3).toString("hex")
/**
 * Capabilities the target is known to lack. A check named here that fails is reported as
 * "unsupported by <target>" with what was observed; one that passes fails the run, so this
 * list and the README table stay true.
 */
const knownGaps: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  soketi: {
    "channels.list user_count":
      "GET /channels ignores `info`: it always reports subscription_count and never user_count"
  },
  sockudo: {
    "channels.list fresh":
      "GET /channels answers from a cache for cache.memory.ttl (300 s by default, 120 s in the suite's node), " +
      "not the 2 s its handler asks for: the memory cache driver ignores per-entry TTLs, so an earlier answer " +
      "for the same prefix and info is returned, and channels stay listed after their clients left",
    "client_event user_id":
      "client_event webhooks never carry user_id, also on presence channels (5.0.1 sends them from an async " +
      "path that skips the member lookup)"
  }
}

// ---------------------------------------------------------------------------------------------
// The SDK, three ways: the right credentials, a wrong app secret, another encryption master key.

const masterKey = randomBytes(32).toString("base64")
const otherMasterKey = randomBytes(32).toString("base64")

const makeSdk = (secret: string, encryptionMasterKey: string) => {
  const runtime = ManagedRuntime.make(
    SockudoNode.layer({
      appId: target.appId,
      key: target.key,
      secret: Redacted.make(secret),
      host: target.host,
      port: target.port,
      encryptionMasterKeyBase64: Redacted.make(encryptionMasterKey)
    })
  )
  return {
    /** Runs an operation of the service; rejects with the SDK's typed error. */
    run: <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>): Promise<A> =>
      runtime.runPromise(Sockudo.Sockudo.use(f)),
    /** Runs an operation that must fail; resolves with its typed error. */
    fail: <A, E>(f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>): Promise<E> =>
      runtime.runPromise(Sockudo.Sockudo.use(f).pipe(Effect.flip)),
    dispose: () => runtime.dispose()
  }
}
type Sdk = ReturnType<typeof makeSdk>

const sdk = makeSdk(target.secret, masterKey)
const wrongSecretSdk = makeSdk(`${target.secret}-but-wrong`, masterKey)
const otherMasterKeySdk = makeSdk(target.secret, otherMasterKey)

/** A channel authorizer backed by the SDK: what an app's auth endpoint would answer. */
const authorizeWith =
  (with_: Sdk, member?: Sockudo.PresenceMember): Authorizer =>
  (socketId, channel) =>
    with_.run((s) => s.authorizeChannel(socketId, channel, channel.startsWith("presence-") ? member : undefined))

/** How an SDK operation ended, as text: "failed with <tag>" or "succeeded with <value>". */
const settle = <A, E>(with_: Sdk, f: (sockudo: Sockudo.Service) => Effect.Effect<A, E>): Promise<string> =>
  with_.run((s) =>
    f(s).pipe(
      Effect.match({
        onFailure: (e) => `failed with ${(e as { _tag?: string })._tag ?? String(e)}`,
        onSuccess: (a) => `succeeded with ${JSON.stringify(a)}`
      })
    )
  )

const authenticateWith =
  (with_: Sdk, user: Sockudo.UserData): Authenticator =>
  (socketId) =>
    with_.run((s) => s.authenticateUser(socketId, user))

// ---------------------------------------------------------------------------------------------
// A small runner: one scenario at a time, clients closed after each.

interface Gap {
  readonly id: string
  readonly reason: string
  readonly evidence: string
}

class Scenario {
  readonly notes: Array<string> = []
  readonly gaps: Array<Gap> = []
  blocked = false
  private readonly clients: Array<Client> = []
  private readonly raws: Array<RawClient> = []

  async client(
    name: string,
    options?: { readonly authorize?: Authorizer; readonly authenticate?: Authenticator }
  ): Promise<Client> {
    const client = await Client.connect(name, target, options)
    this.clients.push(client)
    return client
  }

  async raw(): Promise<RawClient> {
    const client = await RawClient.connect(target)
    this.raws.push(client)
    return client
  }

  note(text: string): void {
    this.notes.push(text)
  }

  /**
   * A check of a capability the target may lack. Returns whether it held. With `blocking`, the
   * scenario stops there and is reported as unsupported.
   */
  async capability(id: string, check: () => unknown, options?: { readonly blocking?: boolean }): Promise<boolean> {
    const reason = knownGaps[target.name]?.[id]
    try {
      await check()
    } catch (e) {
      if (reason === undefined) throw e
      this.gaps.push({ id, reason, evidence: describe(e) })
      if (options?.blocking) this.blocked = true
      return false
    }
    if (reason !== undefined) {
      throw new Error(
        `'${id}' is listed as unsupported by ${target.name}, but it worked: update knownGaps and the README`
      )
    }
    return true
  }

  close(): void {
    for (const client of this.clients) client.disconnect()
    for (const raw of this.raws) raw.close()
  }
}

const describe = (e: unknown): string => {
  if (e instanceof assert.AssertionError) {
    return `${e.message.split("\n")[0]} (expected ${JSON.stringify(e.expected)}, got ${JSON.stringify(e.actual)})`
  }
  return e instanceof Error ? e.message : String(e)
}

let fences = 0

/**
 * Publishes a fence (see FENCE_EVENT) to a channel of each client, or to each client's signed-in
 * user, and waits until every client has it: the server then delivered everything it was asked
 * to publish before, so nothing more can arrive from it.
 */
const fence = async (
  clients: ReadonlyArray<Client>,
  to: (client: Client) => { readonly channel: string } | { readonly user: string } = (c) => ({
    channel: c.fenceChannel()
  })
): Promise<void> => {
  const id = `fence-${++fences}`
  const targets = new Map(clients.map((c) => [JSON.stringify(to(c)), to(c)] as const))
  for (const target of targets.values()) {
    await sdk.run((s) =>
      "channel" in target
        ? s.trigger(target.channel, FENCE_EVENT, { id })
        : s.sendToUser(target.user, FENCE_EVENT, { id })
    )
  }
  await waitUntil(`${clients.map((c) => c.name).join(", ")} to receive ${id}`, () =>
    clients.every((c) => c.fences.has(id))
  )
}

/** Waits until every client has at least `counts[i]` events, then fences them to catch extras. */
const receive = async (expectations: ReadonlyArray<readonly [Client, number]>, timeoutMs = 5_000): Promise<void> => {
  await waitUntil(
    expectations.map(([c, n]) => `${c.name} to receive ${n} events (has ${c.received.length})`).join(", "),
    () => expectations.every(([c, n]) => c.received.length >= n),
    timeoutMs
  )
  await fence(expectations.map(([c]) => c))
}

const ev = (channel: string, event: string, data: unknown): Received => ({ channel, event, data })

// ---------------------------------------------------------------------------------------------
// The scenarios

const webhooks = await startWebhookReceiver(target.webhookPort)

const scenarios: ReadonlyArray<{
  readonly id: number
  readonly title: string
  readonly run: (t: Scenario) => Promise<void>
}> = [
  {
    id: 1,
    title: "trigger to one channel and to several: exact data to every subscriber",
    run: async (t) => {
      const one = `s1-${run}-one`
      const [m1, m2, m3] = [`s1-${run}-m1`, `s1-${run}-m2`, `s1-${run}-m3`]
      const a = await t.client("A")
      const b = await t.client("B")
      await Promise.all([a.subscribe(one), a.subscribe(m1), a.subscribe(m2)])
      await Promise.all([b.subscribe(one), b.subscribe(m2), b.subscribe(m3)])

      // About 9 KB of JSON, mixing 1-, 2-, 3- and 4-byte UTF-8 characters.
      const unit = "abcdefgh-äöü-東京-👋🏽|"
      const nineKb = { blob: unit.repeat(Math.ceil(9_000 / Buffer.byteLength(unit))).slice(0, 6_000), n: 9 }
      const size = Buffer.byteLength(JSON.stringify(nineKb))
      assert.ok(size >= 9_000 && size < 10_240, `the large payload is ${size} bytes`)
      t.note(`large payload: ${size} bytes of JSON`)

      const payloads: ReadonlyArray<readonly [string, unknown]> = [
        ["object", { id: 42, nested: { list: [1, "two", null, true, 2.5], empty: {} }, flag: false }],
        ["string", 'plain text, not JSON: <b>&amp;</b> "quoted" \\ back'],
        ["unicode", "Grüße aus Köln — 東京 — مرحبا — שלום — 👋🏽 (surrogate pairs)"],
        ["unicode-object", { text: "naïve café ☕", emoji: "🧪🚀", nbsp: "a\u00a0b", escapes: "tab\tnewline\n" }],
        ["large", nineKb]
      ]
      for (const [label, data] of payloads) await sdk.run((s) => s.trigger(one, `payload-${label}`, data))
      const multi = { to: "three channels", at: "once" }
      await sdk.run((s) => s.trigger([m1, m2, m3], "multi", multi))

      const onOne = payloads.map(([label, data]) => ev(one, `payload-${label}`, data))
      await receive([
        [a, 7],
        [b, 7]
      ])
      assert.deepStrictEqual(a.received, [...onOne, ev(m1, "multi", multi), ev(m2, "multi", multi)])
      assert.deepStrictEqual(b.received, [...onOne, ev(m2, "multi", multi), ev(m3, "multi", multi)])
    }
  },
  {
    id: 2,
    title: "socketId exclusion: the excluded client receives nothing, the others do",
    run: async (t) => {
      const channel = `s2-${run}`
      const [a, b, c] = [await t.client("A"), await t.client("B"), await t.client("C")]
      await Promise.all([a.subscribe(channel), b.subscribe(channel), c.subscribe(channel)])

      await sdk.run((s) => s.trigger(channel, "not-for-a", { n: 1 }, { socketId: a.socketId }))
      await sdk.run((s) =>
        s.triggerBatch([
          { channel, name: "batch-not-for-b", data: { n: 2 }, socketId: b.socketId },
          { channel, name: "batch-for-all", data: { n: 3 } }
        ])
      )
      await receive([
        [a, 2],
        [b, 2],
        [c, 3]
      ])
      const notForA = ev(channel, "not-for-a", { n: 1 })
      const notForB = ev(channel, "batch-not-for-b", { n: 2 })
      const forAll = ev(channel, "batch-for-all", { n: 3 })
      assert.deepStrictEqual(a.received, [notForB, forAll])
      assert.deepStrictEqual(b.received, [notForA, forAll])
      assert.deepStrictEqual(c.received, [notForA, notForB, forAll])
    }
  },
  {
    id: 3,
    title: "private channel: authorizeChannel through pusher-js's customHandler; bad signatures refused",
    run: async (t) => {
      const channel = `private-s3-${run}`
      const member = await t.client("member", { authorize: authorizeWith(sdk) })
      await member.subscribe(channel)
      assert.deepStrictEqual(member.authorizations, [{ socketId: member.socketId, channel }])

      const refusals: Array<readonly [string, Client]> = [
        ["signed with a wrong secret", await t.client("wrong-secret", { authorize: authorizeWith(wrongSecretSdk) })],
        [
          "signed for another connection",
          await t.client("replayed", {
            authorize: (_socketId, ch) => sdk.run((s) => s.authorizeChannel(member.socketId, ch))
          })
        ],
        [
          "signed for another channel",
          await t.client("other-channel", {
            authorize: (socketId) => sdk.run((s) => s.authorizeChannel(socketId, `${channel}-other`))
          })
        ]
      ]
      for (const [why, client] of refusals) {
        const error = await client.subscribeRefused(channel)
        // The authorizer answered, so the refusal is the server's: soketi's subscription_error
        // carries a status, Sockudo's pusher:error the code 4009.
        if (error.type === "AuthError") {
          assert.equal(typeof error.status, "number", `${why}: the server's refusal has a status`)
        } else {
          assert.deepStrictEqual([error.type, error.code], ["PusherError", 4009], `${why}: ${JSON.stringify(error)}`)
        }
        t.note(`${why}: refused with ${JSON.stringify(error)}`)
      }

      // A REST publish signed with a wrong app secret is refused, and the SDK says so.
      const forged = await settle(wrongSecretSdk, (s) => s.trigger(channel, "forged", { from: "wrong secret" }))
      t.note(`trigger signed with a wrong secret: ${forged}`)
      // soketi answers it with HTTP 200 and {error, code: 401}; the SDK reads the code.
      assert.equal(forged, "failed with SockudoAuthenticationError", "the SDK reports the refusal")

      await sdk.run((s) => s.trigger(channel, "members-only", { secret: "for members only" }))
      await receive([[member, 1]])
      assert.deepStrictEqual(member.received, [ev(channel, "members-only", { secret: "for members only" })])
      for (const [why, client] of refusals) assert.deepStrictEqual(client.received, [], `${why}: received nothing`)
    }
  },
  {
    id: 4,
    title: "presence channel: members and user info as signed; channels.users and channels.get agree",
    run: async (t) => {
      const channel = `presence-s4-${run}`
      const ada = { user_id: `ada-${run}`, user_info: { name: "Ada Lovelace", langs: ["en", "fr"], note: "Grüße 👋" } }
      const bob = { user_id: `bob-${run}`, user_info: { name: "Bob", admin: false, score: 7.5 } }
      const signed = new Map<string, string>()
      const presence =
        (member: Sockudo.PresenceMember): Authorizer =>
        async (socketId, ch) => {
          const authorization = await sdk.run((s) => s.authorizeChannel(socketId, ch, member))
          signed.set(member.user_id, authorization.channel_data!)
          return authorization
        }

      const adaClient = await t.client("ada", { authorize: presence(ada) })
      await adaClient.subscribe(channel)
      const bobClient = await t.client("bob", { authorize: presence(bob) })
      const bobChannel = await bobClient.subscribe(channel)

      const seen: Record<string, unknown> = {}
      bobChannel.members!.each((m) => {
        seen[m.id] = m.info
      })
      const asSigned = Object.fromEntries(
        [...signed.values()].map((json) => {
          const data = JSON.parse(json) as { user_id: string; user_info: unknown }
          return [data.user_id, data.user_info]
        })
      )
      assert.deepStrictEqual(seen, asSigned, "bob sees every member with the info the SDK signed")
      assert.deepStrictEqual(seen, { [ada.user_id]: ada.user_info, [bob.user_id]: bob.user_info })
      assert.equal(bobChannel.members!.me?.id, bob.user_id)
      await waitUntil("ada to see bob join", () => adaClient.memberEvents.length === 1)
      assert.deepStrictEqual(adaClient.memberEvents, [
        { channel, kind: "member_added", id: bob.user_id, info: bob.user_info }
      ])

      // A second connection of the same user: one more subscription, not one more user.
      const adaAgain = await t.client("ada-2nd", { authorize: presence(ada) })
      await adaAgain.subscribe(channel)

      const users = await sdk.run((s) => s.channels.users(channel))
      assert.deepStrictEqual(users.users.map((u) => u.id).sort(), [ada.user_id, bob.user_id].sort())
      const state = await sdk.run((s) => s.channels.get(channel, { info: ["user_count", "subscription_count"] }))
      t.note(`channels.get with 3 connections of 2 users: ${JSON.stringify(state)}`)
      assert.equal(state.occupied, true)
      assert.equal(state.user_count, users.users.length)
      assert.equal(state.subscription_count, 3)

      // channel_data changed after signing is refused.
      const forger = await t.client("forger", {
        authorize: async (socketId, ch) => {
          const authorization = await sdk.run((s) => s.authorizeChannel(socketId, ch, bob))
          return { auth: authorization.auth, channel_data: authorization.channel_data!.replace("Bob", "Mallory") }
        }
      })
      const refusal = await forger.subscribeRefused(channel)
      t.note(`tampered channel_data: refused with ${JSON.stringify(refusal)}`)

      // Bob leaves: ada is told, and the counts follow.
      bobClient.pusher.unsubscribe(channel)
      await waitUntil("ada to see bob leave", () => adaClient.memberEvents.length === 2)
      assert.deepStrictEqual(adaClient.memberEvents[1], {
        channel,
        kind: "member_removed",
        id: bob.user_id,
        info: bob.user_info
      })
      await waitUntil("channels.get to count 1 user", async () => {
        const after = await sdk.run((s) => s.channels.get(channel, { info: ["user_count", "subscription_count"] }))
        return after.user_count === 1 && after.subscription_count === 2
      })
      const usersAfter = await sdk.run((s) => s.channels.users(channel))
      assert.deepStrictEqual(usersAfter.users, [{ id: ada.user_id }])
    }
  },
  {
    id: 5,
    title:
      "private-encrypted- channel: shared_secret from the SDK decrypts triggers and batches; a wrong secret cannot",
    run: async (t) => {
      const channel = `private-encrypted-s5-${run}`
      const reader = await t.client("reader", { authorize: authorizeWith(sdk) })
      await reader.subscribe(channel)
      // A valid signature (so the server lets it in), but the shared_secret of another master key.
      const outsider = await t.client("wrong-key", { authorize: authorizeWith(otherMasterKeySdk) })
      await outsider.subscribe(channel)
      // A raw WebSocket subscriber sees the frames as the server relays them.
      const raw = await t.raw()
      const rawAuth = await sdk.run((s) => s.authorizeChannel(raw.socketId, channel))
      raw.send({ event: "pusher:subscribe", data: { channel, auth: rawAuth.auth } })
      await waitUntil("the raw client to subscribe", () =>
        raw.frames.some((f) => f.event === "pusher_internal:subscription_succeeded" && f.channel === channel)
      )

      const logged = pusherLog.length
      const dropped = () =>
        pusherLog.slice(logged).filter((line) => line.includes("Failed to decrypt event with new key")).length
      const secretData = { card: "4242 4242 4242 4242", note: "naïve café ☕ 🔐" }
      await sdk.run((s) => s.trigger(channel, "single", secretData))
      await sdk.run((s) =>
        s.triggerBatch([
          { channel, name: "batch-1", data: "a plain string, JSON-encoded before sealing" },
          { channel, name: "batch-2", data: { list: [1, 2, 3], unicode: "東京" } }
        ])
      )
      await receive([[reader, 3]])
      assert.deepStrictEqual(reader.received, [
        ev(channel, "single", secretData),
        ev(channel, "batch-1", "a plain string, JSON-encoded before sealing"),
        ev(channel, "batch-2", { list: [1, 2, 3], unicode: "東京" })
      ])

      // pusher-js fails to open each event, fetches the key again (same wrong key), fails again and
      // drops the event: once per event published (the 3 events and the reader's fence).
      await waitUntil("pusher-js to drop the 4 events it cannot open", () => dropped() >= 4)
      assert.deepStrictEqual(outsider.received, [], "the client with the wrong key gets nothing it can read")
      assert.equal(dropped(), 4, "one drop per event")
      assert.equal(outsider.authorizations.length, 5, "the subscription, then one key refetch per event")
      t.note(
        `wrong key: 0 events delivered, ${dropped()} "Failed to decrypt event with new key" logs, ` +
          `${outsider.authorizations.length} authorization requests`
      )

      await waitUntil("the raw client to get the fence too", () => raw.frames.some((f) => f.event === FENCE_EVENT))
      const wire = raw.frames.filter(
        (f) => f.channel === channel && !f.event.startsWith("pusher") && f.event !== FENCE_EVENT
      )
      assert.deepStrictEqual(
        wire.map((f) => f.event),
        ["single", "batch-1", "batch-2"]
      )
      for (const frame of wire) {
        assert.equal(typeof frame.data, "string")
        const sealed = JSON.parse(frame.data as string) as Record<string, unknown>
        assert.deepStrictEqual(Object.keys(sealed).sort(), ["ciphertext", "nonce"])
        assert.equal(Buffer.from(sealed.nonce as string, "base64").length, 24)
        for (const plain of ["4242", "naïve", "plain string", "東京"]) {
          assert.ok(!(frame.data as string).includes(plain), `the wire data does not contain '${plain}'`)
        }
      }
      t.note(`on the wire: ${JSON.stringify(wire[0]!.data).slice(0, 80)}...`)
    }
  },
  {
    id: 6,
    title: "channels.list with prefix filter and info, while connected and after leaving",
    run: async (t) => {
      const [pubA, pubB] = [`s6-${run}-a`, `s6-${run}-b`]
      const presence = `presence-s6-${run}`
      const priv = `private-s6-${run}`
      const u1 = { user_id: `u1-${run}` }
      const u2 = { user_id: `u2-${run}` }
      const c1 = await t.client("c1", { authorize: authorizeWith(sdk, u1) })
      const c2 = await t.client("c2", { authorize: authorizeWith(sdk, u2) })
      const c3 = await t.client("c3", { authorize: authorizeWith(sdk, u1) })
      await Promise.all([c1.subscribe(pubA), c1.subscribe(pubB), c1.subscribe(presence), c1.subscribe(priv)])
      await Promise.all([c2.subscribe(pubA), c2.subscribe(presence)])
      await c3.subscribe(presence)

      const counted = await sdk.run((s) =>
        s.channels.list({ filterByPrefix: `s6-${run}-`, info: ["subscription_count"] })
      )
      // Fields a server adds (soketi's `occupied`) are kept on the decoded entries: compare the counts.
      const counts = Object.fromEntries(Object.entries(counted.channels).map(([c, e]) => [c, e.subscription_count]))
      assert.deepStrictEqual(counts, { [pubA]: 2, [pubB]: 1 })

      const plain = await sdk.run((s) => s.channels.list({ filterByPrefix: `s6-${run}-` }))
      assert.deepStrictEqual(Object.keys(plain.channels).sort(), [pubA, pubB])
      t.note(`list without info: ${JSON.stringify(plain.channels)}`)

      const privates = await sdk.run((s) => s.channels.list({ filterByPrefix: `private-s6-${run}` }))
      assert.deepStrictEqual(Object.keys(privates.channels), [priv])

      // Unfiltered, on a server whose list is fresh (Sockudo's may be an answer cached by an
      // earlier caller, so it is neither proof nor disproof there).
      if (knownGaps[target.name]?.["channels.list fresh"] === undefined) {
        const all = await sdk.run((s) => s.channels.list())
        for (const channel of [pubA, pubB, presence, priv]) assert.ok(channel in all.channels, `${channel} is listed`)
      }

      const presences = await sdk.run((s) =>
        s.channels.list({ filterByPrefix: `presence-s6-${run}`, info: ["user_count"] })
      )
      assert.deepStrictEqual(Object.keys(presences.channels), [presence])
      t.note(`presence list with info=user_count: ${JSON.stringify(presences.channels)}`)
      await t.capability("channels.list user_count", () =>
        assert.strictEqual(presences.channels[presence]?.user_count, 2)
      )

      for (const client of [c1, c2, c3]) client.disconnect()
      await waitUntil("the channels to be vacated", async () => {
        const [a, p] = await Promise.all([
          sdk.run((s) => s.channels.get(pubA)),
          sdk.run((s) => s.channels.get(presence))
        ])
        return !a.occupied && !p.occupied
      })
      await t.capability("channels.list fresh", () =>
        waitUntil(
          "the channels to be gone from the list after the clients left",
          async () => {
            const [pub, pres] = await Promise.all([
              sdk.run((s) => s.channels.list({ filterByPrefix: `s6-${run}-`, info: ["subscription_count"] })),
              sdk.run((s) => s.channels.list({ filterByPrefix: `presence-s6-${run}` }))
            ])
            return Object.keys(pub.channels).length === 0 && Object.keys(pres.channels).length === 0
          },
          5_000
        )
      )
      const gone = await sdk.run((s) => s.channels.get(pubA, { info: ["subscription_count"] }))
      assert.equal(gone.occupied, false)
      if (gone.subscription_count !== undefined) assert.equal(gone.subscription_count, 0)
      t.note(`after leaving: channels.get(${pubA}) = ${JSON.stringify(gone)}`)
    }
  },
  {
    id: 7,
    title: "users.terminateConnections disconnects the signed-in user's connections only",
    run: async (t) => {
      const userId = `u-term-${run}`
      const otherId = `u-stay-${run}`
      const first = await t.client("term-1", { authenticate: authenticateWith(sdk, { id: userId, name: "To go" }) })
      const second = await t.client("term-2", { authenticate: authenticateWith(sdk, { id: userId, name: "To go" }) })
      const other = await t.client("stay", { authenticate: authenticateWith(sdk, { id: otherId }) })
      const anonymous = await t.client("anonymous")
      const signedIn = await t.capability(
        "user sign-in",
        () => Promise.all([first.signin(), second.signin(), other.signin()]),
        { blocking: true }
      )
      if (!signedIn) return

      // sendToUser reaches every connection of the signed-in user, and only those.
      for (const client of [first, second, other]) client.listenAsUser("notice")
      await sdk.run((s) => s.sendToUser(userId, "notice", { body: "hi 👋" }))
      await waitUntil("both connections of the user to get the notice", () =>
        [first, second].every((c) => c.userEvents.length === 1)
      )
      await fence([first, second, other], (c) => ({ user: c === other ? otherId : userId }))
      assert.deepStrictEqual(first.userEvents, [{ event: "notice", data: { body: "hi 👋" } }])
      assert.deepStrictEqual(second.userEvents, first.userEvents)
      assert.deepStrictEqual(other.userEvents, [])

      // terminateConnections, then a fence to the same user: if the connections were closed the
      // fence cannot arrive; if it arrives, they were not (the server handles requests in order).
      const terminated = () => [first, second].every((c) => c.state === "disconnected")
      const closedOrFenced = async (what: string) => {
        const id = `fence-${++fences}`
        await sdk.run((s) => s.sendToUser(userId, FENCE_EVENT, { id }))
        await waitUntil(what, () => [first, second].every((c) => c.state === "disconnected" || c.fences.has(id)))
      }
      await sdk.run((s) => s.users.terminateConnections(userId))
      await closedOrFenced("the user's connections to close (or a later fence to arrive)")
      assert.ok(terminated(), "terminateConnections resolved, but the user's connections stayed open")
      t.note(`terminated connections reported codes ${JSON.stringify(first.errorCodes())}`)
      assert.ok(first.errorCodes().includes(4009), "the terminated client was told why (4009)")
      assert.ok(second.errorCodes().includes(4009), "the terminated client was told why (4009)")

      const channel = `s7-${run}`
      await Promise.all([other.subscribe(channel), anonymous.subscribe(channel)])
      await sdk.run((s) => s.trigger(channel, "still-here", { ok: true }))
      await receive([
        [other, 1],
        [anonymous, 1]
      ])
      assert.equal(other.state, "connected")
      assert.equal(anonymous.state, "connected")

      // A sign-in signed with a wrong secret is refused.
      const forged = await t.client("forged", {
        authenticate: authenticateWith(wrongSecretSdk, { id: `u-forged-${run}` })
      })
      forged.pusher.signin()
      await waitUntil(
        "the forged sign-in to be refused",
        () => forged.state === "disconnected" || forged.errorCodes().length > 0
      )
      assert.equal(forged.pusher.user.user_data, null)
      t.note(`forged sign-in: codes ${JSON.stringify(forged.errorCodes())}, state ${forged.state}`)
    }
  },
  {
    id: 8,
    title: "webhooks from the server verified and decoded by the SDK; a wrong secret rejected",
    run: async (t) => {
      const priv = `private-s8-${run}`
      const presence = `presence-s8-${run}`
      const first = { user_id: `w1-${run}`, user_info: { name: "First" } }
      const second = { user_id: `w2-${run}`, user_info: { name: "Second" } }
      const w1 = await t.client("w1", { authorize: authorizeWith(sdk, first) })
      const w2 = await t.client("w2", { authorize: authorizeWith(sdk, second) })

      const w1Private = await w1.subscribe(priv)
      await w2.subscribe(priv)
      // The senders' socket ids as they sent (pusher-js gets a new one if it reconnects).
      const w1Socket = w1.socketId
      w1Private.trigger("client-ping", { text: "héllo from w1", n: 1 })
      await waitUntil("w2 to get the client event", () => w2.received.length === 1)
      await w1.subscribe(presence)
      const w2Presence = await w2.subscribe(presence)
      const w2Socket = w2.socketId
      w2Presence.trigger("client-hello", "a string payload")
      await waitUntil("w1 to get the client event", () => w1.received.length === 1)
      w2.pusher.unsubscribe(presence)
      await waitUntil("w1 to see w2 leave", () => w1.memberEvents.some((m) => m.kind === "member_removed"))
      w1.pusher.unsubscribe(presence)
      w1.pusher.unsubscribe(priv)
      w2.pusher.unsubscribe(priv)

      const expected = [
        { name: "channel_occupied", _tag: "ChannelOccupied", channel: priv },
        { name: "channel_occupied", _tag: "ChannelOccupied", channel: presence },
        { name: "member_added", _tag: "MemberAdded", channel: presence, user_id: first.user_id },
        { name: "member_added", _tag: "MemberAdded", channel: presence, user_id: second.user_id },
        {
          name: "client_event",
          _tag: "ClientEvent",
          channel: priv,
          event: "client-ping",
          data: { text: "héllo from w1", n: 1 },
          socket_id: w1Socket
        },
        {
          name: "client_event",
          _tag: "ClientEvent",
          channel: presence,
          event: "client-hello",
          data: "a string payload",
          socket_id: w2Socket,
          user_id: second.user_id
        },
        { name: "member_removed", _tag: "MemberRemoved", channel: presence, user_id: second.user_id },
        { name: "member_removed", _tag: "MemberRemoved", channel: presence, user_id: first.user_id },
        { name: "channel_vacated", _tag: "ChannelVacated", channel: presence },
        { name: "channel_vacated", _tag: "ChannelVacated", channel: priv }
      ]
      // Keys sorted at every depth: Sockudo re-serialises a client event's data, and the order of
      // its keys is not always the client's.
      const sorted = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(sorted)
          : typeof v === "object" && v !== null
            ? Object.fromEntries(
                Object.entries(v)
                  .sort(([a], [b]) => (a < b ? -1 : 1))
                  .map(([k, x]) => [k, sorted(x)])
              )
            : v
      const key = (e: Record<string, unknown>) => JSON.stringify(sorted(e))
      // The event types e2e/run.sh configures; a server configured for more (Sockudo's suite also
      // asks for subscription_count and message_version_created) sends others, tested elsewhere.
      const types = new Set(["channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event"])
      const ours = (e: Record<string, unknown>) =>
        (e.channel === priv || e.channel === presence) && types.has(e.name as string)

      let verified: Array<{ readonly delivery: Delivery; readonly webhook: Webhook.Webhook }> = []
      const verifyAll = async () => {
        verified = []
        for (const delivery of webhooks.deliveries) {
          const webhook = await sdk.run((s) => s.webhooks.verify({ headers: delivery.headers, body: delivery.body }))
          verified.push({ delivery, webhook })
        }
        return verified.flatMap((v) => v.webhook.events as ReadonlyArray<Record<string, unknown>>).filter(ours)
      }
      // A client event's user_id is compared apart, as a capability of the server.
      const pickKnown = (e: Record<string, unknown>) => {
        const fields = ["name", "_tag", "channel", "user_id", "event", "data", "socket_id"]
        return Object.fromEntries(
          fields.filter((f) => f in e && !(f === "user_id" && e.name === "client_event")).map((f) => [f, e[f]])
        )
      }
      let missing: ReadonlyArray<unknown> = []
      await waitUntil(
        "every expected webhook",
        async () => {
          const got = new Set((await verifyAll()).map((e) => key(pickKnown(e))))
          missing = expected.filter((e) => !got.has(key(pickKnown(e))))
          return missing.length === 0
        },
        15_000
      ).catch((e) => {
        const seen = verified.flatMap((v) => v.webhook.events as ReadonlyArray<Record<string, unknown>>).filter(ours)
        throw new Error(`${e.message}: missing ${JSON.stringify(missing)}; received ${JSON.stringify(seen)}`)
      })
      const received = await verifyAll()
      assert.deepStrictEqual(
        received.map((e) => key(pickKnown(e))).sort(),
        expected.map((e) => key(pickKnown(e))).sort(),
        "exactly the expected events, each once, verified and typed by the SDK"
      )
      await t.capability("client_event user_id", () =>
        assert.deepStrictEqual(
          received.filter((e) => e.name === "client_event").map((e) => e.user_id),
          expected.filter((e) => e.name === "client_event").map((e) => e.user_id)
        )
      )
      t.note(`${webhooks.deliveries.length} webhook deliveries during the run so far; all verified`)

      const sample = verified.find((v) => v.webhook.events.some(ours))!.delivery
      assert.equal(sample.headers["x-pusher-key"], target.key)
      const body = Buffer.from(sample.body).toString("utf8")

      // The same webhook through the stand-alone verifier, with the body as a string.
      const credentials = { key: target.key, secret: Redacted.make(target.secret) }
      const standalone = await Effect.runPromise(Webhook.verify({ headers: sample.headers, body }, credentials))
      assert.ok(standalone.events.length > 0)

      const resigned = {
        headers: { ...sample.headers, "x-pusher-signature": Webhook.sign(Redacted.make("not-the-app-secret"), body) },
        body
      }
      const rejections: ReadonlyArray<readonly [string, Promise<{ readonly _tag: string }>, string]> = [
        ["re-signed with a wrong secret", sdk.fail((s) => s.webhooks.verify(resigned)), "SockudoWebhookSignatureError"],
        [
          "verified with a wrong secret",
          wrongSecretSdk.fail((s) => s.webhooks.verify({ headers: sample.headers, body: sample.body })),
          "SockudoWebhookSignatureError"
        ],
        [
          "body changed after signing",
          sdk.fail((s) =>
            s.webhooks.verify({ headers: sample.headers, body: body.replace('"time_ms":', '"time_ms": ') })
          ),
          "SockudoWebhookSignatureError"
        ],
        [
          "signed for an unknown app key",
          sdk.fail((s) => s.webhooks.verify({ headers: { ...sample.headers, "x-pusher-key": "another-key" }, body })),
          "SockudoWebhookKeyError"
        ]
      ]
      for (const [why, failure, tag] of rejections) assert.equal((await failure)._tag, tag, why)
    }
  },
  {
    id: 9,
    title: "triggerBatch across public, private, presence and encrypted channels arrives in order",
    run: async (t) => {
      const channels = [`s9-${run}`, `private-s9-${run}`, `presence-s9-${run}`, `private-encrypted-s9-${run}`]
      const all = await t.client("all", { authorize: authorizeWith(sdk, { user_id: `u-s9-${run}` }) })
      for (const channel of channels) await all.subscribe(channel)
      const publicOnly = await t.client("public-only")
      await publicOnly.subscribe(channels[0]!)

      const batch = (from: number, pick: (i: number) => number) =>
        Array.from({ length: 10 }, (_, k) => {
          const i = from + k
          const channel = channels[pick(i) % channels.length]!
          return { channel, name: `seq-${i}`, data: { seq: i, channel, pad: "é".repeat(i) } }
        })
      const first = batch(0, (i) => i)
      const second = batch(10, (i) => i * 3 + 1)
      await sdk.run((s) => s.triggerBatch(first))
      await sdk.run((s) => s.triggerBatch(second))

      const sent = [...first, ...second].map((e) => ev(e.channel, e.name, e.data))
      const toPublic = sent.filter((e) => e.channel === channels[0])
      await receive([
        [all, 20],
        [publicOnly, toPublic.length]
      ])
      assert.deepStrictEqual(all.received, sent)
      assert.deepStrictEqual(publicOnly.received, toPublic)
    }
  }
]

// ---------------------------------------------------------------------------------------------

const only = process.env.E2E_ONLY?.split(",").map(Number)
const selected = scenarios.filter((s) => only === undefined || only.includes(s.id))
const watchdog = setTimeout(() => {
  console.error("e2e: the scenarios ran for more than 120 s; giving up")
  process.exit(1)
}, 120_000)

console.log(`e2e against ${target.name} at ${target.host}:${target.port} (run ${run})`)
const results: Array<{ readonly id: number; readonly title: string; readonly outcome: string; readonly ms: number }> =
  []
for (const scenario of selected) {
  const t = new Scenario()
  const started = Date.now()
  let outcome: string
  let failure: unknown
  try {
    await scenario.run(t)
    outcome = t.blocked ? "UNSUPPORTED" : t.gaps.length > 0 ? "PARTIAL" : "PASS"
  } catch (e) {
    outcome = "FAIL"
    failure = e
  } finally {
    t.close()
  }
  const ms = Date.now() - started
  results.push({ id: scenario.id, title: scenario.title, outcome, ms })
  console.log(`${outcome.padEnd(14)} ${scenario.id}. ${scenario.title} (${ms} ms)`)
  for (const note of t.notes) console.log(`    - ${note}`)
  for (const gap of t.gaps)
    console.log(`    - unsupported by ${target.name}: ${gap.reason} (check '${gap.id}'; observed: ${gap.evidence})`)
  if (failure !== undefined)
    console.log(
      `    ${String(failure instanceof Error ? (failure.stack ?? failure) : failure).replaceAll("\n", "\n    ")}`
    )
}

clearTimeout(watchdog)
await webhooks.close()
await Promise.all([sdk.dispose(), wrongSecretSdk.dispose(), otherMasterKeySdk.dispose()])

const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length
const failed = count("FAIL")
console.log(
  `\ne2e against ${target.name}: ${count("PASS")} passed, ${count("PARTIAL")} passed with checks unsupported by ` +
    `${target.name}, ${count("UNSUPPORTED")} unsupported by ${target.name}, ${failed} failed`
)
process.exit(failed > 0 || results.length === 0 ? 1 : 0)
