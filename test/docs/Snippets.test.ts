/**
 * Every code block of the documentation (the Markdown files and the doc comments of `src/`)
 * type-checks exactly as written, as a module of a project that depends on `effect-sockudo`; blocks
 * fenced ```` ```ts run ```` also run with node against an emulator (`SOCKUDO_URL` points at it, and
 * `SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64` holds a fresh key),
 * and blocks fenced ```` ```ts test ```` run with vitest. Other languages are named in the fence.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Emulator from "../../src/testing/emulator/Emulator.ts"
import * as EmulatorNode from "../../src/testing/Node.ts"
import { runProcess } from "../support/process.ts"
import { allFeatures } from "../testing/emulator/stores/support.ts"
import { entries } from "./entries.ts"
import {
  type Block,
  docCommentBlocks,
  documentationBlocks,
  documentationSources,
  markdownBlocks,
  otherLanguages
} from "./snippets.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))
const blocks = documentationBlocks(root)
const excerpts = blocks.filter((block) => block.flags.includes("excerpt"))
const typescript = blocks.filter(
  (block) => (block.lang === "ts" || block.lang === "typescript") && !block.flags.includes("excerpt")
)
const label = (block: Block) => `${block.file}:${block.line}`
const fileName = (block: Block) =>
  `${block.file.replace(/[^A-Za-z0-9]+/g, "_")}_L${block.line}${block.flags.includes("test") ? ".test" : ""}.ts`

/** A block the compiler must reject: the check would pass vacuously if it ignored the files. */
const canary = "canary_L1.ts"

const run = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  runProcess(command, args, { cwd: root, env, timeoutMs: 60_000 })

let dir = ""
/** Compiler messages per snippet file, each as `line: TSxxxx message` with the documentation's line. */
const diagnostics = new Map<string, Array<string>>()

beforeAll(async () => {
  dir = mkdtempSync(join(root, ".snippets-"))
  for (const block of typescript) writeFileSync(join(dir, fileName(block)), block.code)
  writeFileSync(join(dir, canary), 'export const n: number = "not a number"\n')
  const src = (path: string) => [`../src/${path}`]
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: "../tsconfig.json",
      // Examples name values they do not use further; everything else is the project's settings.
      compilerOptions: {
        noUnusedLocals: false,
        paths: Object.fromEntries(Object.entries(entries).map(([specifier, file]) => [specifier, src(file)]))
      },
      include: ["*.ts"]
    })
  )
  const { stdout } = await run(process.execPath, [
    join(root, "node_modules/typescript/bin/tsc"),
    "-p",
    dir,
    "--pretty",
    "false"
  ])
  const byFile = new Map(typescript.map((block) => [fileName(block), block]))
  let last: Array<string> | undefined
  for (const text of stdout.split("\n")) {
    const match = /^(?:.*[\\/])?([^\\/()]+\.ts)\((\d+),\d+\): error (TS\d+: .*)$/.exec(text)
    if (match === null) {
      if (last !== undefined && text.startsWith(" ")) last[last.length - 1] += ` ${text.trim()}`
      continue
    }
    const [, file, line, message] = match
    const block = byFile.get(file!)
    const at = block === undefined ? `${file}:${line}` : `${block.file}:${block.line + Number(line)}`
    last = diagnostics.get(file!) ?? []
    last.push(`${at}: ${message}`)
    diagnostics.set(file!, last)
  }
}, 120_000)

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

describe("the extraction", () => {
  it("finds the blocks of Markdown fences, indented ones included, with their info words", () => {
    const text = ["# t", "```ts run", "const a = 1", "```", "", "- item", "  ```sh", "  npm test", "  ```", ""].join(
      "\n"
    )
    expect(markdownBlocks("x.md", text)).toEqual([
      { file: "x.md", line: 2, lang: "ts", flags: ["run"], code: "const a = 1\n" },
      { file: "x.md", line: 7, lang: "sh", flags: [], code: "npm test\n" }
    ])
  })

  it("finds the blocks of doc comments without their margins, numbered by the file's lines", () => {
    const text = [
      "/**",
      " * Text.",
      " *",
      " * ```ts",
      " * if (a) {",
      " *   b()",
      " * }",
      " * ```",
      " */",
      "export {}"
    ].join("\n")
    expect(docCommentBlocks("x.ts", text)).toEqual([
      { file: "x.ts", line: 4, lang: "ts", flags: [], code: "if (a) {\n  b()\n}\n" }
    ])
  })

  it("finds the README's blocks and those of the module headers", () => {
    expect(typescript.filter((block) => block.file === "README.md").length).toBeGreaterThanOrEqual(8)
    expect(typescript.some((block) => block.file === "src/Sockudo.ts")).toBe(true)
  })

  it("reports a block the compiler rejects", () => {
    expect(diagnostics.get(canary)).toEqual([expect.stringMatching(/^canary_L1\.ts:1: TS2322: /)])
  })
})

describe("excerpts are checked where they come from", () => {
  // Every line of an excerpt is a line of an example that is compiled and run (the examples' own
  // tests check the order and the regions: test/examples/readme.test.ts and endpointsReadme.test.ts).
  const sources = ["examples/extensions.ts", ...documentationSources(root, "examples/endpoints")].map((file) =>
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .map((line) => line.trim())
  )
  const inExamples = (line: string) => sources.some((source) => source.some((l) => l.endsWith(line)))
  for (const block of excerpts) {
    it(`${label(block)} is an excerpt of an example`, () => {
      const lines = block.code
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("import "))
      expect(lines.filter((line) => !inExamples(line))).toEqual([])
    })
  }
})

describe("every code block names its language", () => {
  for (const block of blocks.filter(
    (b) => b.lang !== "ts" && b.lang !== "typescript" && !b.flags.includes("excerpt")
  )) {
    it(`${label(block)} (${block.lang === "" ? "no language" : block.lang})`, () => {
      expect(otherLanguages.has(block.lang) ? block.lang : `unchecked language "${block.lang}"`).toBe(block.lang)
    })
  }
})

describe("every TypeScript block type-checks as written", () => {
  for (const block of typescript) {
    it(label(block), () => {
      expect(diagnostics.get(fileName(block)) ?? []).toEqual([])
    })
  }
})

const runnable = typescript.filter((block) => block.flags.includes("run"))

describe.runIf(runnable.length > 0)("the ```ts run blocks run against an emulator", () => {
  const emulator = ManagedRuntime.make(
    EmulatorNode.layerServer.pipe(Layer.provideMerge(Emulator.layer({ features: allFeatures })))
  )
  let url = ""
  beforeAll(async () => {
    const { baseUrl } = await emulator.runPromise(Emulator.EmulatorServer.use(Effect.succeed))
    const { id, key, secret } = Emulator.defaultApp
    url = `${baseUrl.replace("http://", `http://${key}:${secret}@`)}/apps/${id}`
  })
  afterAll(() => emulator.dispose())

  for (const block of runnable) {
    it(label(block), { timeout: 90_000 }, async () => {
      const env: NodeJS.ProcessEnv = {}
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SOCKUDO_")) env[k] = v
      env.SOCKUDO_URL = url
      env.SOCKUDO_ENCRYPTION_MASTER_KEY_BASE64 = randomBytes(32).toString("base64")
      const { code, stderr } = await run(
        process.execPath,
        ["--import", join(root, "test/docs/selfResolve.ts"), join(dir, fileName(block))],
        env
      )
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" })
    })
  }
})

const tests = typescript.filter((block) => block.flags.includes("test"))

describe.runIf(tests.length > 0)("the ```ts test blocks pass under vitest", () => {
  const results = new Map<string, ReadonlyArray<{ readonly title: string; readonly status: string }>>()
  beforeAll(async () => {
    // Exact entries first, then `effect-sockudo/<Module>` (a RegExp, which JSON cannot carry).
    const aliases = Object.entries(entries)
      .filter(([specifier]) => !specifier.endsWith("*"))
      .map(
        ([specifier, file]) =>
          `{find:/^${specifier.replaceAll("/", "\\/")}$/,replacement:${JSON.stringify(join(root, "src", file))}}`
      )
    writeFileSync(
      join(dir, "vitest.config.mjs"),
      `export default {resolve:{alias:[${aliases.join(",")},{find:/^effect-sockudo\\/(.*)$/,replacement:${JSON.stringify(`${join(root, "src")}/$1.ts`)}}]},` +
        `test:${JSON.stringify({ include: ["*.test.ts"], testTimeout: 20_000 })}}\n`
    )
    const report = join(dir, "vitest-report.json")
    await run(process.execPath, [
      join(root, "node_modules/vitest/vitest.mjs"),
      "run",
      "--root",
      dir,
      "--config",
      join(dir, "vitest.config.mjs"),
      "--reporter",
      "json",
      "--outputFile",
      report
    ])
    const parsed = JSON.parse(readFileSync(report, "utf8")) as {
      readonly testResults: ReadonlyArray<{
        readonly name: string
        readonly assertionResults: ReadonlyArray<{ readonly title: string; readonly status: string }>
      }>
    }
    for (const file of parsed.testResults) {
      results.set(
        file.name.split(/[\\/]/).pop()!,
        file.assertionResults.map(({ title, status }) => ({ title, status }))
      )
    }
  }, 120_000)

  for (const block of tests) {
    it(label(block), () => {
      const ran = results.get(fileName(block)) ?? []
      expect(ran.length).toBeGreaterThan(0)
      expect(ran.filter((test) => test.status !== "passed")).toEqual([])
    })
  }
})
