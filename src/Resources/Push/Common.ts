/**
 * What every push area shares: the provider names, the list envelope and its paging options,
 * acting for one device, the error type, and the Schema building blocks of request bodies.
 *
 * @since 0.1.0
 */
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { open } from "../../Decode.ts"
import type { SockudoRequestError, SockudoValidationError } from "../../Errors.ts"
import * as Validation from "../../Validation.ts"

/**
 * A string that is not empty or only whitespace: the server trims before its emptiness checks
 * (a blank device id, timezone, channel or secret is refused with a 500 or 400).
 *
 * @since 0.1.0
 */
export const NonEmpty = Schema.String.check(Schema.makeFilter<string>((s) => s.trim() !== "" || "must not be empty"))
/**
 * An integer >= 0.
 *
 * @since 0.1.0
 */
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be an integer >= 0" }))
/**
 * An integer > 0.
 *
 * @since 0.1.0
 */
export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0, { message: "must be an integer > 0" }))
/**
 * A check that a string's UTF-8 encoding is at most `max` bytes.
 *
 * @since 0.1.0
 */
export const maxBytes = (max: number) =>
  Schema.makeFilter<string>((s) => Validation.byteLength(s) <= max || `must be at most ${max} bytes`)
/**
 * An `https://` URL.
 *
 * @since 0.1.0
 */
export const HttpsUrl = NonEmpty.check(
  Schema.makeFilter<string>((s) => (URL.canParse(s) && new URL(s).protocol === "https:") || "must be an https:// URL")
)
/**
 * Any JSON value whose compact serialisation fits in `max` bytes.
 *
 * @since 0.1.0
 */
export const JsonAtMost = (max: number) =>
  Schema.Unknown.check(
    Schema.makeFilter<unknown>((u) => {
      const json = Validation.toJson(u)
      if ("error" in json) return `must be JSON: ${json.error}`
      return Validation.byteLength(json.json) <= max || `must be at most ${max} bytes of JSON`
    })
  )

/**
 * Push providers, as the server names them (`webPush` is camelCase).
 *
 * @since 0.1.0
 */
export const PushProvider = Schema.Literals(["fcm", "apns", "webPush", "hms", "wns", "realtime"])
/** @since 0.1.0 */
export type PushProvider = typeof PushProvider.Type
/**
 * A provider in an answer: one of {@link PushProvider}, or one a newer server adds.
 *
 * @since 0.1.0
 */
export const AnswerProvider = open(PushProvider.literals)

/**
 * The list envelope of every push list route (snake_case).
 *
 * @since 0.1.0
 */
export const PushPage = <S extends Schema.Constraint>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), next_cursor: Schema.NullOr(Schema.String), has_more: Schema.Boolean })
/** @since 0.1.0 */
export interface PushPage<A> {
  /** The items of this page. */
  readonly items: ReadonlyArray<A>
  /** Pass as `cursor` to read the next page; `null` on the last one. */
  readonly next_cursor: string | null
  /** Whether the server has a page after this one. */
  readonly has_more: boolean
}

/**
 * Paging of list calls.
 *
 * @since 0.1.0
 */
export interface PageOptions {
  /** 1 to 1000 (the server refuses other values); server default 100. */
  readonly limit?: number | undefined
  /** `next_cursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * Acting for one device instead of as admin: with a token, the request uses the
 * `push-subscribe` capability and proves the device's identity.
 *
 * @since 0.1.0
 */
export interface DeviceAccess {
  /** The device's identity token, as `devices.activate` returned it; without it the call acts as admin. */
  readonly deviceIdentityToken?: string | Redacted.Redacted<string> | undefined
}

/**
 * Errors of push calls.
 *
 * @since 0.1.0
 */
export type PushError = SockudoValidationError | SockudoRequestError
