/**
 * The package's entries as its `exports` map names them, each with its source file: what a
 * snippet's `effect-sockudo/...` import resolves to without a build (the map points at `dist/`).
 */
import { readFileSync } from "node:fs"

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  readonly exports: Readonly<Record<string, { readonly default: string } | string | null>>
}

/** Specifier (`effect-sockudo`, `effect-sockudo/node`, `effect-sockudo/*`) to its file under `src/` (`Node.ts`, `*.ts`). */
export const entries: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(manifest.exports).flatMap(([subpath, target]) => {
    const file = typeof target === "object" && target !== null ? target.default : undefined
    if (file === undefined || !file.startsWith("./dist/") || !file.endsWith(".js")) return []
    const specifier = subpath === "." ? "effect-sockudo" : `effect-sockudo/${subpath.slice(2)}`
    return [[specifier, `${file.slice("./dist/".length, -".js".length)}.ts`]]
  })
)

/** The file a specifier resolves to, relative to `src/` (`undefined` when it is not an entry). */
export const sourceOf = (specifier: string): string | undefined => {
  const exact = entries[specifier]
  if (exact !== undefined) return exact
  const wildcard = entries["effect-sockudo/*"]
  return wildcard !== undefined && specifier.startsWith("effect-sockudo/")
    ? wildcard.replace("*", specifier.slice("effect-sockudo/".length))
    : undefined
}
