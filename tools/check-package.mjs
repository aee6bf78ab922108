// `npm run lint:package`: packs the package as `npm publish` would (prepack builds dist/ afresh),
// checks the tarball holds what a user needs and nothing of the repository's own, then lints it
// with publint and @arethetypeswrong/cli. Any finding fails the run.
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const run = (command, args, options = {}) => execFileSync(command, args, { stdio: "inherit", ...options })
const out = mkdtempSync(join(tmpdir(), "effect-sockudo-pack-"))
try {
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", out], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
  )
  const files = new Set(packed.files.map((file) => file.path))
  const required = [
    "package.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/Node.js",
    "dist/Node.d.ts",
    "dist/testing/index.js",
    "dist/testing/index.d.ts"
  ]
  const missing = required.filter((file) => !files.has(file))
  const foreign = [...files].filter((file) => /^(test|e2e|bench|tools|examples|docs|\.ci)\//.test(file))
  if (missing.length > 0 || foreign.length > 0) {
    console.error(`lint:package: the tarball lacks ${JSON.stringify(missing)} and holds ${JSON.stringify(foreign)}`)
    process.exit(1)
  }
  console.log(`lint:package: ${packed.filename}: ${files.size} files, ${packed.size} bytes packed`)
  run("npx", ["--no-install", "publint", "--strict"])
  run("npx", ["--no-install", "attw", join(out, packed.filename), "--profile", "esm-only"])
} finally {
  rmSync(out, { recursive: true, force: true })
}
