/**
 * Push provider credentials: store one (a new `version` rotates it) and list them. Secrets go
 * in, never come back.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { schemaDecoder } from "../../Http.ts"
import { traced } from "../../Telemetry.ts"
import { AnswerProvider, NonEmpty, type PageOptions, PositiveInt, type PushError, PushPage } from "./Common.ts"
import { admin, credentialPaths, json, type PushContext, validator } from "./Request.ts"

const credentialFields = { credentialId: Schema.optional(NonEmpty), version: Schema.optional(PositiveInt) }

/**
 * A provider credential to store (needs `PUSH_CREDENTIAL_ENCRYPTION_KEY` on the server), tagged
 * by `provider`. APNs takes `p12`, `pem`, or `teamId` + `keyId` + `privateKey`.
 *
 * @since 0.1.0
 */
export const NewCredential = Schema.Union([
  Schema.Struct({
    provider: Schema.Literal("fcm"),
    ...credentialFields,
    serviceAccountJson: Schema.Record(Schema.String, Schema.Unknown)
  }),
  Schema.Struct({
    provider: Schema.Literal("apns"),
    ...credentialFields,
    p12: Schema.optional(NonEmpty),
    p12Password: Schema.optional(NonEmpty),
    pem: Schema.optional(NonEmpty),
    teamId: Schema.optional(NonEmpty),
    keyId: Schema.optional(NonEmpty),
    privateKey: Schema.optional(NonEmpty)
  }).check(
    Schema.makeFilter(
      (c) =>
        c.p12 !== undefined ||
        c.pem !== undefined ||
        (c.teamId !== undefined && c.keyId !== undefined && c.privateKey !== undefined) ||
        "must give p12, pem, or teamId + keyId + privateKey"
    )
  ),
  Schema.Struct({
    provider: Schema.Literal("webPush"),
    ...credentialFields,
    publicKey: NonEmpty,
    privateKey: NonEmpty
  }),
  Schema.Struct({ provider: Schema.Literal("hms"), ...credentialFields, hmsAppId: NonEmpty, clientSecret: NonEmpty }),
  Schema.Struct({ provider: Schema.Literal("wns"), ...credentialFields, packageSid: NonEmpty, clientSecret: NonEmpty })
]).annotate({ expected: "a credential whose provider is fcm, apns, webPush, hms or wns" })
/** @since 0.1.0 */
export type NewCredential = typeof NewCredential.Type

/**
 * A stored credential (snake_case, secrets never returned).
 *
 * @since 0.1.0
 */
export const PushCredential = Schema.Struct({
  app_id: Schema.String,
  credential_id: Schema.String,
  provider: AnswerProvider,
  version: Schema.Number
})
/** @since 0.1.0 */
export interface PushCredential extends Schema.Schema.Type<typeof PushCredential> {}

const checkCredential = validator(NewCredential)
const decodeCredential = schemaDecoder(PushCredential)
const decodeCredentials = schemaDecoder(PushPage(PushCredential))

/**
 * Builds `push.credentials`.
 *
 * @since 0.1.0
 */
export const make = ({ http, list }: PushContext) => {
  const credentials = {
    /**
     * Stores a provider credential (a new `version` rotates it).
     *
     * ```ts
     * import { Effect } from "effect"
     * import { Sockudo } from "effect-sockudo"
     *
     * const storeVapidKeys = (publicKey: string, privateKey: string) =>
     *   Effect.gen(function* () {
     *     const sockudo = yield* Sockudo.Sockudo
     *     return yield* sockudo.push.credentials.put({ provider: "webPush", publicKey, privateKey })
     *   })
     * ```
     */
    put: traced("Sockudo.push.credentials.put")(function* (
      credential: NewCredential
    ): Effect.fn.Return<PushCredential, PushError> {
      const operation = "push.credentials.put"
      const { provider, ...body } = yield* Effect.fromResult(checkCredential(operation, "credential", credential))
      return yield* http.request({
        operation,
        method: "POST",
        path: `/push/credentials/${credentialPaths[provider]}`,
        body: json(body),
        headers: admin,
        decode: decodeCredential
      })
    }),
    /** One page of stored credentials. */
    list: traced("Sockudo.push.credentials.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<PushCredential>, PushError> {
      return yield* list("push.credentials.list", "/push/credentials", decodeCredentials, options)
    })
  }
  return credentials
}
