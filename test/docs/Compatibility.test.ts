/**
 * The README's runtimes table is the runtime suite's: one column per check of the suite, one row per
 * runtime the driver runs, in order, with its pinned version. The cells are what
 * `npm run test:runtimes` found: the driver fails when one differs, and CI runs it (`.ci/run`).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { checks } from "../runtimes/checks.ts"
import { runtimesTable } from "../runtimes/readme.ts"
import { runtimes } from "../runtimes/runtimes.ts"
import { entries } from "./entries.ts"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")
const table = runtimesTable(read("README.md"))

describe("the README's runtimes table", () => {
  it("has a column per check of the suite, in order", () => {
    expect(table.columns).toEqual([...checks])
  })

  it("has a row per runtime of the driver, in order, each cell a ✔ or a ✘; – where the suite skips", () => {
    expect([...table.rows.keys()]).toEqual(runtimes.map((runtime) => runtime.label))
    for (const runtime of runtimes) {
      const cells = table.rows.get(runtime.label)!
      expect(cells).toHaveLength(checks.length)
      checks.forEach((check, i) => {
        const skipped = check === "node entry" && runtime.kind === "worker"
        expect(skipped ? ["–"] : ["✔", "✘"]).toContain(cells[i])
      })
    }
  })

  it("names each pinned runtime by the version the driver installs", () => {
    for (const runtime of runtimes) expect(runtime.label).toContain(` ${runtime.pkg.version}`)
  })

  it("type-checks the suite's imports of the package against src/: tsconfig.json maps every entry of exports", () => {
    const tsconfig = JSON.parse(read("tsconfig.json").replace(/^\s*\/\/.*$/gm, "")) as {
      compilerOptions: { paths: Record<string, ReadonlyArray<string>> }
    }
    const named = Object.entries(entries).filter(([specifier]) => !specifier.includes("*"))
    expect(tsconfig.compilerOptions.paths).toEqual(
      Object.fromEntries(named.map(([specifier, file]) => [specifier, [`./src/${file}`]]))
    )
  })

  it("is checked by npm run test:runtimes, which CI runs after npm test", () => {
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts
    expect(scripts["test:runtimes"]).toBe("node test/runtimes/run.ts")
    const ci = read(".ci/run")
    expect(ci.indexOf("npm run test:runtimes")).toBeGreaterThan(ci.indexOf("npm test"))
  })
})

describe("the README's table of which layer for which runtime", () => {
  const section = (() => {
    const readme = read("README.md")
    const start = readme.indexOf("\n### Runtimes")
    return readme.slice(start, readme.indexOf("\n### ", start + 1))
  })()
  const rows = section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| ---") && !line.startsWith("| Runtime |"))
    .map((line) => line.slice(2, -2).split(" | ") as [string, string])

  it("names entries the package exports, effect-sockudo/fetch for every runtime with fetch", () => {
    const named = rows.flatMap(([, layer]) => [...layer.matchAll(/`(effect-sockudo\/[a-z/]+)`/g)].map((m) => m[1]!))
    expect(named.length).toBeGreaterThan(0)
    for (const entry of named) expect(Object.keys(entries)).toContain(entry)
    expect(rows.map(([, layer]) => layer.includes("`effect-sockudo/fetch`"))).toEqual(rows.map(() => true))
  })

  it("is what the runtime suite runs: its checks go through effect-sockudo/fetch, its node entry check through effect-sockudo/node", () => {
    const suite = read("test/runtimes/suite.ts")
    expect(suite).toContain('from "effect-sockudo/fetch"')
    expect(suite).toContain('import("effect-sockudo/node")')
  })
})
