/**
 * The suite as a Cloudflare Worker (bundled by the driver, run by workerd without `nodejs_compat`):
 * the driver POSTs the fixture to it, and it answers the results, status 500 when any check failed.
 */
import type { Fixture } from "./checks.ts"
import { run } from "./suite.ts"

export default {
  async fetch(request: Request): Promise<Response> {
    const results = await run((await request.json()) as Fixture)
    return Response.json(results, { status: results.every((result) => result.ok) ? 200 : 500 })
  }
}
