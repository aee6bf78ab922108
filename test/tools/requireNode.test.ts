/**
 * `tools/require-node.cjs`, the guard the npm scripts run first: an older Node than
 * `engines.node` stops at once with what to do, a recent one passes silently.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("../../", import.meta.url))
const guard = createRequire(import.meta.url)("../../tools/require-node.cjs") as {
  readonly check: (version: string, range: string) => string | undefined
  readonly minimum: (range: string) => readonly [number, number, number]
}
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
  readonly engines: { readonly node: string }
  readonly scripts: Readonly<Record<string, string>>
}

/** Runs the guard as `npm test` does, on a Node that reports `version` (the real one when undefined). */
const runGuard = (version?: string) =>
  spawnSync(
    process.execPath,
    [
      ...(version === undefined
        ? []
        : ["--import", `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`]),
      "tools/require-node.cjs"
    ],
    { cwd: root, encoding: "utf8" }
  )

describe("require-node", () => {
  it("passes the minimum of engines.node and anything newer; refuses anything older", () => {
    const range = ">=22.19.0"
    for (const ok of ["22.19.0", "v22.19.0", "22.19.1", "22.20.0", "23.0.0", "24.11.1", "100.0.0"]) {
      expect(guard.check(ok, range), ok).toBeUndefined()
    }
    for (const old of ["22.18.9", "22.18.0", "22.0.0", "21.99.99", "20.20.2", "18.0.0"]) {
      expect(guard.check(old, range), old).toContain(`this is Node ${old}`)
    }
  })

  it("says what the project needs and how to get Node 24", () => {
    expect(guard.check("20.20.2", ">=22.19.0")).toBe(
      [
        "effect-sockudo needs Node >=22.19.0; this is Node 20.20.2.",
        "Get Node 24 with `. .ci/node-env.sh` (unpacks it from the npm registry into .node/ for this shell),",
        "or `nvm install` (reads .nvmrc), then run the command again."
      ].join("\n")
    )
  })

  it("reads package.json's engines.node, which must be a >=X.Y.Z range", () => {
    expect(guard.minimum(pkg.engines.node)).toEqual([22, 19, 0])
    expect(() => guard.minimum("^22.19.0")).toThrow(/>=X\.Y\.Z/)
  })

  it("on an old Node: exit 1 at once, the message on stderr", () => {
    const result = runGuard("20.20.2")
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: "" })
    expect(result.stderr).toContain("effect-sockudo needs Node >=22.19.0; this is Node 20.20.2.")
  })

  it("on this Node: exit 0, silently", () => {
    const result = runGuard()
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: "",
      stderr: ""
    })
  })

  it("runs before test, build, demo and bench; .nvmrc and .node-version name Node 24", () => {
    for (const script of ["test", "build", "demo", "bench"]) {
      expect(pkg.scripts[`pre${script}`], script).toBe("node tools/require-node.cjs")
    }
    expect(readFileSync(`${root}.nvmrc`, "utf8")).toBe("24\n")
    expect(readFileSync(`${root}.node-version`, "utf8")).toBe("24\n")
  })
})
