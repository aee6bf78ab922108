/**
 * Push configuration against the real server and the emulator: provider credentials (every
 * provider the server takes, a rotation, the list without secrets) and notification templates
 * (create, replace, list, read, delete). Devices, subscriptions and publishing have files of
 * their own (`Push*.test.ts`).
 */
import { expect } from "vitest"
import { differential, usePeers } from "./support/differential.ts"
import { freshPushState, seen } from "./support/push.ts"

const peers = usePeers()

differential(peers, "push credentials: every provider written, one rotated, listed without secrets", async (s) => {
  // Credentials cannot be deleted, so they are written under fixed ids (each provider's default,
  // plus one named APNs token credential): every run overwrites the same six.
  const put = s.sdk.run.bind(s.sdk)
  const fcm = await put((sdk) =>
    sdk.push.credentials.put({
      provider: "fcm",
      serviceAccountJson: { type: "service_account", project_id: "effect-sockudo", client_email: "push@example.iam" }
    })
  )
  expect(fcm).toEqual({ app_id: "test-app", credential_id: "fcm", provider: "fcm", version: 1 })
  expect(
    await put((sdk) =>
      sdk.push.credentials.put({
        provider: "apns",
        pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
      })
    )
  ).toEqual({ app_id: "test-app", credential_id: "apns", provider: "apns", version: 1 })
  expect(
    await put((sdk) =>
      sdk.push.credentials.put({
        provider: "apns",
        credentialId: "apns-token",
        teamId: "TEAM123456",
        keyId: "KEY1234567",
        privateKey: "-----BEGIN PRIVATE KEY-----\nMIGT\n-----END PRIVATE KEY-----"
      })
    )
  ).toEqual({ app_id: "test-app", credential_id: "apns-token", provider: "apns", version: 1 })
  expect(
    await put((sdk) =>
      sdk.push.credentials.put({ provider: "webPush", publicKey: "BPublicKey", privateKey: "private" })
    )
  ).toEqual({ app_id: "test-app", credential_id: "webpush", provider: "webPush", version: 1 })
  expect(
    await put((sdk) => sdk.push.credentials.put({ provider: "hms", hmsAppId: "10086", clientSecret: "hms-secret" }))
  ).toEqual({ app_id: "test-app", credential_id: "hms", provider: "hms", version: 1 })
  expect(
    await put((sdk) =>
      sdk.push.credentials.put({ provider: "wns", packageSid: "ms-app://s-1-15-2-1", clientSecret: "wns-secret" })
    )
  ).toEqual({ app_id: "test-app", credential_id: "wns", provider: "wns", version: 1 })
  // A new version under the same id replaces the stored one.
  expect(
    await put((sdk) =>
      sdk.push.credentials.put({ provider: "wns", version: 2, packageSid: "ms-app://s-1-15-2-2", clientSecret: "next" })
    )
  ).toMatchObject({ credential_id: "wns", version: 2 })

  const first = await put((sdk) => sdk.push.credentials.list({ limit: 4 }))
  expect(first.has_more).toBe(true)
  const rest = await put((sdk) => sdk.push.credentials.list({ limit: 4, cursor: first.next_cursor! }))
  expect(rest).toMatchObject({ has_more: false, next_cursor: null })
  // Ordered by credential id; the secrets never come back.
  expect([...first.items, ...rest.items]).toEqual([
    { app_id: "test-app", credential_id: "apns", provider: "apns", version: 1 },
    { app_id: "test-app", credential_id: "apns-token", provider: "apns", version: 1 },
    { app_id: "test-app", credential_id: "fcm", provider: "fcm", version: 1 },
    { app_id: "test-app", credential_id: "hms", provider: "hms", version: 1 },
    { app_id: "test-app", credential_id: "webpush", provider: "webPush", version: 1 },
    { app_id: "test-app", credential_id: "wns", provider: "wns", version: 2 }
  ])
})

differential(peers, "push templates: created, replaced, listed, read, deleted", async (s) => {
  await freshPushState(s.peer)
  const shipped = s.name("order-shipped")
  const welcome = s.name("welcome")
  const template = {
    templateId: shipped,
    defaultLocale: "en",
    locales: {
      en: { title: "Order {{data.order}} shipped", body: "It is on its way", sound: "chime" },
      pl: { title: "Zamówienie {{data.order}} wysłane", body: "Już jedzie", collapseKey: "orders" }
    },
    providerOverrides: { wns: { provider: "wns" as const, payload: { type: "toast", launch: "orders" } } }
  }
  const created = await s.sdk.run((sdk) => sdk.push.templates.create(template))
  expect(created).toEqual({ appId: "test-app", ...template })
  await s.sdk.run((sdk) =>
    sdk.push.templates.create({
      templateId: welcome,
      defaultLocale: "en",
      locales: { en: { title: "Hi", body: "Hello" } }
    })
  )
  // Creating under an existing id replaces the template.
  const replaced = await s.sdk.run((sdk) =>
    sdk.push.templates.create({ ...template, locales: { en: template.locales.en }, providerOverrides: undefined })
  )
  expect(replaced).toEqual({
    appId: "test-app",
    templateId: shipped,
    defaultLocale: "en",
    locales: { en: template.locales.en },
    providerOverrides: {}
  })
  expect(await s.sdk.run((sdk) => sdk.push.templates.get(shipped))).toEqual(replaced)

  const page = await s.sdk.run((sdk) => sdk.push.templates.list({ limit: 1 }))
  expect(page.items.map((t) => t.templateId)).toEqual([shipped])
  expect(page.has_more).toBe(true)
  const next = await s.sdk.run((sdk) => sdk.push.templates.list({ limit: 1, cursor: page.next_cursor! }))
  expect(next).toMatchObject({ items: [{ templateId: welcome }], has_more: false, next_cursor: null })

  await s.sdk.run((sdk) => sdk.push.templates.delete(shipped))
  expect(seen(await s.sdk.fail((sdk) => sdk.push.templates.get(shipped)))).toEqual({
    tag: "SockudoNotFoundError",
    status: 404,
    code: "not_found"
  })
  // Deleting what is not there is not an error.
  await s.sdk.run((sdk) => sdk.push.templates.delete(shipped))
  expect((await s.sdk.run((sdk) => sdk.push.templates.list())).items.map((t) => t.templateId)).toEqual([welcome])
})
