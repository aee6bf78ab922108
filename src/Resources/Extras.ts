/**
 * A message's `extras`, shared by publishing and message mutations: what they hold
 * (`MessageExtras`, re-exported by `Events`) and their checks. Each field the server reads is
 * checked against the type it reads it as: flat `headers` of strings, numbers and booleans
 * without the reserved `sockudo_` names, boolean `ephemeral` and `echo`, a valid
 * `idempotencyKey`, a `push` payload of the push API's shape, and `ai.transport` / `ai.codec`
 * maps of strings. Other fields are passed through, as the server keeps them; the whole value
 * must be JSON the server receives as written.
 *
 * @since 0.1.0
 */
import * as Result from "effect/Result"
import type { SockudoValidationError } from "../Errors.ts"
import * as Validation from "../Validation.ts"
import { PushPayload } from "./Push/Publish.ts"
import { validator } from "./Push/Request.ts"

/**
 * `extras` of a Sockudo message (sent camelCase, as the server reads them). Delivered to
 * Protocol V2 connections only.
 *
 * @since 0.1.0
 */
export interface MessageExtras {
  /** Flat headers; `sockudo_*` names are reserved by the server. */
  readonly headers?: Readonly<Record<string, string | number | boolean>> | undefined
  /** Skip history, the recovery buffer and versioning. */
  readonly ephemeral?: boolean | undefined
  /** Whether the publishing connection gets the message back; overrides the connection's echo setting. */
  readonly echo?: boolean | undefined
  /** Message-level dedupe key (only effective when connection recovery is off). */
  readonly idempotencyKey?: string | undefined
  /** A push notification payload sent to the channel's push subscribers. */
  readonly push?: Readonly<Record<string, unknown>> | undefined
  /** AI Transport metadata: string maps under `transport` and `codec`. */
  readonly ai?:
    | {
        /** Transport fields of the AI Transport convention (such as `status`). */
        readonly transport?: Readonly<Record<string, string>> | undefined
        /** Codec fields of the AI Transport convention. */
        readonly codec?: Readonly<Record<string, string>> | undefined
      }
    | undefined
}

const { invalid, isRecord } = Validation

const checkPush = validator(PushPayload)

const checkStrings = (
  operation: string,
  field: string,
  value: unknown
): Result.Result<void, SockudoValidationError> => {
  if (!isRecord(value)) return invalid(operation, field, "must be an object of strings")
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") return invalid(operation, `${field}.${k}`, "must be a string")
  }
  return Result.void
}

/**
 * Checks `extras` (named `field` in errors) before anything is sent.
 *
 * @since 0.1.0
 */
export const checkExtras = (
  operation: string,
  field: string,
  extras: unknown
): Result.Result<MessageExtras, SockudoValidationError> => {
  if (!isRecord(extras)) return invalid(operation, field, "must be an object")
  const { headers, ephemeral, echo, idempotencyKey, push, ai } = extras
  if (headers !== undefined) {
    if (!isRecord(headers)) return invalid(operation, `${field}.headers`, "must be an object (flat, not a list)")
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith("sockudo_")) return invalid(operation, `${field}.headers.${k}`, "is reserved by the server")
      if (typeof v !== "string" && typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v))) {
        return invalid(operation, `${field}.headers.${k}`, "must be a string, number or boolean")
      }
    }
  }
  for (const [name, value] of [
    ["ephemeral", ephemeral],
    ["echo", echo]
  ] as const) {
    if (value !== undefined && typeof value !== "boolean") {
      return invalid(operation, `${field}.${name}`, "must be a boolean")
    }
  }
  if (idempotencyKey !== undefined) {
    const reason = Validation.idempotencyKey(idempotencyKey)
    if (reason) return invalid(operation, `${field}.idempotencyKey`, reason)
  }
  if (push !== undefined) {
    const checked = checkPush(operation, `${field}.push`, push)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
  }
  if (ai !== undefined) {
    if (!isRecord(ai)) return invalid(operation, `${field}.ai`, "must be an object")
    for (const part of ["transport", "codec"] as const) {
      if (ai[part] === undefined) continue
      const checked = checkStrings(operation, `${field}.ai.${part}`, ai[part])
      if (Result.isFailure(checked)) return Result.fail(checked.failure)
    }
  }
  const json = Validation.toJson(extras)
  if ("error" in json) return invalid(operation, field, json.error)
  return Result.succeed(extras as MessageExtras)
}
