/**
 * User control: close every connection of a signed-in user, or ask them to reconnect.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { Http, prepareBody, schemaDecoder } from "../Http.ts"
import { encode } from "../Signer.ts"
import { traced } from "../Telemetry.ts"
import * as Validation from "../Validation.ts"

/**
 * The answer of both user routes: `{"ok":true}` from Sockudo, `{}` from Pusher.
 *
 * @since 0.1.0
 */
export const UserActionResponse = Schema.Struct({ ok: Schema.optionalKey(Schema.Boolean) })

const decode = schemaDecoder(UserActionResponse)

// Sockudo ignores the body, but Pusher-protocol servers that parse it (soketi) read an empty one
// as `{}` and check `body_md5` against that, so `{}` is the body every server accepts.
const body = prepareBody("{}")

/**
 * Builds the user operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const http = yield* Http

  const post = (operation: string, action: string) =>
    Effect.fnUntraced(function* (userId: string): Effect.fn.Return<void, SockudoValidationError | SockudoRequestError> {
      const reason = Validation.userId(userId)
      if (reason) return yield* Validation.validationError(operation, "userId", reason)
      // Closing a user's connections twice is harmless, so the request is retried like a read.
      yield* http.request({ operation, method: "POST", path: `/users/${encode(userId)}/${action}`, body, decode })
    })

  const terminate = post("users.terminateConnections", "terminate_connections")
  const reconnect = post("users.forceReconnect", "force_reconnect")

  /** Closes every connection of the user (WebSocket close code 4009). */
  const terminateConnections = traced("Sockudo.users.terminateConnections")(function* (userId: string) {
    return yield* terminate(userId)
  })
  /** Closes every connection of the user with code 4200, so clients reconnect at once. */
  const forceReconnect = traced("Sockudo.users.forceReconnect")(function* (userId: string) {
    return yield* reconnect(userId)
  })

  return { terminateConnections, forceReconnect } as const
})

/**
 * The user operations.
 *
 * @since 0.1.0
 */
export type Users = Effect.Success<typeof make>
