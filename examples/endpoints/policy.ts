/**
 * The application policy the endpoint examples share: who the caller is (a bearer token, standing
 * in for your session), which channels each user may join, and what to do with webhooks. Each
 * framework example (express.ts, hono.ts, fastify.ts, effect.ts) mounts these three endpoints.
 */
import { Endpoints, type Webhook } from "../../src/index.ts"

/** The demo's users, by bearer token. */
export const users: Readonly<Record<string, { readonly id: string; readonly name: string }>> = {
  "ada-token": { id: "ada", name: "Ada Lovelace" },
  "grace-token": { id: "grace", name: "Grace Hopper" }
}

// #region policy
// your session lookup; here a bearer token of the demo's `users`
const userOf = (headers: Headers) => users[(headers.get("authorization") ?? "").replace(/^Bearer /, "")]

export const channelAuthorization = Endpoints.channelAuthorization({
  authorize: ({ channelName, headers }) => {
    const user = userOf(headers)
    if (user === undefined) return Endpoints.deny("sign in first")
    if (channelName.startsWith("private-user-") && channelName !== `private-user-${user.id}`) {
      return Endpoints.deny("not your channel")
    }
    return channelName.startsWith("presence-")
      ? Endpoints.allow({ user_id: user.id, user_info: { name: user.name } })
      : Endpoints.allow()
  }
})

export const userAuthentication = Endpoints.userAuthentication({
  authenticate: ({ headers }) => {
    const user = userOf(headers)
    return user === undefined ? Endpoints.deny("sign in first") : Endpoints.signIn({ id: user.id, name: user.name })
  }
})

/** Hands each verified event to `onEvent`; a throw answers 500, and the server sends it again. */
export const webhooks = (onEvent: (event: Webhook.WebhookEvent) => void) =>
  Endpoints.webhooks({
    handle: (webhook) => {
      for (const event of webhook.events) onEvent(event)
    }
  })
// #endregion policy
