/**
 * Whether the server admits a subscription once the channel name passed: the signature of a
 * private or presence channel, a presence member's `channel_data` and the member limits, and the
 * users a user-limited channel (`base#u1,u2`) admits.
 *
 * @since 0.1.0
 */
import type { ConnectionState, HubSettings, Membership, SubscribeAuth } from "./ConnectionState.ts"
import * as Names from "./Names.ts"
import { verifyChannelAuth } from "./Verify.ts"

/**
 * A JSON object (not `null`, not an array).
 *
 * @since 0.1.0
 */
export const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The server's answer to a subscription: refused with its message, or admitted with the
 * presence membership it creates (none outside presence channels).
 *
 * @since 0.1.0
 */
export type Admission = { readonly refused: string } | { readonly member: Membership | undefined }

const memberLimit = (
  limits: HubSettings["limits"],
  channel: string,
  members: ReadonlyMap<string, unknown> | undefined,
  member: Membership
): string | undefined => {
  const { maxPresenceMembersPerChannel: maxMembers, maxPresenceMemberSizeInKb: maxKb } = limits
  if (maxMembers !== undefined && !members?.has(member.userId) && (members?.size ?? 0) >= maxMembers) {
    return `Presence channel ${channel} has reached its limit of ${maxMembers} members`
  }
  const size = member.userInfo === undefined ? 0 : Names.byteLength(JSON.stringify(member.userInfo))
  if (maxKb !== undefined && size > maxKb * 1024) {
    return `Presence member user_info is ${size} bytes, above the limit of ${maxKb} KB`
  }
  return undefined
}

/**
 * Checks a subscription of `conn` to `channel`, in the server's order. `members` are the
 * channel's current presence members; `actingUser` is the user the connection acts as.
 *
 * @since 0.1.0
 */
export const admit = (
  settings: HubSettings,
  conn: ConnectionState,
  channel: string,
  auth: SubscribeAuth,
  members: ReadonlyMap<string, unknown> | undefined,
  actingUser: () => string | undefined
): Admission => {
  let member: Membership | undefined
  if (Names.needsAuth(channel)) {
    if (auth.auth === undefined) return { refused: `Subscription to ${channel} requires auth` }
    const channelData = Names.isPresence(channel) ? auth.channel_data : undefined
    if (!verifyChannelAuth(settings.credentials, conn.socketId, channel, auth.auth, channelData)) {
      return { refused: `Invalid signature for ${channel}` }
    }
    if (Names.isPresence(channel)) {
      let data: unknown
      try {
        data = JSON.parse(auth.channel_data ?? "")
      } catch {
        return { refused: "Invalid presence channel_data: not JSON" }
      }
      if (!isObject(data) || typeof data.user_id !== "string") {
        return { refused: "Invalid presence channel_data: user_id must be a string" }
      }
      member = { userId: data.user_id, userInfo: data.user_info }
      const refused = memberLimit(settings.limits, channel, members, member)
      if (refused !== undefined) return { refused }
    }
  }
  const limited = Names.limitedUsers(channel)
  if (limited !== undefined) {
    const user = actingUser() ?? member?.userId
    if (user === undefined || !limited.includes(user)) return { refused: `The user may not subscribe to ${channel}` }
  }
  return { member }
}
