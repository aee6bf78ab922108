import { createHash } from "node:crypto"
import { assert } from "@effect/vitest"
import { Signer } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"

const authKeys = new Set(["auth_key", "auth_timestamp", "auth_version", "auth_signature", "body_md5"])

/**
 * Checks that a recorded request is signed the way the server verifies it (signature over the
 * decoded query and the raw path with the test app's secret, `body_md5` exactly on POST) and
 * returns its own query parameters, raw as sent, without the auth parameters.
 */
export const signedQuery = (request: SockudoTest.RecordedRequest): string => {
  const pairs = [...request.query.entries()]
  const signature = request.query.get("auth_signature")
  const toSign = Signer.stringToSign(
    request.method,
    request.path,
    pairs.filter(([k]) => k !== "auth_signature")
  )
  assert.strictEqual(signature, Signer.hmacHex("app-secret", toSign), "auth_signature")
  assert.strictEqual(request.query.get("auth_key"), "app-key")
  if (request.method === "POST") {
    assert.strictEqual(request.query.get("body_md5"), createHash("md5").update(request.body).digest("hex"))
  } else {
    assert.isFalse(request.query.has("body_md5"), "body_md5 on a non-POST request")
  }
  return request.rawQuery
    .split("&")
    .filter((p) => !authKeys.has(p.split("=")[0]!))
    .join("&")
}

/** A paged endpoint over items `0..total-1`. Cursors are `c<offset>`; `render` shapes one page. */
export interface PagedEndpoint {
  readonly total: number
  /** Page size when the request has no `limit`. */
  readonly pageSize: number
  /** The query parameter the cursor travels in (`cursor`, `from_serial`). */
  readonly cursorParam: string
  readonly render: (items: ReadonlyArray<number>, hasMore: boolean, next: string | null) => unknown
  /** Replaces the answer to the n-th request (1-based) when it returns a reply. */
  readonly override?: ((n: number) => SockudoTest.Reply | undefined) | undefined
}

export const pagedHandler = (endpoint: PagedEndpoint): SockudoTest.Handler => {
  let n = 0
  return (request) => {
    n++
    const replaced = endpoint.override?.(n)
    if (replaced !== undefined) return replaced
    const cursor = request.query.get(endpoint.cursorParam)
    const offset = cursor === null ? 0 : Number(cursor.slice(1))
    const size = Number(request.query.get("limit") ?? endpoint.pageSize)
    const end = Math.min(endpoint.total, offset + size)
    const items = Array.from({ length: end - offset }, (_, i) => offset + i)
    const hasMore = end < endpoint.total
    return SockudoTest.json(200, endpoint.render(items, hasMore, hasMore ? `c${end}` : null))
  }
}
