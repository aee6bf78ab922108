/**
 * The paging query of history and presence history: decoding of `limit`, `direction`, bounds
 * and `cursor`, and the opaque cursors that embed the stream, last serial, direction and bounds,
 * with the server's exact 400s.
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { base64UrlDecode, base64UrlEncode } from "./Bytes.ts"
import { queryInt, queryUint, rejectDuplicateFields } from "./QueryParams.ts"
import { invalid } from "./Respond.ts"
import { type Bounds, type StreamKind, streamLabel } from "./Streams.ts"

/**
 * Read order of a page.
 *
 * @since 0.1.0
 */
export type Direction = "newest_first" | "oldest_first"

/**
 * The decoded cursor: the position after which the next page starts, and the request it belongs to.
 *
 * @since 0.1.0
 */
export interface Cursor {
  readonly version: number
  readonly app_id: string
  readonly channel: string
  readonly stream_id: string
  readonly serial: number
  readonly direction: Direction
  readonly bounds: Bounds
}

/**
 * The typed part of the history query (`HistoryQuery`): integer parameters reject as plain text.
 *
 * @since 0.1.0
 */
export interface HistoryQuery {
  readonly limit: number | undefined
  readonly direction: string | undefined
  readonly cursor: string | undefined
  readonly bounds: Bounds
}

const HISTORY_QUERY_FIELDS = [
  "limit",
  "direction",
  "cursor",
  "start_serial",
  "end_serial",
  "start_time_ms",
  "end_time_ms",
  "start",
  "end"
]

/**
 * Decodes the history query (limit, direction, cursor, bounds and their `start`/`end` aliases,
 * where the `_ms` form wins).
 *
 * @since 0.1.0
 */
export const decodeHistoryQuery = (request: ApiRequest): HistoryQuery => {
  rejectDuplicateFields(request, HISTORY_QUERY_FIELDS)
  const limit = queryUint(request, "limit")
  const startSerial = queryUint(request, "start_serial")
  const endSerial = queryUint(request, "end_serial")
  const startTime = queryInt(request, "start_time_ms")
  const endTime = queryInt(request, "end_time_ms")
  const start = queryInt(request, "start")
  const end = queryInt(request, "end")
  return {
    limit,
    direction: request.query["direction"],
    cursor: request.query["cursor"],
    bounds: {
      start_serial: startSerial ?? null,
      end_serial: endSerial ?? null,
      start_time_ms: startTime ?? start ?? null,
      end_time_ms: endTime ?? end ?? null
    }
  }
}

/**
 * Parses `direction` (case-insensitive, with the `backwards`/`forwards` aliases).
 *
 * @since 0.1.0
 */
export const parseDirection = (raw: string | undefined): Direction => {
  const value = (raw ?? "newest_first").toLowerCase()
  if (value === "newest_first" || value === "backwards" || value === "reverse") return "newest_first"
  if (value === "oldest_first" || value === "forwards" || value === "forward") return "oldest_first"
  return invalid(`Invalid direction '${value}'. Accepted values: newest_first, oldest_first, backwards, forwards`)
}

/**
 * Encodes a cursor as the server does: unpadded base64url of its JSON.
 *
 * @since 0.1.0
 */
export const encodeCursor = (cursor: Cursor): string =>
  base64UrlEncode(
    JSON.stringify({
      version: cursor.version,
      app_id: cursor.app_id,
      channel: cursor.channel,
      stream_id: cursor.stream_id,
      serial: cursor.serial,
      direction: cursor.direction,
      bounds: cursor.bounds
    })
  )

const isOptionalInt = (v: unknown): boolean => v === null || v === undefined || Number.isInteger(v)

/**
 * Decodes an opaque cursor, rejecting with the server's 400 messages.
 *
 * @since 0.1.0
 */
export const decodeCursor = (encoded: string, kind: StreamKind): Cursor => {
  const prefix = `${streamLabel(kind)} cursor`
  if (encoded.length > 16 * 1024) return invalid(`${prefix} exceeds 16 KiB`)
  const bad = (detail: string): never => invalid(`Invalid ${kind} cursor: ${detail}`)
  const decoded = base64UrlDecode(encoded)
  if ("error" in decoded) return bad(decoded.error)
  let parsed: unknown
  try {
    parsed = JSON.parse(decoded.text)
  } catch {
    return bad("expected a JSON cursor object")
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return bad("expected a JSON cursor object")
  }
  const c = parsed as Record<string, unknown>
  const bounds = c["bounds"]
  for (const key of ["version", "app_id", "channel", "stream_id", "serial", "direction", "bounds"]) {
    if (!(key in c)) return bad(`missing field \`${key}\``)
  }
  if (!Number.isInteger(c["version"]) || (c["version"] as number) < 0 || (c["version"] as number) > 255) {
    return bad("invalid value for `version`")
  }
  if (typeof c["app_id"] !== "string" || typeof c["channel"] !== "string" || typeof c["stream_id"] !== "string") {
    return bad("invalid type, expected a string")
  }
  if (!Number.isInteger(c["serial"]) || (c["serial"] as number) < 0) return bad("invalid value for `serial`")
  if (c["direction"] !== "newest_first" && c["direction"] !== "oldest_first") {
    return bad("unknown variant, expected `newest_first` or `oldest_first`")
  }
  if (bounds === null || typeof bounds !== "object" || Array.isArray(bounds)) {
    return bad("invalid type for `bounds`, expected struct")
  }
  const b = bounds as Record<string, unknown>
  if (!["start_serial", "end_serial", "start_time_ms", "end_time_ms"].every((k) => isOptionalInt(b[k]))) {
    return bad("invalid value in `bounds`")
  }
  if (c["version"] !== 1) return invalid(`Unsupported ${kind} cursor version: ${c["version"]}`)
  return {
    version: 1,
    app_id: c["app_id"],
    channel: c["channel"],
    stream_id: c["stream_id"],
    serial: c["serial"] as number,
    direction: c["direction"],
    bounds: {
      start_serial: (b["start_serial"] as number | null | undefined) ?? null,
      end_serial: (b["end_serial"] as number | null | undefined) ?? null,
      start_time_ms: (b["start_time_ms"] as number | null | undefined) ?? null,
      end_time_ms: (b["end_time_ms"] as number | null | undefined) ?? null
    }
  }
}
