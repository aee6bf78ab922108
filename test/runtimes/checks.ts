/**
 * What the runtime suite checks, and what the driver hands each runtime: shared by the suite (which
 * every runtime loads), the driver and the README's compatibility test, so it imports nothing.
 */

/** The suite's checks, in the order of the README's compatibility table. */
export const checks = [
  "publish",
  "channel state",
  "history stream",
  "webhook verify",
  "channel auth",
  "endpoints",
  "testing",
  "node entry"
] as const

/** One of {@link checks}. */
export type Check = (typeof checks)[number]

/** A webhook the driver signed with `node:crypto`, and the same body altered after signing. */
export interface SignedWebhook {
  readonly key: string
  readonly signature: string
  readonly body: string
  readonly tamperedBody: string
  /** The channel of its one `channel_occupied` event. */
  readonly channel: string
}

/** Signatures the driver computed with `node:crypto`, for requests the runtime signs with the SDK. */
export interface ExpectedAuth {
  readonly socketId: string
  readonly privateChannel: string
  /** `<key>:<hex HMAC-SHA256 of "<socketId>:<privateChannel>">` */
  readonly privateAuth: string
  readonly presenceChannel: string
  readonly member: { readonly user_id: string; readonly user_info: Readonly<Record<string, string>> }
  /** `JSON.stringify(member)`, as the client receives it. */
  readonly channelData: string
  /** Over `"<socketId>:<presenceChannel>:<channelData>"`. */
  readonly presenceAuth: string
}

/** Everything one runtime's run needs: where the emulator is, its channels, and the signed inputs. */
export interface Fixture {
  /** `http://<key>:<secret>@127.0.0.1:<port>/apps/<appId>`: the emulator on its loopback port. */
  readonly url: string
  /** A public channel one simulated client is subscribed to; every other channel is unoccupied. */
  readonly subscribed: string
  /** The prefix of every channel this run uses, so runtimes never see each other's channels. */
  readonly prefix: string
  /** A channel that nothing but this run publishes to, for the history check. */
  readonly historyChannel: string
  readonly webhook: SignedWebhook
  readonly auth: ExpectedAuth
  /** Whether the runtime is meant to run `effect-sockudo/node` (Node, Bun, Deno; not a Worker). */
  readonly nodeEntry: boolean
}

/** One check's outcome; `detail` says what was seen, or why it failed. */
export interface Result {
  readonly check: Check
  readonly ok: boolean
  readonly detail: string
  /** Not run: the check does not apply to this runtime (then `ok` is true). */
  readonly skipped?: true | undefined
}

/** The line prefix under which a runtime's process prints its results as JSON. */
export const resultsMarker = "runtime-suite-results "
