import { defineConfig } from "vitest/config"

/** The test files whose results depend on the digests: run again over the portable ones. */
const digestSensitive = [
  "test/internal/Digest.test.ts",
  "test/Signer.test.ts",
  "test/Webhook.test.ts",
  "test/Crypto.test.ts",
  "test/Vectors.test.ts",
  "test/Idempotency.test.ts",
  "test/testing/emulator/Verify.test.ts"
]

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The suite against the real server (npm run test:sockudo) has its own configuration.
    exclude: ["test/sockudo/**", "**/node_modules/**"],
    testTimeout: 20_000,
    projects: [
      // Node as it is: the SDK signs with node:crypto.
      { extends: true, test: { name: "node", env: { EXPECTED_DIGESTS: "node" } } },
      // A runtime without node:crypto (Workers without nodejs_compat): the SDK signs with @noble/hashes.
      {
        extends: false,
        test: {
          name: "portable",
          testTimeout: 20_000,
          include: digestSensitive,
          setupFiles: ["test/support/withoutNodeCrypto.ts"],
          env: { EXPECTED_DIGESTS: "portable" }
        }
      }
    ]
  }
})
