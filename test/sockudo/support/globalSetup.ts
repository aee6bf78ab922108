/**
 * Before the suite: a fresh results directory for the differential comparisons. After it: a
 * summary of every comparison (how many answers, client event lists and webhooks were compared,
 * how many differences, how many explained by `docs/emulator.md`), and a failure if a row of
 * that table explained nothing in a scenario that ran, so the table cannot go stale.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import path from "node:path"
import { knownDifferences, resultsFile, rowId } from "./differential.ts"
import { webhooksFile } from "./env.ts"
import { recordToFile } from "./webhooks.ts"

interface Result {
  readonly scenario: string
  readonly exchanges: number
  readonly clients: number
  readonly webhooks: number
  readonly differences: number
  readonly explained: ReadonlyArray<{ readonly where: string; readonly row: string | undefined }>
  readonly unexplained: ReadonlyArray<unknown>
}

let webhooks: { readonly close: () => Promise<void> } | undefined

export const setup = async () => {
  const file = resultsFile()
  rmSync(path.dirname(file), { recursive: true, force: true })
  mkdirSync(path.dirname(file), { recursive: true })
  process.env.SOCKUDO_TEST_RESULTS = path.dirname(file)
  const port = process.env.SOCKUDO_TEST_WEBHOOK_PORT
  if (port !== undefined && port !== "") webhooks = await recordToFile(Number(port), webhooksFile())
}

export const teardown = async () => {
  await webhooks?.close()
  const file = resultsFile()
  if (!existsSync(file)) return
  const results: Array<Result> = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Result)
  const sum = (f: (r: Result) => number) => results.reduce((n, r) => n + f(r), 0)
  const lines = [
    "| scenario | answers | client event lists | webhook events | differences | explained |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.exchanges} | ${r.clients} | ${r.webhooks} | ${r.differences} | ${r.explained.length} |`
    ),
    `| **${results.length} scenarios** | ${sum((r) => r.exchanges)} | ${sum((r) => r.clients)} | ${sum((r) => r.webhooks)} | ${sum((r) => r.differences)} | ${sum((r) => r.explained.length)} |`
  ]
  const summary = lines.join("\n")
  writeFileSync(path.join(path.dirname(file), "differential.md"), `${summary}\n`)
  console.log(`\nDifferential comparison, Sockudo against the emulator:\n\n${summary}\n`)

  const ran = new Set(results.map((r) => r.scenario))
  const used = new Set(results.flatMap((r) => r.explained.map((e) => e.row)))
  const stale = knownDifferences().filter((k) => ran.has(k.scenario) && !used.has(rowId(k)))
  if (stale.length > 0) {
    throw new Error(
      `rows of docs/emulator.md's differences table explained nothing in this run (remove them):\n${stale
        .map((k) => `  ${k.scenario}: ${k.where}`)
        .join("\n")}`
    )
  }
}
