/**
 * The server's validation of a channel name in a store's path (section 4), for an app without
 * configured namespaces. The type prefixes and logical names come from `../Names.ts`; only the
 * path validator's own messages live here.
 *
 * @since 0.1.0
 */
import type { AppHandle, Limits } from "../Api.ts"
import { byteLength, invalidCharacters, logicalName } from "../Names.ts"
import { invalid } from "./Respond.ts"

const VALID_USER_ID = /^[A-Za-z0-9\-_=@.]+$/

/**
 * Why a channel name fails the server's path validation, or `undefined` when it passes. The
 * emulator configures no namespaces, so any `namespace:` prefix is unknown and user-limited
 * (`base#u1`) channels are refused, exactly as a server without namespace configuration does.
 *
 * @since 0.1.0
 */
export const channelNameError = (channel: string, limits: Limits): string | undefined => {
  const logical = logicalName(channel)
  const hash = logical.indexOf("#")
  const withoutUsers = hash === -1 ? logical : logical.slice(0, hash)
  const colon = logical.indexOf(":")
  if (withoutUsers.includes(":")) {
    const namespace = colon > 0 ? logical.slice(0, colon) : ""
    return `Unknown channel namespace '${namespace}'`
  }
  if (byteLength(channel) > limits.maxChannelNameLength) {
    return `Channel name too long. Max length is ${limits.maxChannelNameLength}`
  }
  const characters = invalidCharacters(channel)
  if (characters !== undefined) return characters
  if (hash > 0) {
    if ((logical.match(/#/g) ?? []).length > 1) return `Channel '${channel}' contains multiple user limit separators`
    const raw = logical.slice(hash + 1)
    if (raw === "") return `Channel '${channel}' has an empty user limit segment`
    const users = raw.split(",").map((u) => u.trim())
    if (users.some((u) => u === "")) {
      return `Channel '${channel}' contains an empty user id in its user limit segment`
    }
    if (users.some((u) => !VALID_USER_ID.test(u))) {
      return `Channel '${channel}' contains an invalid user id in its user limit segment`
    }
    return `Channel '${channel}' uses user-limited syntax but the namespace does not allow it`
  }
  return undefined
}

/**
 * Rejects with 400 `invalid_input` when the path channel fails validation.
 *
 * @since 0.1.0
 */
export const requireValidChannel = (channel: string, app: AppHandle): void => {
  const error =
    app.channelNameError === undefined ? channelNameError(channel, app.limits) : app.channelNameError(channel)
  if (error !== undefined) invalid(error)
}
