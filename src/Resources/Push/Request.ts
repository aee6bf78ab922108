/**
 * How push calls are checked and sent: caller input checked against a Schema (unknown fields
 * refused), the capability headers, the paging query, and the requests every area builds on.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { SockudoValidationError } from "../../Errors.ts"
import { type Decoder, type Http, type PreparedBody, prepareBody } from "../../Http.ts"
import { newKey, scopedKey } from "../../Idempotency.ts"
import type { QueryParam } from "../../Signer.ts"
import type { SockudoConfig } from "../../SockudoConfig.ts"
import * as Validation from "../../Validation.ts"
import type { DeviceAccess, PageOptions, PushPage } from "./Common.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const fieldPath = (base: string, path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path.reduce<string>((at, segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `${at}[${key}]` : `${at}.${String(key)}`
  }, base)

const explain = (message: string) =>
  message === "Missing key"
    ? "is required"
    : message === "Expected no excess property"
      ? "is not a field the server reads"
      : message

/**
 * A failed `Result` with the validation error of `field`.
 *
 * @since 0.1.0
 */
export const invalid = Validation.invalid

/**
 * Checks caller input against a Schema; unknown fields are refused (they would be ignored by the server).
 *
 * @since 0.1.0
 */
export const validator = <S extends Schema.Decoder<unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownResult(schema, { onExcessProperty: "error" })
  return (operation: string, base: string, input: unknown): Result.Result<S["Type"], SockudoValidationError> => {
    const decoded = decode(input)
    if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
    const issue = formatIssues(decoded.failure.issue).issues[0]
    const field = fieldPath(base, issue?.path ?? [])
    const reason = explain(issue?.message ?? decoded.failure.message)
    const message = /^(must|is) /.test(reason) ? `${field} ${reason}` : `${field}: ${reason}`
    return Result.fail(new SockudoValidationError({ operation, field, message }))
  }
}

/**
 * 204 answers: nothing to decode.
 *
 * @since 0.1.0
 */
export const noContent: Decoder<void> = () => Result.succeed(undefined)

/**
 * A JSON request body.
 *
 * @since 0.1.0
 */
export const json = (wire: unknown): PreparedBody => prepareBody(JSON.stringify(wire))

const capability = "x-sockudo-push-capability"
/**
 * The headers of a call that uses the `push-admin` capability.
 *
 * @since 0.1.0
 */
export const admin: Readonly<Record<string, string>> = { [capability]: "push-admin" }
/**
 * The path segment of each credential provider.
 *
 * @since 0.1.0
 */
export const credentialPaths = { fcm: "fcm", apns: "apns", webPush: "webpush", hms: "hms", wns: "wns" } as const

/**
 * `value` when it is a non-empty string.
 *
 * @since 0.1.0
 */
export const nonEmpty = (
  operation: string,
  field: string,
  value: unknown
): Result.Result<string, SockudoValidationError> =>
  typeof value === "string" && value.length > 0
    ? Result.succeed(value)
    : invalid(operation, field, "must be a non-empty string")

/**
 * `value` when it can be one segment of a request path: a non-empty string other than `.` and `..`.
 *
 * @since 0.1.0
 */
export const pathSegment = (
  operation: string,
  field: string,
  value: unknown
): Result.Result<string, SockudoValidationError> =>
  Result.flatMap(nonEmpty(operation, field, value), (id) => {
    const reason = Validation.pathSegment(id)
    return reason ? invalid(operation, field, reason) : Result.succeed(id)
  })

/**
 * Admin headers, or the subscribe capability with the device's identity token.
 *
 * @since 0.1.0
 */
export const accessHeaders = (
  operation: string,
  access: DeviceAccess | undefined
): Result.Result<Readonly<Record<string, string>>, SockudoValidationError> => {
  const reason = Validation.optionsReason(access)
  if (reason) return invalid(operation, "access", reason)
  const token = access?.deviceIdentityToken
  if (token === undefined) return Result.succeed(admin)
  const value = Redacted.isRedacted(token) ? Redacted.value(token) : token
  if (typeof value !== "string" || !/^[\x21-\x7e]+$/.test(value)) {
    return invalid(operation, "deviceIdentityToken", "must be a non-empty string of printable ASCII")
  }
  return Result.succeed({ [capability]: "push-subscribe", "x-sockudo-device-identity-token": value })
}

/**
 * The paging query of a list call (`limit` from 1 to 1000, a non-empty `cursor`).
 *
 * @since 0.1.0
 */
export const pageQuery = (
  operation: string,
  options: PageOptions | undefined
): Result.Result<Array<QueryParam>, SockudoValidationError> => {
  const reason = Validation.optionsReason(options)
  if (reason) return invalid(operation, "options", reason)
  const query: Array<QueryParam> = []
  const limit = options?.limit
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return invalid(operation, "limit", "must be an integer from 1 to 1000")
    }
    query.push(["limit", String(limit)])
  }
  if (options?.cursor !== undefined) {
    const cursor = nonEmpty(operation, "cursor", options.cursor)
    if (Result.isFailure(cursor)) return Result.fail(cursor.failure)
    query.push(["cursor", cursor.success])
  }
  return Result.succeed(query)
}

/**
 * An integer >= 0 (a Unix millisecond time).
 *
 * @since 0.1.0
 */
export const isMillis = (u: unknown): u is number => Number.isInteger(u) && (u as number) >= 0

/**
 * What every area's operations use: the request pipeline, the app id, a fresh `publishId`
 * (when `autoIdempotency` is on), and admin GETs of one resource or one page.
 *
 * @since 0.1.0
 */
export const makeContext = (config: SockudoConfig["Service"], http: Http["Service"]) => {
  const appId = config.appId
  const newPublishId = () => scopedKey() ?? (config.autoIdempotency ? newKey() : undefined)

  const get = <A>(operation: string, path: string, decode: Decoder<A>, query?: ReadonlyArray<QueryParam>) =>
    http.request({ operation, method: "GET", path, query, headers: admin, decode })

  const list = <A>(operation: string, path: string, decode: Decoder<PushPage<A>>, options: PageOptions | undefined) =>
    Effect.flatMap(Effect.fromResult(pageQuery(operation, options)), (query) => get(operation, path, decode, query))

  return { http, appId, newPublishId, get, list } as const
}

/**
 * The shared context of the push areas.
 *
 * @since 0.1.0
 */
export type PushContext = ReturnType<typeof makeContext>
