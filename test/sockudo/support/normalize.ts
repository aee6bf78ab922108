/**
 * Normal forms for comparing what two servers answered to the same scenario: HTTP exchanges,
 * webhook bodies and WebSocket frames, with every value that legitimately differs between two
 * servers (serials, ids, timestamps, cursors, socket ids) replaced by its type, and the run's
 * generated names replaced by placeholders. What remains must be equal.
 */
import type { Exchange } from "./sdk.ts"

/** Replaces the scenario's generated names by `{base}` placeholders, longest first. */
export interface Names {
  readonly placeholders: ReadonlyArray<readonly [actual: string, placeholder: string]>
}

const replaceNames = (text: string, names: Names): string => {
  let out = text
  for (const [actual, placeholder] of names.placeholders) {
    if (out.includes(actual)) out = out.split(actual).join(placeholder)
  }
  return out
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** `<20-digit ms>:<node>:<20-digit counter>`, the server's message and version serials. */
const SERIAL = /^\d{20}:[^:]+:\d{20}$/
const SOCKET_ID = /^\d+\.\d+$/

/** Keys whose values are a server's own: timestamps, ids, serial strings, cursors, tokens. */
const volatileKey = (key: string): boolean =>
  /(^|_)(time|timestamp)(_ms)?$|_at_ms$|AtMs$|^timestamp/i.test(key) ||
  /(^|_)(stream_id|node_id|acknowledgement_id|socket_id|connection_id)$/.test(key) ||
  /cursor$/i.test(key) ||
  /^(deviceIdentityToken|tokenHash|publishId|deadLetterId|batchId|eventId|messageId|message_id|id)$/.test(key) ||
  // Push times: list bounds, and a publish status's next attempt (`notBeforeMs`, a retry's time).
  /^(sinceMs|untilMs|retryAfterMs)$/.test(key) ||
  // A payload the SDK sealed: a random nonce each time, so a different ciphertext.
  /^(nonce|ciphertext)$/.test(key)

/** Keys whose values embed a socket id: `<event>:<app>:<channel>:<user>:<socket>[:...]`. */
const embedsSocketId = (key: string): boolean => key === "dedupe_key"

const volatileString = (value: string): boolean => UUID.test(value) || SERIAL.test(value) || SOCKET_ID.test(value)

const typeTag = (value: unknown): string => (Array.isArray(value) ? "<array>" : `<${typeof value}>`)

/**
 * A JSON value in normal form: object keys sorted, names replaced, volatile values replaced by
 * their type (`"<string>"`, `"<number>"`). `null` stays `null`, so a present/absent difference shows.
 */
export const normalizeJson = (value: unknown, names: Names, key?: string): unknown => {
  if (value === null || value === undefined) return value ?? null
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v, names, key))
  if (typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(value).sort()) {
      out[replaceNames(k, names)] = normalizeJson((value as Record<string, unknown>)[k], names, k)
    }
    return out
  }
  if (key !== undefined && volatileKey(key) && (typeof value === "string" || typeof value === "number")) {
    return typeTag(value)
  }
  if (typeof value === "string") {
    if (volatileString(value)) return typeTag(value)
    if (key !== undefined && embedsSocketId(key)) return replaceNames(value.replace(/\d+\.\d+/g, "<socket_id>"), names)
    // A JSON document inside a string (event data, cache entries): normalised as JSON.
    if ((value.startsWith("{") || value.startsWith("[")) && value.length > 1) {
      try {
        return { "<json>": normalizeJson(JSON.parse(value), names) }
      } catch {
        // not JSON: compared as text
      }
    }
    return replaceNames(value, names)
  }
  return value
}

/** A request path in normal form: names replaced, serial and id segments masked. */
export const normalizePath = (path: string, names: Names): string =>
  path
    .split("/")
    .map((segment) => {
      const decoded = safeDecode(segment)
      if (volatileString(decoded)) return "<id>"
      return replaceNames(decoded, names)
    })
    .join("/")

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** An exchange in normal form. */
export interface NormalExchange {
  readonly request: string
  readonly query: unknown
  readonly status: number
  readonly retryAfter: boolean
  readonly body: unknown
}

export const normalizeExchange = (exchange: Exchange, names: Names): NormalExchange => {
  let body: unknown
  if (exchange.body === "") body = "<empty>"
  else if (exchange.contentType?.includes("json")) {
    try {
      body = normalizeJson(JSON.parse(exchange.body), names)
    } catch {
      body = { "<unparsable json>": exchange.body }
    }
  } else body = { "<text>": exchange.body }
  return {
    request: `${exchange.method} ${normalizePath(exchange.path, names)}`,
    query: normalizeJson(exchange.query, names),
    status: exchange.status,
    retryAfter: exchange.retryAfter !== undefined,
    body
  }
}

/** One place where two normal forms differ. */
export interface Difference {
  /** Where: `<request or stream label> <JSON pointer>`. */
  readonly where: string
  readonly sockudo: unknown
  readonly emulator: unknown
}

/** Every difference between two normal forms, as JSON pointers below `label`. */
export const diff = (label: string, sockudo: unknown, emulator: unknown, pointer = ""): Array<Difference> => {
  if (Object.is(sockudo, emulator)) return []
  const bothObjects =
    typeof sockudo === "object" && sockudo !== null && typeof emulator === "object" && emulator !== null
  if (!bothObjects || Array.isArray(sockudo) !== Array.isArray(emulator)) {
    return [{ where: `${label} ${pointer || "/"}`, sockudo, emulator }]
  }
  const out: Array<Difference> = []
  if (Array.isArray(sockudo) && Array.isArray(emulator)) {
    const n = Math.max(sockudo.length, emulator.length)
    for (let i = 0; i < n; i++) {
      if (i >= sockudo.length || i >= emulator.length) {
        out.push({ where: `${label} ${pointer}/${i}`, sockudo: sockudo[i], emulator: emulator[i] })
      } else out.push(...diff(label, sockudo[i], emulator[i], `${pointer}/${i}`))
    }
    return out
  }
  const a = sockudo as Record<string, unknown>
  const b = emulator as Record<string, unknown>
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const escaped = k.replace(/~/g, "~0").replace(/\//g, "~1")
    if (!(k in a) || !(k in b)) out.push({ where: `${label} ${pointer}/${escaped}`, sockudo: a[k], emulator: b[k] })
    else out.push(...diff(label, a[k], b[k], `${pointer}/${escaped}`))
  }
  return out
}

/** The differences between two runs' exchanges, aligned one to one. */
export const diffExchanges = (
  sockudo: ReadonlyArray<NormalExchange>,
  emulator: ReadonlyArray<NormalExchange>
): Array<Difference> => {
  const out: Array<Difference> = []
  const n = Math.max(sockudo.length, emulator.length)
  for (let i = 0; i < n; i++) {
    const a = sockudo[i]
    const b = emulator[i]
    const label = `#${i + 1} ${a?.request ?? b?.request}`
    if (a === undefined || b === undefined || a.request !== b.request) {
      out.push({ where: `${label} (request)`, sockudo: a?.request, emulator: b?.request })
      continue
    }
    out.push(...diff(label, a, b))
  }
  return out
}
