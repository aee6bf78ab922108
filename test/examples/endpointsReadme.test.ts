import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"

// The README's "Auth and webhook endpoints" snippets (fenced `ts excerpt`, so test/docs/ does not
// compile them alone) are excerpts of examples/endpoints/ (which
// test/examples/endpoints.test.ts and test/browser/ run): each code block is a region of an
// example (`// #region <name>` ... `// #endregion <name>`), after a preamble of imports and the
// `runtime` / `onEvent` the examples receive; and every name a preamble imports exists there.

const root = new URL("../../", import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), "utf8")

const section = (() => {
  const readme = read("README.md")
  const start = readme.indexOf("### Auth and webhook endpoints")
  return readme.slice(start, readme.indexOf("\n### ", start + 1))
})()

const blocks = [...section.matchAll(/```(ts|js)( excerpt)?\n([\s\S]*?)```/g)].map((m) => {
  expect(m[2], "the section's blocks are fenced `excerpt`").toBe(" excerpt")
  return m[3]!
})

const regions = Object.fromEntries(
  [
    ["policy", "examples/endpoints/policy.ts"],
    ["express", "examples/endpoints/express.ts"],
    ["hono", "examples/endpoints/hono.ts"],
    ["fastify", "examples/endpoints/fastify.ts"],
    ["effect", "examples/endpoints/effect.ts"],
    ["pusher-js", "examples/endpoints/public/app.js"]
  ].map(([name, file]) => {
    const match = new RegExp(`[ \\t]*// #region ${name}\\n([\\s\\S]*?)[ \\t]*// #endregion ${name}\\n`).exec(
      read(file!)
    )
    if (match === null) throw new Error(`no region ${name} in ${file}`)
    const lines = match[1]!.trimEnd().split("\n")
    const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length))
    return [name, `${lines.map((l) => l.slice(indent)).join("\n")}\n`]
  })
)

/** Where the README's import specifiers live in this repository. */
const modules: Record<string, string> = {
  "effect-sockudo": "../../src/index.ts",
  "effect-sockudo/node": "../../src/Node.ts"
}

const preambleLine =
  /^(import .+|const runtime = ManagedRuntime\.make\(SockudoNode\.layerConfig\)|const onEvent = .+|)$/

describe("the README's endpoint snippets", () => {
  it("are the examples' regions, each after a preamble of imports", () => {
    const found = new Set<string>()
    for (const block of blocks) {
      const name = Object.keys(regions).find((n) => block.endsWith(regions[n]!))
      expect(name, `a README block that is no example region:\n${block}`).toBeDefined()
      found.add(name!)
      const preamble = block.slice(0, block.length - regions[name!]!.length).split("\n")
      for (const line of preamble) expect(line).toMatch(preambleLine)
    }
    expect([...found].sort()).toEqual(Object.keys(regions).sort())
  })

  it("import only what exists, and set up the runtime as the examples' main does", async () => {
    expect(read("examples/endpoints/server.ts")).toContain(
      "const runtime = ManagedRuntime.make(SockudoNode.layerConfig)"
    )
    const imports = blocks.flatMap((b) =>
      [...b.matchAll(/^import (.+) from "(.+)"$/gm)].map((m) => [m[1]!, m[2]!] as const)
    )
    expect(imports.length).toBeGreaterThan(10)
    for (const [what, from] of imports) {
      const module = (await import(modules[from] ?? from)) as Record<string, unknown>
      const named = /\{ (.+) \}/.exec(what)?.[1]?.split(", ") ?? []
      for (const name of named)
        if (!name.startsWith("type ")) expect(module, `${name} from ${from}`).toHaveProperty(name)
      const bare = what.replace(/,? ?\{.*\}/, "").trim()
      if (bare.startsWith("* as ")) expect(Object.keys(module).length, from).toBeGreaterThan(0)
      else if (bare !== "") expect(module.default, `the default export of ${from}`).toBeDefined()
    }
  })
})
