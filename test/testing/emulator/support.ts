import { createHash, createHmac } from "node:crypto"
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as Router from "../../../src/testing/emulator/Router.ts"

export const md5 = (s: string) => createHash("md5").update(s).digest("hex")
export const hmac = (secret: string, s: string) => createHmac("sha256", secret).update(s).digest("hex")

/** The emulator's answer, read whole. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
  readonly json: unknown
  readonly dropped: boolean
}

/** Sends a raw request (path and query exactly as given) straight to the emulator's handler. */
export const raw = (
  method: string,
  url: string,
  options: { readonly body?: string; readonly headers?: Readonly<Record<string, string>> } = {}
) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator.Emulator
    const request = HttpServerRequest.fromWeb(
      new Request(`http://sockudo.emulator${url}`, {
        method,
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body })
      })
    )
    const response = yield* emulator.handler.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, request),
      Effect.scoped
    )
    const web = HttpServerResponse.toWeb(response)
    const text = yield* Effect.promise(() => web.text())
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const headers: Record<string, string> = {}
    web.headers.forEach((v, k) => {
      headers[k] = v
    })
    return { status: web.status, headers, text, json, dropped: response === Router.dropped } satisfies Answer
  })

export interface SignOptions {
  readonly key?: string
  readonly secret?: string
  readonly timestamp?: number
  /** Query pairs besides the auth ones, already encoded for the wire. */
  readonly query?: ReadonlyArray<readonly [string, string]>
  /** The pairs to sign instead of the decoded wire pairs (to model SDK mistakes). */
  readonly signQuery?: ReadonlyArray<readonly [string, string]>
  /** The path to sign instead of the wire path (to model SDK mistakes). */
  readonly signPath?: string
  readonly body?: string
  /** Add body_md5 even for a non-POST (an SDK mistake), or leave it out of a POST. */
  readonly bodyMd5?: boolean
  readonly headers?: Readonly<Record<string, string>>
}

/** A request signed the way the server verifies, with knobs to get it wrong. */
export const signed = (method: string, path: string, options: SignOptions = {}) => {
  const key = options.key ?? "app-key"
  const secret = options.secret ?? "app-secret"
  const pairs: Array<readonly [string, string]> = [
    ["auth_key", key],
    ["auth_timestamp", String(options.timestamp ?? 0)],
    ["auth_version", "1.0"]
  ]
  const withMd5 = options.bodyMd5 ?? method === "POST"
  if (withMd5) pairs.push(["body_md5", md5(options.body ?? "")])
  const wire = [...pairs, ...(options.query ?? [])]
  const toSign = options.signQuery ?? wire.map(([k, v]) => [k, decodeURIComponent(v.replaceAll("+", " "))] as const)
  // the server signs the last value of a repeated key
  const query = [...new Map(toSign).entries()]
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
  const signature = hmac(secret, `${method}\n${options.signPath ?? path}\n${query}`)
  const url = `${path}?${wire.map(([k, v]) => `${k}=${v}`).join("&")}&auth_signature=${signature}`
  const headers =
    options.body === undefined ? (options.headers ?? {}) : { "content-type": "application/json", ...options.headers }
  return raw(method, url, { ...(options.body === undefined ? {} : { body: options.body }), headers })
}

/** A signed JSON POST. */
export const post = (path: string, body: unknown, options: SignOptions = {}) =>
  signed("POST", path, { ...options, body: typeof body === "string" ? body : JSON.stringify(body) })
