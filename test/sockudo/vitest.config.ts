import path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// `npm run test:sockudo`: the suite against the real Sockudo server, which test/sockudo/server.sh
// starts (and stops) around it. One file at a time: the files share the servers and the port the
// server sends webhooks to.
export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  test: {
    include: ["test/sockudo/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ["test/sockudo/support/globalSetup.ts"]
  }
})
