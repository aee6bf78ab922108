/**
 * The suite's entry for runtimes that run a TypeScript file (Node, Bun, Deno): the fixture comes in
 * `RUNTIME_SUITE_FIXTURE`, the results go to stdout on one line after `resultsMarker`, and the exit
 * code is 1 when any check failed. A suite that cannot even load (a module the runtime lacks) fails
 * every check with the loader's message.
 */
import { checks, type Fixture, type Result, resultsMarker } from "./checks.ts"

const fixture = JSON.parse(process.env.RUNTIME_SUITE_FIXTURE ?? "null") as Fixture | null
let results: ReadonlyArray<Result>
if (fixture === null) {
  results = checks.map((check) => ({ check, ok: false, detail: "RUNTIME_SUITE_FIXTURE is not set" }))
} else {
  try {
    const suite = await import("./suite.ts")
    results = await suite.run(fixture)
  } catch (error) {
    const detail = `the suite did not load: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
    results = checks.map((check) => ({ check, ok: false, detail }))
  }
}
console.log(resultsMarker + JSON.stringify(results))
process.exitCode = results.every((result) => result.ok) ? 0 : 1
