/**
 * Summarises a `.cpuprofile` (from `node --cpu-prof`): self time by module group and by function,
 * and inclusive time of the functions whose name matches `--match=<regex>`.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/publish.ts --only=effect-sockudo --concurrency=64
 *   node bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile [--top=40] [--match=trigger|execute]
 *     [--callers=addSpanStackTrace]
 *
 * Times are shares of all samples (idle included, listed as "(idle)").
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const file = args.find((a) => !a.startsWith("--"))
if (file === undefined) {
  console.error("usage: node bench/profile-summary.ts <file.cpuprofile> [--top=40] [--match=regex]")
  process.exit(1)
}
const top = Number(args.find((a) => a.startsWith("--top="))?.slice(6) ?? 40)
const match = args.find((a) => a.startsWith("--match="))?.slice(8)
const callersOf = args.find((a) => a.startsWith("--callers="))?.slice(10)

const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map<number, ProfileNode>()
const parent = new Map<number, number>()
for (const node of profile.nodes) {
  byId.set(node.id, node)
  for (const child of node.children ?? []) parent.set(child, node.id)
}

const group = (url: string, name: string): string => {
  if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return name
  if (url === "") return "(native/builtin)"
  const nm = url.lastIndexOf("node_modules/")
  if (nm !== -1) {
    const rest = url.slice(nm + "node_modules/".length).split("/")
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
    return pkg === "effect"
      ? `effect/${rest
          .slice(1)
          .join("/")
          .replace(/^(dist|src)\//, "")}`
      : pkg
  }
  if (url.startsWith("node:")) return url
  const src = url.indexOf("/src/")
  if (src !== -1) return `sdk ${url.slice(src + 1)}`
  const bench = url.indexOf("/bench/")
  if (bench !== -1) return `bench ${url.slice(bench + 1)}`
  return url
}

const label = (frame: CallFrame) =>
  `${frame.functionName || "(anonymous)"} ${group(frame.url, frame.functionName)}:${frame.lineNumber + 1}`

const self = new Map<string, number>()
const selfGroup = new Map<string, number>()
const inclusive = new Map<string, number>()
const pattern = match === undefined ? undefined : new RegExp(match)
const callerPattern = callersOf === undefined ? undefined : new RegExp(callersOf)
/** Self time of the functions matching `--callers`, by their call path (up to 4 frames up). */
const callers = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  const node = byId.get(profile.samples[i]!)!
  const frame = node.callFrame
  self.set(label(frame), (self.get(label(frame)) ?? 0) + dt)
  const g = group(frame.url, frame.functionName)
  selfGroup.set(g, (selfGroup.get(g) ?? 0) + dt)
  if (callerPattern?.test(label(frame))) {
    const path: Array<string> = []
    for (let id = parent.get(node.id); id !== undefined && path.length < 4; id = parent.get(id)) {
      path.push(label(byId.get(id)!.callFrame))
    }
    const key = `${label(frame)}  <-  ${path.join("  <-  ")}`
    callers.set(key, (callers.get(key) ?? 0) + dt)
  }
  if (pattern !== undefined) {
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame
      const l = label(f)
      if (!seen.has(l) && pattern.test(l)) {
        seen.add(l)
        inclusive.set(l, (inclusive.get(l) ?? 0) + dt)
      }
    }
  }
}

const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`)
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
  for (const [k, v] of rows)
    console.log(`${((v / total) * 100).toFixed(1).padStart(6)}%  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`)
}
console.log(`total ${(total / 1000).toFixed(0)} ms of samples`)
print("Self time by module", selfGroup, top)
print("Self time by function", self, top)
if (callerPattern !== undefined) print(`Callers of /${callersOf}/`, callers, top)
if (pattern !== undefined) print(`Inclusive time of functions matching /${match}/`, inclusive, top)
