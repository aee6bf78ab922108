import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { runProcess } from "../support/process.ts"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Runs `node examples/demo.ts` as `npm run demo` does, without any SOCKUDO_* settings. */
const runDemo = () => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SOCKUDO_")) env[k] = v
  return runProcess(process.execPath, ["examples/demo.ts"], { cwd: root, env, timeoutMs: 25_000 })
}

describe("npm run demo", () => {
  it("tours the SDK against the emulator on a loopback port and exits 0", { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await runDemo()
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" })
    const serial = String.raw`\d{20}:[^:\s]+:\d{20}`

    expect(stdout).toMatch(/^effect-sockudo demo against the emulator at http:\/\/127\.0\.0\.1:\d+ /)
    // 1. publish: serials come back from the versioned channel, and a simulated client got the events
    expect(stdout).toContain("\n1. Publish\n")
    expect(stdout).toMatch(new RegExp(`-> message_serial ${serial}, 1 subscriber\\(s\\)`))
    expect(stdout).toContain("the simulated client received 3 events: message, message, reply")
    // 2. history as a Stream, over more than one page
    expect(stdout).toContain("\n2. Read history as a Stream")
    expect(stdout).toMatch(/serial 1 {2}message {2}\{"from":"ada","text":"Hi Grace!"\}/)
    expect(stdout).toContain("3 item(s) read over 2 page request(s)")
    // 3. update and append
    expect(stdout).toMatch(new RegExp(`update -> applied, version_serial ${serial}`))
    expect(stdout).toContain("latest version of the reply: Nearly done: the mill works, the store is next.")
    expect(stdout).toContain('latest version of the edited message: {"from":"grace","text":"Hi Ada! How is')
    // 4. annotations
    expect(stdout).toMatch(new RegExp(`annotation 👍 by grace -> annotationSerial ${serial}`))
    expect(stdout).toContain("list -> 3 annotation(s): 👍 by grace, 👍 by charles, 🎉 by grace")
    // 5. webhooks, received over HTTP and verified with sockudo.webhooks.verify
    expect(stdout).toMatch(/receiver: http:\/\/127\.0\.0\.1:\d+\/webhooks/)
    expect(stdout).toMatch(/verified \(X-Pusher-Signature [0-9a-f]{8}…\): annotation_created demo-chat/)
    expect(stdout).toContain("the same webhook with one byte changed -> rejected with SockudoWebhookSignatureError")
    expect(stdout).not.toContain("skipped")
    expect(stdout.trimEnd().endsWith("Done: every step ran.")).toBe(true)
  })
})
