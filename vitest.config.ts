import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The suite against the real server (npm run test:sockudo) has its own configuration.
    exclude: ["test/sockudo/**", "**/node_modules/**"],
    testTimeout: 20_000
  }
})
