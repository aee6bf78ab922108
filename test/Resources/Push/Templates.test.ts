import { assert, describe, expect } from "@effect/vitest"
import { Effect } from "effect"
import * as Push from "../../../src/Resources/Push.ts"
import * as SockudoTest from "../../../src/testing/index.ts"
import { requests, sequence } from "../../support/harness.ts"
import * as F from "./fixtures.ts"
import { answer, decodeSentBody, expectSent, rejects, sent, test } from "./fixtures.ts"

describe("push.templates", () => {
  test(
    "create POSTs the template with appId and decodes the 201 echo",
    (s) =>
      Effect.gen(function* () {
        const created = yield* s.push.templates.create(F.template)
        const request = yield* sent
        expectSent(request, { method: "POST", path: "/apps/app-id/push/templates", body: F.templateResponse })
        assert.doesNotThrow(() => decodeSentBody(Push.NotificationTemplate, request))
        assert.deepStrictEqual(created, F.templateResponse)
      }),
    answer(201, F.templateResponse)
  )

  test(
    "list, get and delete use the percent-encoded template id",
    (s) =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* s.push.templates.list(), F.page([F.templateResponse]))
        assert.deepStrictEqual(yield* s.push.templates.get("promo/spring sale#1"), F.templateResponse)
        assert.isUndefined(yield* s.push.templates.delete("promo/spring sale#1"))
        const [list, get, del] = yield* requests
        expectSent(list, { method: "GET", path: "/apps/app-id/push/templates" })
        expectSent(get, { method: "GET", path: "/apps/app-id/push/templates/promo%2Fspring%20sale%231" })
        expectSent(del, { method: "DELETE", path: "/apps/app-id/push/templates/promo%2Fspring%20sale%231" })
      }),
    sequence(
      SockudoTest.json(200, F.page([F.templateResponse])),
      SockudoTest.json(200, F.templateResponse),
      SockudoTest.text(204, "")
    )
  )

  test(
    "an unknown template is a SockudoNotFoundError with the server's code",
    (s) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(s.push.templates.get("nope"))
        expect(error).toMatchObject({ _tag: "SockudoNotFoundError", code: "not_found", message: "template not found" })
      }),
    answer(404, F.serverError(404, "not_found", "template not found"))
  )
})

describe("push validation: nothing is sent", () => {
  rejects([
    [
      "a template whose default locale has no content",
      (s) => s.push.templates.create({ ...F.template, defaultLocale: "de" }),
      "template.defaultLocale",
      "template.defaultLocale must be one of locales"
    ],
    [
      "a template locale without a title",
      (s) => s.push.templates.create({ ...F.template, locales: { en: { title: "", body: "b" } } }),
      "template.locales.en.title"
    ],
    ["an empty template id", (s) => s.push.templates.get(""), "templateId"]
  ])
})
