/**
 * What the versioned message operations take and how it is checked before anything is sent:
 * the options of each operation, the message path and serial rules (shared with annotations)
 * and the extras headers.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import type { SockudoValidationError } from "../Errors.ts"
import { encode } from "../Signer.ts"
import type { Limits } from "../SockudoConfig.ts"
import * as Validation from "../Validation.ts"
import type { MessageExtras } from "./Extras.ts"
import * as Extras from "./Extras.ts"
import * as Pagination from "./Pagination.ts"

/**
 * Options of `messages.versions` (one page) and `messages.versionsStream`.
 *
 * @since 0.1.0
 */
export interface VersionsOptions {
  /** Page size (the server's default and maximum is 100). */
  readonly limit?: number | undefined
  /** Default `newest_first`. */
  readonly direction?: Pagination.Direction | undefined
  /** A `version_serial` to continue after (exclusive): a previous page's `next_cursor`. */
  readonly cursor?: string | undefined
}

/**
 * A field a mutation can reset to null.
 *
 * @since 0.1.0
 */
export type ClearField = "name" | "data" | "extras"

/**
 * Options every mutation accepts.
 *
 * @since 0.1.0
 */
export interface MutationOptions {
  /** Attribution recorded on the version (`version.client_id`). */
  readonly clientId?: string | undefined
  /** Act as this connection, with its capabilities and signed-in identity, instead of as the app. */
  readonly socketId?: string | undefined
  /** A description recorded on the version (`version.description`). */
  readonly description?: string | undefined
  /**
   * Any JSON, recorded on the version. Sockudo 5.0.1 refuses every value with a 422 (its body
   * decoder cannot read one); leave it out against that server.
   */
  readonly metadata?: unknown
  /** Dedupe key of this mutation, 1 to 64 bytes (default: generated when `autoIdempotency` is on). */
  readonly opId?: string | undefined
}

/**
 * Options of `messages.update`: at least one of `name`, `data`, `extras`, `clearFields`,
 * `clientId`, `description` or `metadata`.
 *
 * @since 0.1.0
 */
export interface UpdateOptions extends MutationOptions {
  /** A new event name. */
  readonly name?: string | undefined
  /** New data: a string is stored as is, anything else as its JSON. */
  readonly data?: unknown
  /** New extras, replacing the message's. */
  readonly extras?: MessageExtras | undefined
  /** Fields to set to null; a field cannot be both replaced and cleared. */
  readonly clearFields?: ReadonlyArray<ClearField> | undefined
}

/**
 * Options of `messages.delete` (a soft delete: a new version with action `delete`).
 *
 * @since 0.1.0
 */
export interface DeleteOptions extends MutationOptions {
  /** Data of the delete version (a tombstone, a reason...). */
  readonly data?: unknown
  /** Extras of the delete version. */
  readonly extras?: MessageExtras | undefined
  /** Fields to set to null in the delete version. */
  readonly clearFields?: ReadonlyArray<ClearField> | undefined
}

/**
 * Options of `messages.append`.
 *
 * @since 0.1.0
 */
export interface AppendOptions extends MutationOptions {
  /** Replaces the message's extras. */
  readonly extras?: MessageExtras | undefined
}

const { invalid } = Pagination

const SERIAL_MAX_BYTES = 128

/**
 * Why a message or annotation serial would be rejected (blank, whitespace, over 128 bytes), or
 * `undefined`.
 *
 * @since 0.1.0
 */
export const serialReason = (serial: unknown): string | undefined => {
  if (typeof serial !== "string" || serial.length === 0) return "must be a non-empty string"
  if (/\s/.test(serial)) return "must not contain whitespace"
  if (Validation.byteLength(serial) > SERIAL_MAX_BYTES) return `must be at most ${SERIAL_MAX_BYTES} bytes`
  return Validation.pathSegment(serial)
}

/**
 * The percent-encoded path of a message, after validating the channel and serial.
 *
 * @since 0.1.0
 */
export const messagePath = (
  operation: string,
  channel: string,
  serial: string,
  limits: Limits
): Result.Result<string, SockudoValidationError> => {
  const channelReason = Validation.channelName(channel, limits)
  if (channelReason) return invalid(operation, "channel", channelReason)
  const reason = serialReason(serial)
  if (reason) return invalid(operation, "serial", reason)
  return Result.succeed(`/channels/${encode(channel)}/messages/${encode(serial)}`)
}

/**
 * Checks extras the way the server will read them (see `Extras`).
 *
 * @since 0.1.0
 */
export const checkExtras = (
  operation: string,
  extras: MessageExtras
): Result.Result<MessageExtras, SockudoValidationError> => Extras.checkExtras(operation, "extras", extras)
