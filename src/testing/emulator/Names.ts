/**
 * The server's channel-name rules (server reference, section 4), in its order and with its
 * messages: type prefixes, configured namespaces, byte length, characters, user-limited
 * channels (`base#u1,u2`) and a namespace's name pattern.
 *
 * @since 0.1.0
 */

/**
 * A channel namespace configured for an app: the part before the first `:` of a channel's
 * logical name (`chat:room-1`). Channels in an unknown namespace are rejected.
 *
 * @since 0.1.0
 */
export interface Namespace {
  /** The namespace's name, without the `:`. */
  readonly name: string
  /**
   * Allow `base#u1` channels that only the listed user may subscribe to. Default false. (Sockudo
   * 5.0.1 refuses the `,` of a longer list `base#u1,u2` as an invalid character.)
   */
  readonly allowUserLimitedChannels?: boolean | undefined
  /** Overrides the app's channel-name length limit for this namespace. */
  readonly maxChannelNameLength?: number | undefined
  /** Channel names of this namespace must match this pattern. */
  readonly channelNamePattern?: RegExp | undefined
  /** Overrides the app's `annotationsEnabled` for this namespace's channels. */
  readonly annotationsEnabled?: boolean | undefined
}

const TYPE_PREFIXES = [
  "private-encrypted-cache-",
  "private-cache-",
  "presence-cache-",
  "cache-",
  "private-encrypted-",
  "presence-",
  "private-"
] as const

const CHARACTER = /[A-Za-z0-9\-_=@.:#]/
const LIMITED_USER_ID = /^[A-Za-z0-9\-_=@.]+$/

const utf8 = new TextEncoder()

/** A character as Rust's `{:?}` prints a `char`. */
const rustChar = (c: string): string => {
  switch (c) {
    case "'":
      return "'\\''"
    case "\\":
      return "'\\\\'"
    case "\n":
      return "'\\n'"
    case "\r":
      return "'\\r'"
    case "\t":
      return "'\\t'"
    case "\0":
      return "'\\0'"
    default: {
      const code = c.codePointAt(0) ?? 0
      return code < 0x20 || code === 0x7f ? `'\\u{${code.toString(16)}}'` : `'${c}'`
    }
  }
}

/**
 * The server's refusal of a channel name's characters, or `undefined`: only `A-Z a-z 0-9`,
 * `-`, `_`, `=`, `@`, `.`, `:` and `#` are allowed.
 *
 * @since 0.1.0
 */
export const invalidCharacters = (name: string): string | undefined => {
  const bad = [...name].filter((c) => !CHARACTER.test(c))
  return bad.length === 0
    ? undefined
    : `Channel name contains invalid characters: '${name}' (invalid chars: [${bad.map(rustChar).join(", ")}])`
}

/**
 * UTF-8 byte length.
 *
 * @since 0.1.0
 */
export const byteLength = (s: string): number => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return utf8.encode(s).length
  return s.length
}

/**
 * The name without its type prefix (`presence-room` -> `room`).
 *
 * @since 0.1.0
 */
export const logicalName = (name: string): string => {
  for (const prefix of TYPE_PREFIXES) if (name.startsWith(prefix)) return name.slice(prefix.length)
  return name
}

/**
 * The namespace a channel belongs to, if its logical name has one.
 *
 * @since 0.1.0
 */
export const namespaceOf = (name: string): string | undefined => {
  const logical = logicalName(name)
  const hash = logical.indexOf("#")
  const base = hash > 0 ? logical.slice(0, hash) : logical
  const colon = base.indexOf(":")
  return colon === -1 ? undefined : base.slice(0, colon)
}

/**
 * Why the server rejects a channel name (its 400 message), or `undefined` when it accepts it.
 *
 * @since 0.1.0
 */
export const channelNameError = (
  name: string,
  maxChannelNameLength: number,
  namespaces: ReadonlyMap<string, Namespace>
): string | undefined => {
  const logical = logicalName(name)
  const nsName = namespaceOf(name)
  const namespace = nsName === undefined ? undefined : namespaces.get(nsName)
  if (nsName !== undefined && namespace === undefined) return `Unknown channel namespace '${nsName}'`
  const max = namespace?.maxChannelNameLength ?? maxChannelNameLength
  if (byteLength(name) > max) return `Channel name too long. Max length is ${max}`
  const characters = invalidCharacters(name)
  if (characters !== undefined) return characters
  const hash = logical.indexOf("#")
  if (hash > 0) {
    const users = logical.slice(hash + 1)
    if (users.includes("#")) return "User-limited channel names may contain only one '#'"
    if (users.split(",").some((id) => !LIMITED_USER_ID.test(id))) {
      return `Invalid user id in user-limited channel name: ${name}`
    }
    if (namespace?.allowUserLimitedChannels !== true) {
      return "User-limited channels are not allowed in this channel namespace"
    }
  }
  if (namespace?.channelNamePattern !== undefined && !namespace.channelNamePattern.test(name)) {
    return `Channel name does not match the pattern of namespace '${namespace.name}'`
  }
  return undefined
}

/**
 * The users a user-limited channel (`base#u1,u2`) admits, or `undefined` for other channels.
 *
 * @since 0.1.0
 */
export const limitedUsers = (name: string): ReadonlyArray<string> | undefined => {
  const logical = logicalName(name)
  const hash = logical.indexOf("#")
  return hash > 0 ? logical.slice(hash + 1).split(",") : undefined
}

/**
 * `presence-` channels.
 *
 * @since 0.1.0
 */
export const isPresence = (name: string): boolean => name.startsWith("presence-")

/**
 * Channels a client needs a signature to subscribe to: `private-` (and `private-encrypted-`)
 * and `presence-`.
 *
 * @since 0.1.0
 */
export const needsAuth = (name: string): boolean => name.startsWith("private-") || name.startsWith("presence-")

/**
 * Cache channels: the server's unanchored `cache-` test.
 *
 * @since 0.1.0
 */
export const isCache = (name: string): boolean => name.includes("cache-")

/**
 * The channel that reaches one user's signed-in connections.
 *
 * @since 0.1.0
 */
export const userChannelPrefix = "#server-to-user-"

/**
 * The event names that switch a publish response to its per-channel form (AI transport).
 *
 * @since 0.1.0
 */
export const aiEventNames: ReadonlySet<string> = new Set([
  "ai-input",
  "ai-output",
  "ai-run-start",
  "ai-run-suspend",
  "ai-run-resume",
  "ai-run-end",
  "ai-cancel",
  "ai-step-start",
  "ai-step-end",
  "ai-turn-start",
  "ai-turn-end"
])
