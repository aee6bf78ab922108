/**
 * `node --import ./test/docs/selfResolve.ts snippet.ts`: resolves `effect-sockudo` and its subpaths
 * to the sources, as the package's `exports` map resolves them to `dist/` once built, so a
 * documentation snippet runs exactly as written without a build.
 */
import { registerHooks } from "node:module"

const src = new URL("../../src/", import.meta.url)
const entries: Readonly<Record<string, string>> = {
  "effect-sockudo": "index.ts",
  "effect-sockudo/node": "Node.ts",
  "effect-sockudo/testing": "testing/index.ts"
}

registerHooks({
  resolve(specifier, context, next) {
    if (specifier !== "effect-sockudo" && !specifier.startsWith("effect-sockudo/")) return next(specifier, context)
    const file = entries[specifier] ?? `${specifier.slice("effect-sockudo/".length)}.ts`
    return { url: new URL(file, src).href, shortCircuit: true }
  }
})
