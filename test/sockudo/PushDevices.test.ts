/**
 * Push device registrations against the real server and the emulator: activation as admin and
 * the one-time device identity token, re-registration (unchanged, updated, rotated), a device
 * acting for itself with its token under `push-subscribe`, listing page by page, and removal one
 * at a time or by client.
 */
import { expect } from "vitest"
import { differential, usePeers } from "./support/differential.ts"
import { freshPushState, seen, useClosedPort, wnsDevice } from "./support/push.ts"

const peers = usePeers()
const closed = useClosedPort()

differential(
  peers,
  "push devices: activation issues a token once; re-registration is unchanged, updated or rotated",
  async (s) => {
    await freshPushState(s.peer)
    const device = wnsDevice(s, closed(), "laptop", { clientId: s.name("ada") })
    const first = await s.sdk.run((sdk) => sdk.push.devices.activate(device))
    expect(first).toMatchObject({
      change: "inserted",
      device: {
        appId: "test-app",
        id: device.id,
        clientId: device.clientId,
        formFactor: "desktop",
        platform: "windows",
        timezone: "Europe/Warsaw",
        locale: "pl-PL",
        pushState: "ACTIVE",
        pushFailureCount: 0,
        recipient: { transportType: "wns", provider: "wns", tokenHash: first.tokenHash }
      }
    })
    expect(first.deviceIdentityToken).toBeDefined()

    const again = await s.sdk.run((sdk) => sdk.push.devices.activate(device))
    expect(again.change).toBe("unchanged")
    expect(again.deviceIdentityToken).toBeUndefined()
    expect(again.tokenHash).toBe(first.tokenHash)

    const moved = await s.sdk.run((sdk) =>
      sdk.push.devices.activate({ ...device, locale: "en-GB", timezone: "Europe/London" })
    )
    expect(moved).toMatchObject({ change: "updated", device: { locale: "en-GB", timezone: "Europe/London" } })
    expect(moved.deviceIdentityToken).toBeUndefined()
    expect(await s.sdk.run((sdk) => sdk.push.devices.get(device.id))).toMatchObject({ locale: "en-GB" })

    // A new channel URI is a new token hash.
    const rehome = {
      ...device,
      locale: "en-GB",
      timezone: "Europe/London",
      push: {
        recipient: { transportType: "wns" as const, channelUri: `https://127.0.0.1:${closed()}/wns/${device.id}/v2` }
      }
    }
    const rehomed = await s.sdk.run((sdk) => sdk.push.devices.activate(rehome))
    expect(rehomed.change).toBe("updated")
    expect(rehomed.tokenHash).not.toBe(first.tokenHash)

    // Rotation issues a new token (a change of the registration even with the same details), and
    // the old token stops working.
    const rotated = await s.sdk.run((sdk) => sdk.push.devices.activate(rehome, { rotateDeviceIdentityToken: true }))
    expect(rotated).toMatchObject({ change: "updated", tokenHash: rehomed.tokenHash })
    expect(rotated.deviceIdentityToken).toBeDefined()
    const oldToken = first.deviceIdentityToken!
    const newToken = rotated.deviceIdentityToken!
    expect(seen(await s.sdk.fail((sdk) => sdk.push.devices.get(device.id, { deviceIdentityToken: oldToken })))).toEqual(
      {
        tag: "SockudoAuthenticationError",
        status: 401,
        code: "auth_failed"
      }
    )
    expect(await s.sdk.run((sdk) => sdk.push.devices.get(device.id, { deviceIdentityToken: newToken }))).toMatchObject({
      id: device.id,
      recipient: { tokenHash: rotated.tokenHash }
    })
  }
)

differential(peers, "push devices: a device reads, updates and removes itself with its identity token", async (s) => {
  await freshPushState(s.peer)
  const phone = wnsDevice(s, closed(), "phone")
  const tablet = wnsDevice(s, closed(), "tablet", { formFactor: "tablet" })
  const mine = (await s.sdk.run((sdk) => sdk.push.devices.activate(phone))).deviceIdentityToken!
  const theirs = (await s.sdk.run((sdk) => sdk.push.devices.activate(tablet))).deviceIdentityToken!

  expect(await s.sdk.run((sdk) => sdk.push.devices.get(phone.id, { deviceIdentityToken: mine }))).toMatchObject({
    id: phone.id
  })
  // Another device's token is refused; so is any token for a device that does not exist.
  expect(seen(await s.sdk.fail((sdk) => sdk.push.devices.get(phone.id, { deviceIdentityToken: theirs })))).toEqual({
    tag: "SockudoAuthenticationError",
    status: 401,
    code: "auth_failed"
  })
  expect(
    seen(await s.sdk.fail((sdk) => sdk.push.devices.get(s.name("nobody"), { deviceIdentityToken: mine })))
  ).toEqual({ tag: "SockudoNotFoundError", status: 404, code: "not_found" })

  // Updating itself keeps the device's token; without an existing device there is nothing to update.
  const updated = await s.sdk.run((sdk) =>
    sdk.push.devices.update({ ...phone, locale: "de-DE" }, { deviceIdentityToken: mine })
  )
  expect(updated).toMatchObject({ change: "updated", device: { locale: "de-DE" } })
  expect(updated.deviceIdentityToken).toBeUndefined()
  expect(
    seen(
      await s.sdk.fail((sdk) => sdk.push.devices.update({ ...phone, locale: "fr-FR" }, { deviceIdentityToken: theirs }))
    )
  ).toEqual({ tag: "SockudoAuthenticationError", status: 401, code: "auth_failed" })
  expect(
    seen(
      await s.sdk.fail((sdk) =>
        sdk.push.devices.update(wnsDevice(s, closed(), "stranger"), { deviceIdentityToken: mine })
      )
    )
  ).toEqual({ tag: "SockudoAuthenticationError", status: 403, code: "forbidden" })
  expect(await s.sdk.run((sdk) => sdk.push.devices.get(phone.id))).toMatchObject({ locale: "de-DE" })

  // Removal with the wrong token is refused and changes nothing; with its own, the device is gone.
  expect(seen(await s.sdk.fail((sdk) => sdk.push.devices.delete(phone.id, { deviceIdentityToken: theirs })))).toEqual({
    tag: "SockudoAuthenticationError",
    status: 401,
    code: "auth_failed"
  })
  expect(await s.sdk.run((sdk) => sdk.push.devices.get(phone.id))).toMatchObject({ id: phone.id })
  await s.sdk.run((sdk) => sdk.push.devices.delete(phone.id, { deviceIdentityToken: mine }))
  expect(seen(await s.sdk.fail((sdk) => sdk.push.devices.get(phone.id)))).toEqual({
    tag: "SockudoNotFoundError",
    status: 404,
    code: "not_found"
  })
  // Gone for its token too; as admin, removing it again is not an error.
  expect(seen(await s.sdk.fail((sdk) => sdk.push.devices.delete(phone.id, { deviceIdentityToken: mine })))).toEqual({
    tag: "SockudoNotFoundError",
    status: 404,
    code: "not_found"
  })
  await s.sdk.run((sdk) => sdk.push.devices.delete(phone.id))
  expect((await s.sdk.run((sdk) => sdk.push.devices.list())).items.map((d) => d.id)).toEqual([tablet.id])
})

differential(peers, "push devices: listed page by page in id order", async (s) => {
  await freshPushState(s.peer)
  const ids = []
  for (const base of ["dev-c", "dev-a", "dev-e", "dev-b", "dev-d"]) {
    ids.push((await s.sdk.run((sdk) => sdk.push.devices.activate(wnsDevice(s, closed(), base)))).device.id)
  }
  const pages = []
  let cursor: string | undefined
  do {
    const page = await s.sdk.run((sdk) => sdk.push.devices.list({ limit: 2, cursor }))
    pages.push(page.items.map((d) => d.id))
    expect(page.has_more).toBe(page.next_cursor !== null)
    cursor = page.next_cursor ?? undefined
  } while (cursor !== undefined)
  expect(pages).toEqual([[s.name("dev-a"), s.name("dev-b")], [s.name("dev-c"), s.name("dev-d")], [s.name("dev-e")]])
  expect(pages.flat().sort()).toEqual(ids.sort())
  const all = await s.sdk.run((sdk) => sdk.push.devices.list({ limit: 5 }))
  expect(all).toMatchObject({ has_more: false, next_cursor: null })
  expect(all.items).toHaveLength(5)
})

differential(
  peers,
  "push devices: removeByClient removes every device of the client and their subscriptions",
  async (s) => {
    await freshPushState(s.peer)
    const ada = s.name("ada")
    const bob = s.name("bob")
    const channel = s.name("alerts")
    const devices = [
      wnsDevice(s, closed(), "ada-laptop", { clientId: ada }),
      wnsDevice(s, closed(), "ada-phone", { clientId: ada, formFactor: "phone" }),
      wnsDevice(s, closed(), "bob-laptop", { clientId: bob })
    ]
    for (const device of devices) {
      const { tokenHash } = await s.sdk.run((sdk) => sdk.push.devices.activate(device))
      await s.sdk.run((sdk) =>
        sdk.push.subscriptions.upsert({
          channel,
          deviceId: device.id,
          clientId: device.clientId,
          provider: "wns",
          tokenHash
        })
      )
    }
    expect(await s.sdk.run((sdk) => sdk.push.devices.removeByClient(ada))).toEqual({
      deleted: 2,
      consistency: "eventual"
    })
    expect((await s.sdk.run((sdk) => sdk.push.devices.list())).items.map((d) => d.id)).toEqual([s.name("bob-laptop")])
    expect((await s.sdk.run((sdk) => sdk.push.subscriptions.list({ channel }))).items.map((x) => x.deviceId)).toEqual([
      s.name("bob-laptop")
    ])
    expect(await s.sdk.run((sdk) => sdk.push.devices.removeByClient(ada))).toEqual({
      deleted: 0,
      consistency: "eventual"
    })
  }
)
