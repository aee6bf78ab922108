/**
 * The main entry, `effect-sockudo/fetch` and `effect-sockudo/testing` on a runtime without Node:
 *
 * - bundled with esbuild for `platform=neutral`, none of them imports a Node built-in, and none
 *   of the SDK's modules in those bundles names `Buffer` (effect's own guarded uses are left);
 * - a neutral bundle of `portability/scenario.ts` runs in a process whose globals have no
 *   `Buffer` and no `process` (so no `node:crypto` either): its signatures match `pusher`'s, its
 *   MD5 and shared secret match `node:crypto`'s, a publish through `effect-sockudo/fetch` reaches
 *   the in-process emulator (which checked its signature), and the mock layer records a request.
 */
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { builtinModules, createRequire } from "node:module"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as esbuild from "esbuild"
import Pusher from "pusher"
import { inputs } from "./portability/scenario.ts"
import { runProcess } from "./support/process.ts"

const root = fileURLToPath(new URL("../", import.meta.url))
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))

interface Bundle {
  readonly text: string
  /** Node built-ins imported, as `specifier <- importer`. */
  readonly builtins: ReadonlyArray<string>
  /** The SDK's own source files in the bundle, relative to the repository. */
  readonly sources: ReadonlyArray<string>
  /** The packages the bundle holds files of. */
  readonly packages: ReadonlySet<string>
}

const bundle = async (options: esbuild.BuildOptions): Promise<Bundle> => {
  const imported: Array<string> = []
  const result = await esbuild.build({
    bundle: true,
    write: false,
    platform: "neutral",
    format: "esm",
    metafile: true,
    logLevel: "silent",
    absWorkingDir: root,
    plugins: [
      {
        name: "node-builtins",
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (!builtins.has(args.path)) return undefined
            imported.push(`${args.path} <- ${relative(root, args.importer)}`)
            return { path: args.path, external: true }
          })
        }
      }
    ],
    ...options
  })
  return {
    text: result.outputFiles![0]!.text,
    builtins: imported,
    sources: Object.keys(result.metafile!.inputs).filter((input) => input.startsWith("src/")),
    packages: new Set(
      Object.keys(result.metafile!.inputs).flatMap((input) => {
        const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
        return match === null ? [] : [match[1]!]
      })
    )
  }
}

/**
 * The global `Buffer` named in code (comments and strings stripped by esbuild's minifier); a
 * property of that name (`node:buffer`'s, asked for with a guard) is not the global.
 */
const namesBuffer = (file: string): boolean =>
  /(?<![.$\w])Buffer\b/.test(
    esbuild
      .transformSync(readFileSync(join(root, file), "utf8"), { loader: "ts", minifyWhitespace: true })
      .code.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""')
  )

describe("bundled for platform=neutral", () => {
  for (const entry of ["src/index.ts", "src/Fetch.ts", "src/testing/index.ts"]) {
    it(`${entry} imports no Node built-in nor @effect/platform-node, and its modules name no Buffer`, async () => {
      const built = await bundle({ entryPoints: [entry] })
      assert.deepStrictEqual(built.builtins, [])
      assert.deepStrictEqual([...built.packages].sort(), ["@noble/ciphers", "@noble/hashes", "effect"])
      assert.isAbove(built.sources.length, 10)
      assert.deepStrictEqual(built.sources.filter(namesBuffer), [])
    })
  }

  it("the check sees a Node built-in and a Buffer where there is one (the Node entry)", async () => {
    const built = await bundle({ entryPoints: ["src/Node.ts"] })
    assert.include(built.builtins.join("\n"), "node:http")
    assert.isTrue(built.packages.has("@effect/platform-node"))
    assert.include(built.sources.filter(namesBuffer), "src/UndiciHttpClient.ts")
  })
})

/**
 * Takes `process` away, and `Buffer` from every caller outside Node's own internals (run in the
 * child, before the bundle; self-contained).
 */
const hideGlobals = () => {
  const hidden = globalThis.Buffer
  Reflect.deleteProperty(globalThis, "process")
  Reflect.deleteProperty(globalThis, "Buffer")
  Object.defineProperty(globalThis, "Buffer", {
    configurable: true,
    enumerable: false,
    get: () => ((new Error().stack ?? "").split("\n")[2]?.includes("(node:internal/") ? hidden : undefined)
  })
}

describe("run without Buffer and process", () => {
  const dir = mkdtempSync(join(root, ".portability-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("signs, verifies, encrypts, publishes through effect-sockudo/fetch and records through the mock layer", async () => {
    const built = await bundle({
      stdin: {
        contents:
          'import { main } from "./test/portability/scenario.ts"\n' +
          "main().then((result) => console.log(JSON.stringify(result)), (error) => console.error(error))\n",
        resolveDir: root,
        loader: "ts"
      },
      // Node's own fetch classes (node:internal) use its Buffer: they keep it, everything else sees none.
      banner: { js: `(${hideGlobals.toString()})();` }
    })
    assert.deepStrictEqual(built.builtins, [])
    const file = join(dir, "scenario.mjs")
    writeFileSync(file, built.text)
    const { code, stdout, stderr } = await runProcess(process.execPath, [file], { cwd: dir, timeoutMs: 60_000 })
    assert.deepStrictEqual({ code, stderr }, { code: 0, stderr: "" })
    const result = JSON.parse(stdout)

    const pusher = new Pusher({ appId: "3", key: inputs.key, secret: inputs.secret, host: "sockudo.test" })
    const token = new (createRequire(import.meta.url)("pusher/lib/token.js"))(inputs.key, inputs.secret) as {
      sign: (s: string) => string
    }
    const channelData = JSON.parse(inputs.channelData)
    const md5 = createHash("md5").update(inputs.body).digest("hex")
    const sharedSecret = createHash("sha256").update("private-encrypted-room").update(inputs.masterKey).digest("base64")
    const toSign = `POST\n/apps/3/events\nauth_key=${inputs.key}&auth_timestamp=1700000000&auth_version=1.0&body_md5=${md5}&info=user_count`
    assert.deepStrictEqual(result, {
      globals: { Buffer: "undefined", process: "undefined" },
      digests: "portable",
      channelAuth: pusher.authorizeChannel(inputs.socketId, "presence-room", channelData).auth,
      userAuth: `${inputs.key}:${token.sign(`${inputs.socketId}::user::${inputs.userData}`)}`,
      webhookSignature: token.sign(inputs.body),
      webhookVerified: true,
      md5,
      requestQuery: `auth_key=${inputs.key}&auth_timestamp=1700000000&auth_version=1.0&body_md5=${md5}&info=user_count&auth_signature=${token.sign(toSign)}`,
      sharedSecret,
      opened: "secret message é",
      published: { subscriptions: 1, events: [["order.created", '{"id":"ord_1"}']] },
      mocked: ["GET /apps/app-id/channels/orders"]
    })
  })
})
