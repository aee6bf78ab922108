/**
 * The code blocks of the documentation: every fenced block of the repository's Markdown files and
 * of the doc comments in `src/`, with where it starts and what its fence says.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"

/** Languages whose blocks are not TypeScript and so are not compiled. */
export const otherLanguages: ReadonlySet<string> = new Set(["sh", "bash", "console", "text", "json", "toml", "yaml"])

/** A fenced code block. `line` is the 1-based line of its opening fence in `file`. */
export interface Block {
  readonly file: string
  readonly line: number
  /** The first word of the fence's info string (`""` when there is none). */
  readonly lang: string
  /**
   * The other words: `run` (run with node against an emulator), `test` (run with vitest),
   * `excerpt` (a region of an example that is compiled and run itself, checked by
   * test/examples/readme.test.ts, so not compiled alone).
   */
  readonly flags: ReadonlyArray<string>
  readonly code: string
}

const fence = /^(\s*)(`{3,}|~{3,})\s*(.*)$/

/** The fenced blocks of `lines`, numbered from `firstLine`. */
const fencedBlocks = (file: string, lines: ReadonlyArray<string>, firstLine: number): Array<Block> => {
  const blocks: Array<Block> = []
  let open: { readonly indent: number; readonly marker: string; readonly info: string; readonly at: number } | undefined
  let body: Array<string> = []
  lines.forEach((text, i) => {
    const match = fence.exec(text)
    if (open === undefined) {
      if (match === null) return
      open = { indent: match[1]!.length, marker: match[2]!, info: match[3]!.trim(), at: firstLine + i }
      body = []
    } else if (match !== null && match[2]!.startsWith(open.marker) && match[3]!.trim() === "") {
      const [lang = "", ...flags] = open.info.split(/\s+/).filter((word) => word !== "")
      blocks.push({ file, line: open.at, lang, flags, code: `${body.join("\n")}\n` })
      open = undefined
    } else {
      const indent = open.indent
      body.push(text.slice(Math.min(indent, text.length - text.trimStart().length)))
    }
  })
  if (open !== undefined) throw new Error(`${file}:${open.at}: a code block that is never closed`)
  return blocks
}

/** The blocks of a Markdown file. */
export const markdownBlocks = (file: string, text: string): Array<Block> => fencedBlocks(file, text.split("\n"), 1)

/** The blocks of the `/** ... *\/` comments of a TypeScript file, without the comments' ` * ` margins. */
export const docCommentBlocks = (file: string, text: string): Array<Block> => {
  const blocks: Array<Block> = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split("\n").length
    const lines = comment[0]
      .replace(/^\/\*\*/, "")
      .replace(/\*\/$/, "")
      .split("\n")
      .map((line) => line.replace(/^\s*\* ?/, ""))
    blocks.push(...fencedBlocks(file, lines, firstLine))
  }
  return blocks
}

const skipped = new Set(["node_modules", "dist", "api"])

const walk = (root: string, dir: string, accept: (path: string) => boolean): Array<string> =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      if (entry.name.startsWith(".") || skipped.has(entry.name)) return []
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`
      if (entry.isDirectory()) return walk(root, path, accept)
      return accept(path) ? [path] : []
    })

/**
 * Every block of the repository's documentation: its Markdown files (outside `node_modules`,
 * `dist`, the generated `docs/api` and hidden folders) and the doc comments of `src/`.
 */
export const documentationBlocks = (root: string): Array<Block> => [
  ...walk(root, "", (path) => path.endsWith(".md")).flatMap((path) =>
    markdownBlocks(path, readFileSync(join(root, path), "utf8"))
  ),
  ...walk(root, "src", (path) => path.endsWith(".ts")).flatMap((path) =>
    docCommentBlocks(relative(root, join(root, path)), readFileSync(join(root, path), "utf8"))
  )
]

/** The `.ts` and `.js` files under `dir` of `root`, as paths relative to `root`. */
export const documentationSources = (root: string, dir: string): Array<string> =>
  walk(root, dir, (path) => path.endsWith(".ts") || path.endsWith(".js"))
