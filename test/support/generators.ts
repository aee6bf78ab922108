/**
 * Seeded, deterministic generators for the conformance tests. The same seed gives the same cases
 * on every run and every machine, so a failure names a case that can be replayed: each test
 * prints the seed and index of the case it reports.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's small fast counter), seeded through splitmix32.
 */

/** A source of pseudo-random choices. */
export interface Gen {
  /** A float in [0, 1). */
  readonly next: () => number
  /** An integer in [min, max], both inclusive. */
  readonly int: (min: number, max: number) => number
  readonly chance: (probability: number) => boolean
  readonly pick: <A>(choices: ReadonlyArray<A>) => A
  /** `min` to `max` picks from `alphabet` (a string is split into code points). */
  readonly string: (alphabet: string | ReadonlyArray<string>, min: number, max: number) => string
  readonly bytes: (length: number) => Uint8Array
}

const splitmix32 = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** A generator for a seed. */
export const make = (seed: number): Gen => {
  const init = splitmix32(seed)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  const next32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t
  }
  for (let i = 0; i < 12; i++) next32()
  const next = () => next32() / 4294967296
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(choices: ReadonlyArray<A>): A => choices[int(0, choices.length - 1)]!
  return {
    next,
    int,
    chance: (probability) => next() < probability,
    pick,
    string: (alphabet, min, max) => {
      const symbols = typeof alphabet === "string" ? Array.from(alphabet) : alphabet
      let out = ""
      for (let n = int(min, max); n > 0; n--) out += pick(symbols)
      return out
    },
    bytes: (length) => {
      const out = new Uint8Array(length)
      for (let i = 0; i < length; i++) out[i] = next32() & 0xff
      return out
    }
  }
}

/** `count` cases from `seed`; each case gets its own generator, so cases are independent. */
export const cases = <A>(seed: number, count: number, f: (gen: Gen, index: number) => A): ReadonlyArray<A> =>
  Array.from({ length: count }, (_, i) => f(make(Math.imul(seed, 0x01000193) ^ i), i))

// ---------------------------------------------------------------------------------------------
// Alphabets

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const digits = "0123456789"

/** Every character the server allows in a channel name but `#` (server reference §4). */
export const channelAlphabet = `${letters}${digits}-_=@,;.:`

/** The characters of a user id after `#` in a user-limited channel name. */
export const userLimitAlphabet = `${letters}${digits}-_=@.`

/**
 * Fragments of text that tend to break signing and serialisation: JSON escapes, control
 * characters, line separators, URL delimiters, multi-byte UTF-8, astral code points, combining
 * marks, joiners, right-to-left text.
 */
const textPieces: ReadonlyArray<string> = [
  ...Array.from(`${letters}${digits} `),
  ...Array.from("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
  "\n",
  "\t",
  "\r",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u2028",
  "\u2029",
  "\u200b",
  "\ufeff",
  "%20",
  "%2F",
  "%",
  "+",
  "é",
  "ß",
  "ą§¶™€łü€ß£",
  "Ädä",
  "日本語",
  "中文",
  "한국어",
  "עברית",
  "العربية",
  "e\u0301",
  "😀",
  "🚀",
  "👩‍💻",
  "🇪🇺",
  "𝄞",
  "\u{10ffff}"
]

/** Lone UTF-16 surrogates: not valid Unicode, but perfectly valid JavaScript strings. */
const loneSurrogates: ReadonlyArray<string> = ["\ud800", "\udbff", "\udc00", "\udfff"]

// ---------------------------------------------------------------------------------------------
// Domain values

/** A socket id as the server issues them: two decimal integers up to 10^10. */
export const socketId = (gen: Gen): string => `${gen.int(0, 1e10)}.${gen.int(0, 1e10)}`

/** Arbitrary text from {@link textPieces}; lone surrogates only when asked for. */
export const text = (gen: Gen, min: number, max: number, options: { readonly loneSurrogates?: boolean } = {}) => {
  const pieces = options.loneSurrogates ? [...textPieces, ...loneSurrogates] : textPieces
  return gen.string(pieces, min, max)
}

/**
 * A channel name the server accepts, starting with `prefix`: a body drawn from the full channel
 * alphabet and, sometimes, a `#` user-limit suffix (`#u1,u2`). At most 200 bytes.
 */
export const channelName = (gen: Gen, prefix: string): string => {
  let name = prefix + gen.string(channelAlphabet, 1, 40)
  if (gen.chance(0.3)) {
    const ids = Array.from({ length: gen.int(1, 3) }, () => gen.string(userLimitAlphabet, 1, 8))
    name += `#${ids.join(",")}`
  }
  return name.slice(0, 200)
}

/** True when pusher's own channel validation accepts the name (it refuses `:` and `#`). */
export const pusherAcceptsChannel = (name: string): boolean => !/[:#]/.test(name)

/** Any JSON value: unicode keys and strings, integers, floats, nesting. */
export const jsonValue = (gen: Gen, depth = 2): unknown => {
  const kind = gen.int(0, depth > 0 ? 7 : 4)
  switch (kind) {
    case 0:
      return null
    case 1:
      return gen.chance(0.5)
    case 2:
      return gen.chance(0.5) ? gen.int(-1e9, 1e9) : (gen.next() - 0.5) * 10 ** gen.int(-5, 20)
    case 3:
    case 4:
      return text(gen, 0, 12)
    case 5:
      return Array.from({ length: gen.int(0, 4) }, () => jsonValue(gen, depth - 1))
    default:
      return jsonObject(gen, depth - 1)
  }
}

/** A JSON object with unicode keys. */
export const jsonObject = (gen: Gen, depth = 1): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (let n = gen.int(0, 4); n > 0; n--) out[text(gen, 1, 6)] = jsonValue(gen, depth)
  return out
}

/** A presence member: a non-empty unicode `user_id`, and usually some unicode `user_info`. */
export const presenceMember = (gen: Gen): { user_id: string; user_info?: Record<string, unknown> } => {
  const user_id = text(gen, 1, 16)
  return gen.chance(0.8) ? { user_id, user_info: jsonObject(gen, 2) } : { user_id }
}

/** Sign-in user data: a non-empty unicode `id` plus the optional fields the server reads. */
export const userData = (gen: Gen): { id: string; [field: string]: unknown } => {
  const data: { id: string; [field: string]: unknown } = { id: text(gen, 1, 16) }
  if (gen.chance(0.4)) data.watchlist = Array.from({ length: gen.int(0, 3) }, () => text(gen, 1, 8))
  if (gen.chance(0.3)) data.capabilities = { subscribe: [channelName(gen, "private-")], publish: ["*"] }
  if (gen.chance(0.6)) data.user_info = jsonObject(gen, 2)
  if (gen.chance(0.4)) data[text(gen, 1, 6)] = jsonValue(gen)
  return data
}

/** An app key: printable ASCII without `:` (the key prefixes `key:signature`). */
export const appKey = (gen: Gen): string => gen.string(`${letters}${digits}-_.`, 1, 24)

/** An app secret: any text, multi-byte included. */
export const appSecret = (gen: Gen): string => text(gen, 1, 32)

const queryKeyAlphabet = `${letters}${digits}_-.`
const reserved = new Set(["auth_key", "auth_timestamp", "auth_version", "auth_signature", "body_md5"])

/**
 * Query parameters with distinct keys (case-insensitively), none of them reserved. Keys are
 * ASCII in any letter case; values are arbitrary text, lone surrogates included when asked for.
 */
export const queryParams = (
  gen: Gen,
  options: { readonly lowerCaseKeys?: boolean; readonly loneSurrogates?: boolean } = {}
): Array<readonly [string, string]> => {
  const seen = new Set<string>()
  const out: Array<readonly [string, string]> = []
  for (let n = gen.int(0, 5); n > 0; n--) {
    let key = gen.string(queryKeyAlphabet, 1, 12)
    if (options.lowerCaseKeys) key = key.toLowerCase()
    if (seen.has(key.toLowerCase()) || reserved.has(key.toLowerCase())) continue
    seen.add(key.toLowerCase())
    out.push([key, text(gen, 0, 16, { loneSurrogates: options.loneSurrogates ?? false })])
  }
  return out
}

/**
 * A value for one path segment (a user id, say): anything but the dot segments `.` and `..`,
 * which URL parsers resolve away (see the report on dot segments in `Signer.test.ts`).
 */
export const pathSegment = (gen: Gen, options: { readonly loneSurrogates?: boolean } = {}): string => {
  const segment = text(gen, 1, 16, options)
  return segment === "." || segment === ".." ? `${segment}x` : segment
}

/** The events of server reference §9.3, with generated unicode values. */
export const webhookEvent = (gen: Gen): Record<string, unknown> => {
  const channel = channelName(gen, gen.pick(["", "private-", "presence-", "cache-"]))
  const userId = text(gen, 1, 10)
  const serial = () => `${gen.int(0, 1e12)}:${gen.int(0, 99)}:${gen.int(0, 1e6)}`
  switch (gen.int(0, 8)) {
    case 0:
      return { name: "channel_occupied", channel }
    case 1:
      return { name: "channel_vacated", channel }
    case 2:
      return { name: "subscription_count", channel, subscription_count: gen.int(0, 1e6) }
    case 3:
      return { name: gen.pick(["member_added", "member_removed"]), channel, user_id: userId }
    case 4:
      return { name: "member_updated", channel, user_id: userId, user_info: jsonObject(gen) }
    case 5:
      return {
        name: "client_event",
        channel,
        event: `client-${text(gen, 1, 8)}`,
        data: gen.chance(0.5) ? text(gen, 0, 20) : jsonValue(gen),
        socket_id: socketId(gen),
        ...(gen.chance(0.5) ? { user_id: userId } : {})
      }
    case 6:
      return {
        name: "message_version_created",
        channel,
        message_serial: serial(),
        version_serial: serial(),
        action: "message.update"
      }
    case 7:
      return { name: `future_${gen.string(letters, 1, 8)}`, channel, [text(gen, 1, 5)]: jsonValue(gen) }
    default:
      return { name: "cache_miss", channel, data: "{}" }
  }
}

/** A webhook body as the server sends it (sometimes pretty-printed: signatures cover raw bytes). */
export const webhookBody = (gen: Gen): string => {
  const body = {
    time_ms: gen.int(1_600_000_000_000, 1_900_000_000_000),
    events: Array.from({ length: gen.int(1, 4) }, () => webhookEvent(gen))
  }
  return gen.chance(0.2) ? JSON.stringify(body, null, 2) : JSON.stringify(body)
}
