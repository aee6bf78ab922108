import { assert, describe, expect } from "@effect/vitest"
import { Effect } from "effect"
import type * as Push from "../../../src/Resources/Push.ts"
import { requests } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { answer, expectSent, rejects, sent, test } from "./fixtures.ts"

describe("push.credentials", () => {
  test(
    "put POSTs each provider's body to its route (webPush to /webpush), without the provider tag",
    (s) =>
      Effect.gen(function* () {
        const credentials: ReadonlyArray<readonly [Push.NewCredential, string, unknown]> = [
          [
            { provider: "fcm", serviceAccountJson: { project_id: "p" } },
            "fcm",
            { serviceAccountJson: { project_id: "p" } }
          ],
          [
            { provider: "apns", credentialId: "apns-prod", version: 2, teamId: "T", keyId: "K", privateKey: "pk" },
            "apns",
            { credentialId: "apns-prod", version: 2, teamId: "T", keyId: "K", privateKey: "pk" }
          ],
          [
            { provider: "webPush", publicKey: "pub", privateKey: "priv" },
            "webpush",
            { publicKey: "pub", privateKey: "priv" }
          ],
          [{ provider: "hms", hmsAppId: "h", clientSecret: "c" }, "hms", { hmsAppId: "h", clientSecret: "c" }],
          [
            { provider: "wns", packageSid: "ms-app://s", clientSecret: "c" },
            "wns",
            { packageSid: "ms-app://s", clientSecret: "c" }
          ]
        ]
        for (const [credential] of credentials) {
          assert.deepStrictEqual(yield* s.push.credentials.put(credential), F.credential)
        }
        const all = yield* requests
        for (const [i, [, route, body]] of credentials.entries()) {
          expectSent(all[i], { method: "POST", path: `/apps/app-id/push/credentials/${route}`, body })
        }
      }),
    answer(201, F.credential)
  )

  test(
    "put accepts APNs p12 or pem material and refuses none",
    (s) =>
      Effect.gen(function* () {
        yield* s.push.credentials.put({ provider: "apns", p12: "base64", p12Password: "secret" })
        yield* s.push.credentials.put({ provider: "apns", pem: "-----BEGIN" })
        const error = yield* Effect.flip(s.push.credentials.put({ provider: "apns", teamId: "T", keyId: "K" }))
        expect(error).toMatchObject({
          _tag: "SockudoValidationError",
          operation: "push.credentials.put",
          field: "credential",
          message: "credential must give p12, pem, or teamId + keyId + privateKey"
        })
        assert.strictEqual((yield* requests).length, 2)
      }),
    answer(201, { ...F.credential, provider: "apns", credential_id: "apns" })
  )

  test(
    "list GETs /push/credentials with limit and cursor and decodes the snake_case envelope",
    (s) =>
      Effect.gen(function* () {
        const result = yield* s.push.credentials.list({ limit: 2, cursor: "opaque+/=" })
        expectSent(yield* sent, {
          method: "GET",
          path: "/apps/app-id/push/credentials",
          query: [
            ["limit", "2"],
            ["cursor", "opaque+/="]
          ]
        })
        assert.deepStrictEqual(result, F.page([F.credential], "next-1"))
      }),
    answer(200, F.page([F.credential], "next-1"))
  )
})

describe("push validation: nothing is sent", () => {
  rejects([
    [
      "a credential for an unknown provider",
      (s) => s.push.credentials.put({ provider: "realtime" } as never),
      "credential"
    ],
    // The server refuses a blank secret ("secret must not be empty"), an empty password included.
    [
      "an empty p12 password",
      (s) => s.push.credentials.put({ provider: "apns", p12: "base64", p12Password: "" }),
      "credential.p12Password"
    ],
    [
      "a blank client secret",
      (s) => s.push.credentials.put({ provider: "hms", hmsAppId: "h", clientSecret: "  " }),
      "credential.clientSecret"
    ]
  ])
})
