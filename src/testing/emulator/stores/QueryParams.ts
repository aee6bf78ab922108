/**
 * Typed query parameters of the stores' routes: integers and repeated keys, rejected as the
 * server's plain-text 400s (serde_urlencoded, section 1.4).
 *
 * @since 0.1.0
 */
import { type ApiRequest, badQuery } from "../Api.ts"
import { reject } from "./Respond.ts"

const U64_MAX = 18446744073709551615n
const I64_MIN = -9223372036854775808n
const I64_MAX = 9223372036854775807n

const parseInteger = (raw: string, signed: boolean): number | string => {
  if (raw === "") return "cannot parse integer from empty string"
  const pattern = signed ? /^[+-]?\d+$/ : /^\+?\d+$/
  if (!pattern.test(raw)) return "invalid digit found in string"
  const value = BigInt(raw)
  if (signed ? value < I64_MIN || value > I64_MAX : value > U64_MAX) {
    return value < 0n ? "number too small to fit in target type" : "number too large to fit in target type"
  }
  return Number(value)
}

/**
 * Rejects a repeated key of a typed query struct with the server's plain-text 400
 * (`duplicate field`), before any field is read.
 *
 * @since 0.1.0
 */
export const rejectDuplicateFields = (request: ApiRequest, fields: ReadonlyArray<string>): void => {
  const seen = new Set<string>()
  for (const [key] of request.queryPairs ?? []) {
    if (!fields.includes(key)) continue
    if (seen.has(key)) reject(badQuery(`duplicate field \`${key}\``))
    seen.add(key)
  }
}

/**
 * An unsigned integer query parameter (`usize`/`u64`), or the server's plain-text 400.
 *
 * @since 0.1.0
 */
export const queryUint = (request: ApiRequest, key: string): number | undefined => {
  const raw = request.query[key]
  if (raw === undefined) return undefined
  const value = parseInteger(raw, false)
  return typeof value === "number" ? value : reject(badQuery(value))
}

/**
 * A signed integer query parameter (`i64`), or the server's plain-text 400.
 *
 * @since 0.1.0
 */
export const queryInt = (request: ApiRequest, key: string): number | undefined => {
  const raw = request.query[key]
  if (raw === undefined) return undefined
  const value = parseInteger(raw, true)
  return typeof value === "number" ? value : reject(badQuery(value))
}
