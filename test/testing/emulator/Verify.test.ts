import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Emulator from "../../../src/testing/emulator/Emulator.ts"
import * as Verify from "../../../src/testing/emulator/Verify.ts"
import { hmac, md5, post, raw, signed } from "./support.ts"

const app = { id: "app-id", key: "app-key", secret: "app-secret" }
const find = (key: string) => (key === app.key ? app : undefined)

/** Server reference 12.4: requests signed by the server's algorithm at auth_timestamp 1700000000. */
const vectors: ReadonlyArray<readonly [string, string, string, string]> = [
  [
    "POST",
    "/apps/app-id/events?auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&body_md5=349c71b13ec8d76fc16325f273365ba5",
    '{"name":"my-event","channel":"my-channel","data":"{\\"hello\\":\\"world\\"}"}',
    "7496137a76b0f3ca46fa2ca46e4d0aabeb67b5bc32181d60a42aa561a33b3e57"
  ],
  [
    "POST",
    "/apps/app-id/users/user%2F1/terminate_connections?auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&body_md5=d41d8cd98f00b204e9800998ecf8427e",
    "",
    "efc49a9184e47e442ac8dff59cb706edfe4dd81544ffbda8364a5ebcc96f579a"
  ],
  [
    "GET",
    "/apps/app-id/channels/presence-room/history?limit=50&direction=oldest_first&auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0",
    "",
    "fdcf9a5229217403f96d4e9069967343fb2059dacfd2601f62a842a3ac1c78c1"
  ],
  [
    "GET",
    "/apps/app-id/channels?filter_by_prefix=presence-&info=user_count%2Csubscription_count&auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0",
    "",
    "588fbe1cbc96a79509ea04babd1a58ef6aff37cb8da22ddb5dbe2dfb1cfcedf2"
  ],
  [
    "GET",
    "/apps/app-id/push/channelSubscriptions?deviceId=device%201&limit=10&auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0",
    "",
    "d38fff506732f9591e0277c6187bc12b5130612b4458db0cdf9bd33604e635d9"
  ]
]

const input = (method: string, url: string, body = "", nowSeconds = 1_700_000_000): Verify.VerifyInput => ({
  method,
  url,
  body: new TextEncoder().encode(body),
  nowSeconds
})

const rejection = (result: Verify.Verification<typeof app>) =>
  result._tag === "Rejected" ? result.response : assert.fail("the request was accepted")

describe("verifyRequest (pure)", () => {
  for (const [method, url, body, signature] of vectors) {
    it(`accepts the reference vector ${method} ${url.split("?")[0]}`, () => {
      const result = Verify.verifyRequest(input(method, `${url}&auth_signature=${signature}`, body), find)
      assert.strictEqual(result._tag, "Verified")
    })
  }

  const [, eventsUrl, eventsBody, eventsSignature] = vectors[0]!
  const signedEvents = `${eventsUrl}&auth_signature=${eventsSignature}`

  it("rejects an upper-case hex signature", () => {
    const result = Verify.verifyRequest(
      input("POST", `${eventsUrl}&auth_signature=${eventsSignature.toUpperCase()}`, eventsBody),
      find
    )
    expect(rejection(result)).toMatchObject({
      status: 401,
      json: { code: "auth_failed", error: "Invalid API signature" }
    })
  })

  it("accepts exactly 600 seconds of skew in both directions and rejects 601", () => {
    for (const now of [1_700_000_600, 1_699_999_400]) {
      assert.strictEqual(Verify.verifyRequest(input("POST", signedEvents, eventsBody, now), find)._tag, "Verified")
    }
    for (const now of [1_700_000_601, 1_699_999_399]) {
      expect(rejection(Verify.verifyRequest(input("POST", signedEvents, eventsBody, now), find))).toMatchObject({
        status: 401,
        json: { error: "Timestamp expired or too far in the future" }
      })
    }
  })

  it("rejects a body that does not match body_md5", () => {
    expect(rejection(Verify.verifyRequest(input("POST", signedEvents, `${eventsBody} `), find))).toMatchObject({
      status: 401,
      json: { error: "body_md5 mismatch" }
    })
  })

  it("signs the last value of a repeated key and lower-cases keys", () => {
    const pairs = Verify.parseQuery("B=2&a=1&a=3&auth_signature=x&c=a+b%2Bc")
    assert.strictEqual(Verify.stringToSign("GET", "/p", pairs), "GET\n/p\na=3&b=2&c=a b+c")
  })

  it("keeps malformed percent escapes and decodes UTF-8", () => {
    assert.strictEqual(Verify.formDecode("%zz%41%C3%A9%"), "%zzAé%")
  })
})

describe("verification over HTTP: the server's table (reference 2.5)", () => {
  const cases: ReadonlyArray<
    readonly [
      string,
      Effect.Effect<{ status: number; json: unknown }, never, Emulator.Emulator>,
      number,
      string,
      string
    ]
  > = [
    [
      "no query string",
      raw("GET", "/apps/app-id/channels"),
      400,
      "invalid_input",
      "Missing authentication query parameters"
    ],
    ["an empty query", raw("GET", "/apps/app-id/channels?"), 400, "invalid_input", "Query string is empty or invalid"],
    [
      "a repeated auth_key",
      raw("GET", "/apps/app-id/channels?auth_key=app-key&auth_key=app-key"),
      400,
      "invalid_input",
      "Invalid authentication query parameters: duplicate field `auth_key`"
    ],
    [
      "an unknown key",
      signed("GET", "/apps/app-id/channels", { key: "nope" }),
      404,
      "app_not_found",
      "Application key not found or invalid: Invalid app key"
    ],
    [
      "another app's id in the path",
      signed("GET", "/apps/other/channels"),
      401,
      "auth_failed",
      "Authenticated app does not match route app_id"
    ],
    [
      "a missing timestamp",
      raw("GET", "/apps/app-id/channels?auth_key=app-key&auth_signature=x"),
      401,
      "auth_failed",
      "auth_timestamp is missing"
    ],
    [
      "a non-integer timestamp",
      raw("GET", "/apps/app-id/channels?auth_key=app-key&auth_timestamp=1.5"),
      401,
      "auth_failed",
      "Invalid auth_timestamp format"
    ],
    [
      "a POST without body_md5",
      signed("POST", "/apps/app-id/events", { body: "{}", bodyMd5: false }),
      401,
      "auth_failed",
      "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
    ],
    [
      "body_md5 on a GET (the Node SDK's createSignedQueryString mistake)",
      signed("GET", "/apps/app-id/channels", { bodyMd5: true }),
      401,
      "auth_failed",
      "body_md5 must not be present in query parameters for GET requests"
    ],
    [
      "a path signed unencoded but sent encoded (the Node SDK's path mistake)",
      signed("GET", "/apps/app-id/channels/presence-room%231/users", {
        signPath: "/apps/app-id/channels/presence-room#1/users"
      }),
      401,
      "auth_failed",
      "Invalid API signature"
    ],
    [
      "a query value sent unencoded so '+' reads as a space",
      signed("GET", "/apps/app-id/channels", {
        query: [["filter_by_prefix", "a+b"]],
        signQuery: [
          ["auth_key", "app-key"],
          ["auth_timestamp", "0"],
          ["auth_version", "1.0"],
          ["filter_by_prefix", "a+b"]
        ]
      }),
      401,
      "auth_failed",
      "Invalid API signature"
    ]
  ]
  for (const [name, request, status, code, error] of cases) {
    it.effect(`rejects ${name}`, () =>
      Effect.gen(function* () {
        const answer = yield* request
        expect(answer).toMatchObject({ status, json: { code, error, status } })
      }).pipe(Effect.provide(Emulator.layer()))
    )
  }

  it.effect("uses the Effect clock for the timestamp window", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_000_000_000)
      const stale = yield* signed("GET", "/apps/app-id/channels", { timestamp: 1_000_000 - 601 })
      expect(stale).toMatchObject({ status: 401, json: { error: "Timestamp expired or too far in the future" } })
      const fresh = yield* signed("GET", "/apps/app-id/channels", { timestamp: 1_000_000 - 600 })
      assert.strictEqual(fresh.status, 200)
    }).pipe(Effect.provide(Emulator.layer()))
  )

  it.effect("verifies each app with its own secret", () =>
    Effect.gen(function* () {
      const ok = yield* signed("GET", "/apps/second/channels", { key: "key-2", secret: "secret-2" })
      assert.strictEqual(ok.status, 200)
      const wrong = yield* signed("GET", "/apps/second/channels", { key: "key-2", secret: "app-secret" })
      assert.strictEqual(wrong.status, 401)
    }).pipe(
      Effect.provide(
        Emulator.layer({ apps: [Emulator.defaultApp, { id: "second", key: "key-2", secret: "secret-2" }] })
      )
    )
  )

  it.effect("checks the signature over the raw, still-encoded path", () =>
    Effect.gen(function* () {
      const answer = yield* post("/apps/app-id/users/user%2Fwith%20spaces/force_reconnect", "")
      expect(answer).toMatchObject({ status: 200, json: { ok: true } })
      const hexCase = yield* signed("POST", "/apps/app-id/users/user%2fwith%20spaces/force_reconnect", {
        body: "",
        signPath: "/apps/app-id/users/user%2Fwith%20spaces/force_reconnect"
      })
      assert.strictEqual(hexCase.status, 401)
    }).pipe(Effect.provide(Emulator.layer()))
  )
})

describe("channel and user signatures", () => {
  const go = { id: "3", key: "278d425bdf160c739803", secret: "7ad3773142a6692b25b8" }

  it("accepts the Go SDK's private and presence vectors", () => {
    assert.isTrue(
      Verify.verifyChannelAuth(
        go,
        "1234.1234",
        "private-foobar",
        "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
        undefined
      )
    )
    assert.isTrue(
      Verify.verifyChannelAuth(
        go,
        "1234.1234",
        "presence-foobar",
        "278d425bdf160c739803:6aa46f081231a05c0d8a13377261ec8d23671be2d64764e0681fb44dd39a57ad",
        '{"user_id":"10","user_info":{"name":"Mr. Sockudo"}}'
      )
    )
  })

  it("rejects channel_data signed into a private channel's auth (the Node SDK's encrypted-channel mistake)", () => {
    const node = { id: "1", key: "f00d", secret: "tofu" }
    const channel = "private-encrypted-bla"
    assert.isFalse(
      Verify.verifyChannelAuth(
        node,
        "123.456",
        channel,
        "f00d:962c48b78bf93d98ff4c92ee7dff04865821455b7b401e9d60a9e0a90af2c105",
        '"foo"'
      )
    )
    assert.isTrue(
      Verify.verifyChannelAuth(
        node,
        "123.456",
        channel,
        "f00d:43d808e37d261f4e02402a739649ba29a6854cb978efdbc92892cd744c567030",
        '"foo"'
      )
    )
  })

  it("compares the whole auth string, key prefix included", () => {
    const auth = `other:${hmac("app-secret", "1.1:private-a")}`
    assert.isFalse(Verify.verifyChannelAuth(app, "1.1", "private-a", auth, undefined))
  })

  it("checks only the signature part of a sign-in (Go SDK vector)", () => {
    const keyed = { id: "1", key: "key", secret: "secret" }
    const signature = "e4c63b82c1e1d0955901f6a29ca51b244155bafda93968bc5664010f5ba54a41"
    assert.isTrue(Verify.verifySignin(keyed, "12345.12345", `key:${signature}`, '{"id":"1234"}'))
    assert.isTrue(Verify.verifySignin(keyed, "12345.12345", `anything:${signature}`, '{"id":"1234"}'))
    assert.isFalse(Verify.verifySignin(keyed, "12345.12345", signature, '{"id":"1234"}'))
  })
})

/** The server's exact error body (reference 1.3): `error`, `code`, `status`, in that order. */
const envelope = (status: number, code: string, error: string) => JSON.stringify({ error, code, status })

/** Sends `url` with a signature over exactly `toSign`, to model one SDK mistake precisely. */
const signedOver = (method: string, url: string, toSign: string, body?: string) =>
  raw(method, `${url}&auth_signature=${hmac("app-secret", toSign)}`, {
    ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } })
  })

const authQuery = "auth_key=app-key&auth_timestamp=0&auth_version=1.0"

const invalidChars = (channel: string, chars: string) => ({
  error: `Channel name contains invalid characters: '${channel}' (invalid chars: [${chars}])`,
  code: "invalid_input",
  status: 400
})

const expectRejected = (
  answer: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly text: string },
  status: number,
  code: string,
  error: string
) => {
  expect({ status: answer.status, text: answer.text }).toEqual({ status, text: envelope(status, code, error) })
  assert.strictEqual(answer.headers["content-type"], "application/json")
}

describe("requests signed the ways SDKs get wrong are rejected as the server rejects them (reference 2.3, 11)", () => {
  describe("path segments: the server signs the raw path exactly as it arrives", () => {
    const base = "/apps/app-id/channels"
    for (const [char, encoded, consistent] of [
      ["@", "%40", { status: 200, json: { occupied: false } }],
      // Sockudo 5.0.1 refuses `,` and `;` in channel names, once the signature has passed.
      [",", "%2C", { status: 400, json: invalidChars("room,1", "','") }],
      [";", "%3B", { status: 400, json: invalidChars("room;1", "';'") }],
      ["=", "%3D", { status: 200, json: { occupied: false } }]
    ] as const) {
      const rawPath = `${base}/room${char}1`
      const encodedPath = `${base}/room${encoded}1`
      it.effect(
        `'${char}': signed unencoded but sent encoded, or the reverse, is 401; either one consistently is 200`,
        () =>
          Effect.gen(function* () {
            expectRejected(
              yield* signed("GET", encodedPath, { signPath: rawPath }),
              401,
              "auth_failed",
              "Invalid API signature"
            )
            expectRejected(
              yield* signed("GET", rawPath, { signPath: encodedPath }),
              401,
              "auth_failed",
              "Invalid API signature"
            )
            // not stricter than the server: it signs whatever path arrives, encoded or not
            for (const path of [rawPath, encodedPath]) {
              const ok = yield* signed("GET", path)
              expect({ path, status: ok.status, json: ok.json }).toEqual({ path, ...consistent })
            }
          }).pipe(Effect.provide(Emulator.layer()))
      )
    }

    it.effect("'#' signed unencoded (the Node SDK) while the URL carries %23 is 401", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* signed("GET", `${base}/presence-room%231/users`, { signPath: `${base}/presence-room#1/users` }),
          401,
          "auth_failed",
          "Invalid API signature"
        )
        // signed as sent, it passes verification and reaches the channel-name rules (room#1 is
        // a user-limited channel, refused outside a namespace that allows them)
        expectRejected(
          yield* signed("GET", `${base}/presence-room%231/users`),
          400,
          "invalid_input",
          "User-limited channels are not allowed in this channel namespace"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("'#' sent unencoded cuts the URL at a fragment: the query never arrives, 400", () =>
      Effect.gen(function* () {
        const signature = hmac("app-secret", `GET\n${base}/presence-room#1/users\n${authQuery}`)
        const answer = yield* raw("GET", `${base}/presence-room#1/users?${authQuery}&auth_signature=${signature}`)
        expectRejected(answer, 400, "invalid_input", "Missing authentication query parameters")
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("';' stays in the path segment, as in the server's router", () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        // The channel-name rules see the whole segment, `;` included (and refuse it).
        for (const path of [`${base}/presence-room;1/users`, `${base}/presence-room%3B1/users`]) {
          const users = yield* signed("GET", path)
          expect({ path, status: users.status, json: users.json }).toEqual({
            path,
            status: 400,
            json: invalidChars("presence-room;1", "';'")
          })
        }
        const channel = yield* signed("GET", `${base}/room;2`, { query: [["info", "subscription_count"]] })
        expect(channel).toMatchObject({ status: 400, json: invalidChars("room;2", "';'") })
        const log = yield* emulator.requests
        expect(log.map((r) => r.url.split("?")[0])).toEqual([
          `${base}/presence-room;1/users`,
          `${base}/presence-room%3B1/users`,
          `${base}/room;2`
        ])
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("a user id with '/' and spaces signed unencoded (the Node SDK) is 401", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* signed("POST", "/apps/app-id/users/user%2Fwith%20spaces/terminate_connections", {
            body: "",
            signPath: "/apps/app-id/users/user/with spaces/terminate_connections"
          }),
          401,
          "auth_failed",
          "Invalid API signature"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("a path signed without its /apps/{appId} prefix (createSignedQueryString's '/event') is 401", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* signed("GET", "/apps/app-id/channels", { signPath: "/channels" }),
          401,
          "auth_failed",
          "Invalid API signature"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )
  })

  describe("query: the server signs every pair decoded, keys lower-cased, byte-sorted", () => {
    it.effect("a value signed still percent-encoded is 401", () =>
      Effect.gen(function* () {
        const url = `/apps/app-id/channels?${authQuery}&info=user_count%2Csubscription_count`
        expectRejected(
          yield* signedOver(
            "GET",
            url,
            `GET\n/apps/app-id/channels\n${authQuery}&info=user_count%2Csubscription_count`
          ),
          401,
          "auth_failed",
          "Invalid API signature"
        )
        const ok = yield* signedOver(
          "GET",
          url,
          `GET\n/apps/app-id/channels\n${authQuery}&info=user_count,subscription_count`
        )
        assert.strictEqual(ok.status, 200, ok.text)
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("an '&' sent unencoded inside a value (the Node SDK) splits it into two pairs: 401", () =>
      Effect.gen(function* () {
        const url = `/apps/app-id/channels?${authQuery}&filter_by_prefix=a&b`
        expectRejected(
          yield* signedOver("GET", url, `GET\n/apps/app-id/channels\n${authQuery}&filter_by_prefix=a&b`),
          401,
          "auth_failed",
          "Invalid API signature"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("keys signed in their original case, or pairs signed unsorted, are 401", () =>
      Effect.gen(function* () {
        const url = `/apps/app-id/channels?Filter_By_Prefix=x&${authQuery}`
        expectRejected(
          yield* signedOver("GET", url, `GET\n/apps/app-id/channels\nFilter_By_Prefix=x&${authQuery}`),
          401,
          "auth_failed",
          "Invalid API signature"
        )
        const lowered = yield* signedOver("GET", url, `GET\n/apps/app-id/channels\n${authQuery}&filter_by_prefix=x`)
        assert.strictEqual(lowered.status, 200, lowered.text)
        const unsorted = `/apps/app-id/channels?${authQuery}&info=subscription_count&filter_by_prefix=p`
        expectRejected(
          yield* signedOver(
            "GET",
            unsorted,
            `GET\n/apps/app-id/channels\n${authQuery}&info=subscription_count&filter_by_prefix=p`
          ),
          401,
          "auth_failed",
          "Invalid API signature"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("a timestamp in milliseconds (Date.now() unscaled) is 401", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(1_700_000_000_000)
        expectRejected(
          yield* signed("GET", "/apps/app-id/channels", { timestamp: 1_700_000_000_000 }),
          401,
          "auth_failed",
          "Timestamp expired or too far in the future"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("no auth_signature is 401; a URL signed twice (a retry re-signing a signed URL) is 400", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* raw("GET", `/apps/app-id/channels?${authQuery}`),
          401,
          "auth_failed",
          "Invalid API signature"
        )
        expectRejected(
          yield* raw("GET", `/apps/app-id/channels?${authQuery}&auth_signature=a&auth_signature=b`),
          400,
          "invalid_input",
          "Invalid authentication query parameters: duplicate field `auth_signature`"
        )
        expectRejected(
          yield* signed("POST", "/apps/app-id/events", {
            body: "{}",
            query: [["body_md5", md5("{}")]]
          }),
          400,
          "invalid_input",
          "Invalid authentication query parameters: duplicate field `body_md5`"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )
  })

  describe("body_md5: required on every POST, forbidden on every other method", () => {
    it.effect("on a GET, in any letter case, and on a DELETE: 401 naming the method", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* signed("GET", "/apps/app-id/channels", { bodyMd5: true }),
          401,
          "auth_failed",
          "body_md5 must not be present in query parameters for GET requests"
        )
        expectRejected(
          yield* signed("GET", "/apps/app-id/channels", { query: [["BODY_MD5", md5("")]] }),
          401,
          "auth_failed",
          "body_md5 must not be present in query parameters for GET requests"
        )
        expectRejected(
          yield* signed("DELETE", "/apps/app-id/channels/chat/messages/m1/annotations/a1", { bodyMd5: true }),
          401,
          "auth_failed",
          "body_md5 must not be present in query parameters for DELETE requests"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("a POST with an empty body still needs it, as the md5 of the empty string", () =>
      Effect.gen(function* () {
        const path = "/apps/app-id/users/u1/terminate_connections"
        const required =
          "body_md5 is required and must be non-empty in query parameters for POST requests with a non-empty body"
        expectRejected(yield* signed("POST", path, { body: "", bodyMd5: false }), 401, "auth_failed", required)
        expectRejected(
          yield* signed("POST", path, { body: "", bodyMd5: false, query: [["body_md5", ""]] }),
          401,
          "auth_failed",
          required
        )
        // the md5 of a body that was not sent ("{}"), and an upper-case md5
        expectRejected(
          yield* signedOver("POST", `${path}?${authQuery}&body_md5=${md5("{}")}`, "unused", ""),
          401,
          "auth_failed",
          "body_md5 mismatch"
        )
        expectRejected(
          yield* signedOver("POST", `${path}?${authQuery}&body_md5=${md5("").toUpperCase()}`, "unused", ""),
          401,
          "auth_failed",
          "body_md5 mismatch"
        )
        const ok = yield* signed("POST", path, { body: "" })
        expect(ok).toMatchObject({ status: 200, json: { ok: true } })
      }).pipe(Effect.provide(Emulator.layer()))
    )
  })

  describe("channel auth: channel_data is signed for presence- channels only (reference 7.1)", () => {
    it("rejects the Python SDK's private-encrypted vector, which signs presence data into it", () => {
      const python = { id: "1234", key: "f00d", secret: "tofu" }
      const channelData = '{"user_id":"foo","user_info":{}}'
      const channel = "private-encrypted-bla"
      const pySdk = "f00d:0a1e5e682436bc35f8abd6b1b22df7bcee7e436ec9801f15fb2e61500f39ba19"
      const server = "f00d:43d808e37d261f4e02402a739649ba29a6854cb978efdbc92892cd744c567030"
      assert.isFalse(Verify.verifyChannelAuth(python, "123.456", channel, pySdk, channelData))
      assert.isTrue(Verify.verifyChannelAuth(python, "123.456", channel, server, channelData))
      assert.strictEqual(Verify.expectedChannelAuth(python, "123.456", channel, channelData), server)
    })

    it("rejects a presence auth signed without the channel_data the client sends", () => {
      const channelData = '{"user_id":"u1"}'
      const withoutData = `app-key:${hmac("app-secret", "1.1:presence-room")}`
      const withData = `app-key:${hmac("app-secret", `1.1:presence-room:${channelData}`)}`
      assert.isFalse(Verify.verifyChannelAuth(app, "1.1", "presence-room", withoutData, channelData))
      assert.isTrue(Verify.verifyChannelAuth(app, "1.1", "presence-room", withData, channelData))
    })

    it.effect("a simulated client subscribing with the Node SDK's private-channel auth is refused", () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.Emulator
        const client = yield* emulator.connect()
        const channel = "private-encrypted-orders"
        const channelData = '"foo"'
        const nodeSdk = `app-key:${hmac("app-secret", `${client.socketId}:${channel}:${channelData}`)}`
        const refused = yield* Effect.flip(client.subscribe(channel, { auth: nodeSdk, channel_data: channelData }))
        assert.strictEqual(refused._tag, "EmulatorClientError")
        const server = `app-key:${hmac("app-secret", `${client.socketId}:${channel}`)}`
        yield* client.subscribe(channel, { auth: server, channel_data: channelData })
      }).pipe(Effect.provide(Emulator.layer()))
    )
  })

  describe("other mistakes of reference 11", () => {
    it.effect("an annotation published with snake_case client_id (ignored by the server) lacks its client id", () =>
      Effect.gen(function* () {
        const published = yield* post("/apps/app-id/events", { name: "m", channel: "chat", data: "x", info: "" })
        const serial = (published.json as { channels: { chat: { message_serial: string } } }).channels.chat
          .message_serial
        const path = `/apps/app-id/channels/chat/messages/${encodeURIComponent(serial)}/annotations`
        const snake = yield* post(path, { type: "reactions:distinct.v1", name: "like", client_id: "u1" })
        expectRejected(snake, 400, "invalid_input", "annotation client_id is required for this annotation type")
        const camel = yield* post(path, { type: "reactions:distinct.v1", name: "like", clientId: "u1" })
        assert.strictEqual(camel.status, 200, camel.text)
      }).pipe(
        Effect.provide(Emulator.layer({ features: { history: true, versionedMessages: true, annotations: true } }))
      )
    )

    it.effect("a revocation without jti or client_id is 401, not 400", () =>
      Effect.gen(function* () {
        expectRejected(
          yield* post("/apps/app-id/revocations", {}),
          401,
          "auth_failed",
          "revocation requires jti or client_id"
        )
      }).pipe(Effect.provide(Emulator.layer()))
    )

    it.effect("is no stricter than the server: a history limit above the maximum is clamped, not refused", () =>
      Effect.gen(function* () {
        const answer = yield* signed("GET", "/apps/app-id/channels/chat/history", { query: [["limit", "1000"]] })
        expect(answer).toMatchObject({ status: 200, json: { limit: 100 } })
      }).pipe(Effect.provide(Emulator.layer({ features: { history: true } })))
    )
  })
})
