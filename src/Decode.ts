/**
 * How the server's answers are decoded, so that a newer server does not turn a success into a
 * `SockudoDecodeError`:
 *
 * - enums the server may extend are {@link open}: their known values plus any string;
 * - fields no schema declares are kept on the decoded value, at every depth
 *   ({@link schemaDecoder}), so `(receipt as Record<string, unknown>).new_field` reaches them;
 * - in publish receipts every field is {@link tolerant}: one of an unexpected type is left
 *   `undefined` instead of failing an answer that says the publish was accepted.
 *
 * Fields an answer cannot do without (a page's `items`, a channel's `occupied`) are still
 * required and typed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/**
 * Turns a parsed JSON body into the response value, or explains why it cannot.
 *
 * @since 0.1.0
 */
export type Decoder<A> = (json: unknown) => Result.Result<A, string>

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * `decoded` with the fields of `raw` it does not have added back, at every depth where both are
 * plain objects (or arrays of the same length). Decoded fields win; a field a tolerant schema
 * set to `undefined` stays `undefined`.
 *
 * @since 0.1.0
 */
export const keepUnknown = <A>(raw: unknown, decoded: A): A => {
  if (Array.isArray(decoded)) {
    if (!Array.isArray(raw) || raw.length !== decoded.length) return decoded
    for (let i = 0; i < decoded.length; i++) decoded[i] = keepUnknown(raw[i], decoded[i])
    return decoded
  }
  if (!isPlainObject(decoded) || !isPlainObject(raw) || (decoded as unknown) === raw) return decoded
  const target: Record<string, unknown> = decoded
  for (const key of Object.keys(raw)) {
    target[key] = Object.hasOwn(target, key) ? keepUnknown(raw[key], target[key]) : raw[key]
  }
  return decoded
}

/**
 * A decoder from a Schema that keeps unknown fields (see {@link keepUnknown}).
 *
 * @since 0.1.0
 */
export const schemaDecoder = <S extends Schema.Decoder<unknown>>(schema: S): Decoder<S["Type"]> => {
  const decode = Schema.decodeUnknownResult(schema)
  return (json) => {
    const decoded = decode(json)
    return Result.isSuccess(decoded)
      ? Result.succeed(keepUnknown(json, decoded.success))
      : Result.fail(String(decoded.failure))
  }
}

/**
 * A value of an enum the server may extend: one of the known literals, or another string.
 *
 * @since 0.1.0
 */
export type Open<L extends string> = L | (string & {})

/**
 * The schema of an enum the server may extend: its known literals (which narrow, and
 * autocomplete) and any other string a newer server sends.
 *
 * @since 0.1.0
 */
export const open = <const L extends ReadonlyArray<string>>(literals: L): Schema.Codec<Open<L[number]>, string> =>
  Schema.Union([Schema.Literals(literals), Schema.String]) as unknown as Schema.Codec<Open<L[number]>, string>

/**
 * An optional field that never fails its struct: absent, or of another type than `schema`, it
 * decodes to `undefined`.
 *
 * @since 0.1.0
 */
export const tolerant = <S extends Schema.Top>(schema: S) =>
  Schema.optional(Schema.UndefinedOr(schema).pipe(Schema.catchDecoding(() => Effect.succeed(Option.some(undefined)))))

/**
 * `schema`, or `fallback` when a value does not decode (a receipt that is not an object).
 *
 * @since 0.1.0
 */
export const orElse = <S extends Schema.Top>(schema: S, fallback: S["Type"]) =>
  schema.pipe(Schema.catchDecoding(() => Effect.succeed(Option.some(fallback))))
