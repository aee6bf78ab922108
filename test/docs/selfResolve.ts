/**
 * `node --import ./test/docs/selfResolve.ts snippet.ts`: resolves `effect-sockudo` and its subpaths
 * to the sources, as the package's `exports` map resolves them to `dist/` once built, so a
 * documentation snippet runs exactly as written without a build.
 */
import { registerHooks } from "node:module"
import { sourceOf } from "./entries.ts"

const src = new URL("../../src/", import.meta.url)

registerHooks({
  resolve(specifier, context, next) {
    const file = sourceOf(specifier)
    return file === undefined ? next(specifier, context) : { url: new URL(file, src).href, shortCircuit: true }
  }
})
