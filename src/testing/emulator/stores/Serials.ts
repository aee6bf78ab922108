/**
 * Identifiers and serials of the stores: fresh ids, the server's version-serial generator and
 * its checks of serial-like identifiers (message, version and annotation serials).
 *
 * @since 0.1.0
 */
import { byteLength } from "../Names.ts"
import { invalid } from "./Respond.ts"

/**
 * A source of fresh identifiers (stream ids, annotation ids, message ids, publish ids).
 *
 * @since 0.1.0
 */
export type IdSource = () => string

/**
 * Random UUID v4 identifiers.
 *
 * @since 0.1.0
 */
export const randomIds: IdSource = () => globalThis.crypto.randomUUID()

const pad20 = (n: number): string => String(Math.max(0, Math.trunc(n))).padStart(20, "0")

/**
 * The server's version-serial generator: `<20-digit ms>:<node id>:<20-digit counter>`. One
 * counter serves message serials, version serials and annotation serials, so they sort
 * lexicographically in creation order as long as time does not run backwards.
 *
 * @since 0.1.0
 */
export class SerialSource {
  readonly nodeId: string
  private counter = 0
  constructor(nodeId: string) {
    this.nodeId = nodeId
  }
  /** The next serial, stamped with `nowMs`. */
  next(nowMs: number): string {
    this.counter += 1
    return `${pad20(nowMs)}:${this.nodeId}:${pad20(this.counter)}`
  }
}
/**
 * The server's check for serial-like identifiers (message, version and annotation serials):
 * non-blank, no whitespace, at most `max` bytes.
 *
 * @since 0.1.0
 */
export const identifierError = (label: string, value: string, max: number): string | undefined => {
  if (value.trim() === "") return `${label} must not be empty`
  if (/\s/u.test(value)) return `${label} must not contain whitespace`
  if (byteLength(value) > max) return `${label} must be at most ${max} bytes`
  return undefined
}

/**
 * Rejects a message serial the way `MessageSerial::new` does.
 *
 * @since 0.1.0
 */
export const requireMessageSerial = (raw: string): string => {
  const error = identifierError("message_serial", raw, 128)
  return error === undefined ? raw : invalid(error)
}
