/**
 * Typed JSON bodies of the stores' routes, rejected like the server's body extractors (serde:
 * 422 plain text on core routes, 400 JSON on push routes), and the `MessageExtras` decoder.
 *
 * @since 0.1.0
 */
import { type ApiRequest, badBodyShape } from "../Api.ts"
import { invalid, reject } from "./Respond.ts"

/** How serde names a JSON value in "invalid type" messages. */
const describe = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value === "string") return `string ${JSON.stringify(value)}`
  if (typeof value === "boolean") return `boolean \`${value}\``
  if (typeof value === "number") {
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``
  }
  if (Array.isArray(value)) return "sequence"
  return "map"
}

/**
 * Reads typed fields of a JSON object body, rejecting like the server's body extractor.
 * `shape` decides how rejections look: `"core"` gives the framework's 422 plain text,
 * `"push"` gives the push routes' 400 JSON `invalid JSON body: ...` (section 1.4).
 *
 * @since 0.1.0
 */
export class Body {
  readonly value: Readonly<Record<string, unknown>>
  private readonly shape: "core" | "push"
  private constructor(value: Readonly<Record<string, unknown>>, shape: "core" | "push") {
    this.value = value
    this.shape = shape
  }

  /** The request's body as an object, or the server's rejection for a missing or non-object body. */
  static of(request: ApiRequest, struct: string, shape: "core" | "push" = "core"): Body {
    const body = request.body
    if (body === undefined) {
      return shape === "core"
        ? reject({
            status: 400,
            text: "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"
          })
        : invalid("invalid JSON body: EOF while parsing a value at line 1 column 0")
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return Body.shapeError(shape, `invalid type: ${describe(body)}, expected struct ${struct}`)
    }
    return new Body(body as Readonly<Record<string, unknown>>, shape)
  }

  /** Wraps an already-checked object, e.g. a nested struct. */
  static nested(value: Readonly<Record<string, unknown>>, shape: "core" | "push"): Body {
    return new Body(value, shape)
  }

  static shapeError(shape: "core" | "push", detail: string): never {
    return shape === "core" ? reject(badBodyShape(detail)) : invalid(`invalid JSON body: ${detail}`)
  }

  /** Rejects with a shape error. */
  error(detail: string): never {
    return Body.shapeError(this.shape, detail)
  }

  /** True when the key is present with a non-null value (serde's `Option` reads `null` as absent). */
  has(key: string): boolean {
    const v = this.value[key]
    return v !== undefined && v !== null
  }

  private present(key: string): unknown {
    const v = this.value[key]
    return v === null ? undefined : v
  }

  /** A required string (`String`). */
  string(key: string): string {
    const v = this.value[key]
    if (v === undefined) return this.error(`missing field \`${key}\``)
    if (typeof v !== "string") return this.error(`invalid type: ${describe(v)}, expected a string`)
    return v
  }

  private optionalPrimitive<A extends string | boolean>(key: string, type: "string" | "boolean"): A | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== type) return this.error(`invalid type: ${describe(v)}, expected a ${type}`)
    return v as A
  }

  /** An optional string (`Option<String>`). */
  optionalString(key: string): string | undefined {
    return this.optionalPrimitive<string>(key, "string")
  }

  /** An optional boolean. */
  optionalBoolean(key: string): boolean | undefined {
    return this.optionalPrimitive<boolean>(key, "boolean")
  }

  private optionalInteger(key: string, type: "u64" | "i64"): number | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "number" || !Number.isInteger(v)) {
      return this.error(`invalid type: ${describe(v)}, expected ${type}`)
    }
    if (type === "u64" && v < 0) return this.error(`invalid value: integer \`${v}\`, expected u64`)
    return v
  }

  /** An optional unsigned integer (`Option<u64>`). */
  optionalUint(key: string): number | undefined {
    return this.optionalInteger(key, "u64")
  }

  /** An optional signed integer (`Option<i64>`). */
  optionalInt(key: string): number | undefined {
    return this.optionalInteger(key, "i64")
  }

  /** A required unsigned integer. */
  uint(key: string): number {
    if (this.value[key] === undefined) return this.error(`missing field \`${key}\``)
    const v = this.optionalUint(key)
    return v === undefined ? this.error(`invalid type: null, expected u64`) : v
  }

  /** A required enum given by its serde names. */
  variant<A extends string>(key: string, variants: ReadonlyArray<A>): A {
    const v = this.value[key]
    if (v === undefined) return this.error(`missing field \`${key}\``)
    return this.checkVariant(v, variants)
  }

  /** An optional enum given by its serde names. */
  optionalVariant<A extends string>(key: string, variants: ReadonlyArray<A>): A | undefined {
    const v = this.present(key)
    return v === undefined ? undefined : this.checkVariant(v, variants)
  }

  checkVariant<A extends string>(v: unknown, variants: ReadonlyArray<A>): A {
    if (typeof v !== "string") return this.error(`invalid type: ${describe(v)}, expected a string`)
    if (!(variants as ReadonlyArray<string>).includes(v)) {
      const expected =
        variants.length === 2
          ? `\`${variants[0]}\` or \`${variants[1]}\``
          : `one of ${variants.map((x) => `\`${x}\``).join(", ")}`
      return this.error(`unknown variant \`${v}\`, expected ${expected}`)
    }
    return v as A
  }

  /** An optional JSON object. */
  optionalObject(key: string, struct: string): Readonly<Record<string, unknown>> | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (typeof v !== "object" || Array.isArray(v)) {
      return this.error(`invalid type: ${describe(v)}, expected struct ${struct}`)
    }
    return v as Readonly<Record<string, unknown>>
  }

  /** A required JSON object. */
  object(key: string, struct: string): Readonly<Record<string, unknown>> {
    if (this.value[key] === undefined) return this.error(`missing field \`${key}\``)
    const v = this.optionalObject(key, struct)
    return v === undefined ? this.error(`invalid type: null, expected struct ${struct}`) : v
  }

  /** An optional array. */
  optionalArray(key: string): ReadonlyArray<unknown> | undefined {
    const v = this.present(key)
    if (v === undefined) return undefined
    if (!Array.isArray(v)) return this.error(`invalid type: ${describe(v)}, expected a sequence`)
    return v
  }

  /** Any JSON value other than `null` (`Option<Value>`). */
  optionalValue(key: string): unknown {
    return this.present(key)
  }

  /**
   * A field Sockudo 5.0.1 cannot read: an `Option<sonic_rs::Value>` behind the framework's
   * serde_json extractor, which refuses every value but `null` (read as absent).
   */
  unreadableValue(key: string): undefined {
    if (this.present(key) !== undefined) this.error(`${key}: invalid type: newtype struct, expected a valid json`)
    return undefined
  }
}

/**
 * Checks a message `extras` object the way the server's `MessageExtras` decoder does: `headers`
 * is flat (string, number or boolean values), `ephemeral` and `echo` are booleans,
 * `idempotencyKey` is a string; other keys are carried opaquely. Known keys set to `null` are
 * dropped, as serde reads them as absent.
 *
 * @since 0.1.0
 */
export const decodeExtras = (body: Body, key: string): Readonly<Record<string, unknown>> | undefined => {
  const extras = body.optionalObject(key, "MessageExtras")
  if (extras === undefined) return undefined
  const inner = Body.nested(extras, "core")
  const headers = inner.optionalObject("headers", "a map")
  if (headers !== undefined) {
    for (const v of Object.values(headers)) {
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        inner.error("data did not match any variant of untagged enum ExtrasValue")
      }
    }
  }
  inner.optionalBoolean("ephemeral")
  inner.optionalBoolean("echo")
  inner.optionalString("idempotencyKey")
  inner.optionalObject("ai", "AiExtras")
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(extras)) {
    if (v === null && ["headers", "ephemeral", "echo", "idempotencyKey", "ai"].includes(k)) continue
    out[k] = v
  }
  return out
}
