/**
 * The runtimes the suite runs on, pinned, and their installation: each one's npm package (they ship
 * the runtime's binary) installed once into a cache outside the clone,
 * `$SOCKUDO_CACHE/runtimes/<package>@<version>` (`~/.cache/effect-sockudo` by default, like the
 * Sockudo build), and reused on every later run.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

/** A runtime of the suite, as the README's compatibility table names it. */
export interface Runtime {
  /** Short name: channel prefixes, file names. */
  readonly id: string
  /** The first cell of its README row. */
  readonly label: string
  /** The npm package with its binary, pinned. */
  readonly pkg: { readonly name: string; readonly version: string; readonly bin: string }
  /** Run by the Node that runs the driver instead when that is this major version (CI's Node 24). */
  readonly orDriversNode?: number | undefined
  /** How it runs the suite: through `test/runtimes/main.ts`, or as a Worker. */
  readonly kind: "script" | "worker"
}

/** The Node package with this machine's binary, as `.ci/node-env.sh` picks it. */
const nodePackage = (): string => {
  const os = { linux: "linux", darwin: "darwin" }[process.platform as string]
  const arch = { x64: "x64", arm64: "arm64" }[process.arch as string]
  if (os === undefined || arch === undefined) throw new Error(`no Node package for ${process.platform} ${process.arch}`)
  return `node-${os}-${arch}`
}

/** The runtimes, in the order of the README's table. */
export const runtimes: ReadonlyArray<Runtime> = [
  {
    id: "node22",
    label: "Node.js 22.19.0",
    pkg: { name: nodePackage(), version: "22.19.0", bin: "node" },
    kind: "script"
  },
  {
    id: "node24",
    label: "Node.js 24",
    pkg: { name: nodePackage(), version: "24", bin: "node" },
    orDriversNode: 24,
    kind: "script"
  },
  { id: "bun", label: "Bun 1.4.5", pkg: { name: "bun", version: "1.4.5", bin: "bun" }, kind: "script" },
  { id: "deno", label: "Deno 2.9.6", pkg: { name: "deno", version: "2.9.6", bin: "deno" }, kind: "script" },
  {
    id: "workerd",
    label: "workerd 1.20261123.1 (Cloudflare Workers, no `nodejs_compat`)",
    pkg: { name: "workerd", version: "1.20261123.1", bin: "workerd" },
    kind: "worker"
  }
]

/** Where installed runtimes are kept. */
export const cacheDir = (): string =>
  join(process.env.SOCKUDO_CACHE ?? join(homedir(), ".cache", "effect-sockudo"), "runtimes")

/** The path of a runtime's binary; installs it first when the cache lacks it. */
export const install = (runtime: Runtime): { readonly bin: string; readonly installed: boolean } => {
  const pkg = runtime.pkg
  if (runtime.orDriversNode === Number(process.versions.node.split(".")[0])) {
    return { bin: process.execPath, installed: false }
  }
  const dir = join(cacheDir(), `${pkg.name}@${pkg.version}`)
  const bin = (root: string) => join(root, "node_modules", ".bin", pkg.bin)
  if (existsSync(bin(dir))) return { bin: bin(dir), installed: false }
  const partial = `${dir}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  const npm = spawnSync(
    "npm",
    [
      "install",
      "--prefix",
      partial,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      `${pkg.name}@${pkg.version}`
    ],
    { encoding: "utf8" }
  )
  const version = npm.status === 0 ? spawnSync(bin(partial), ["--version"], { encoding: "utf8" }) : undefined
  if (npm.status !== 0 || version?.status !== 0) {
    rmSync(partial, { recursive: true, force: true })
    const output = npm.status !== 0 ? npm.stderr : `${version?.stderr ?? ""}${version?.error?.message ?? ""}`
    throw new Error(`installing ${pkg.name}@${pkg.version} failed:\n${output.trim().split("\n").slice(-20).join("\n")}`)
  }
  // another run may have installed it meanwhile: keep the first
  if (existsSync(dir)) rmSync(partial, { recursive: true, force: true })
  else renameSync(partial, dir)
  return { bin: bin(dir), installed: true }
}
