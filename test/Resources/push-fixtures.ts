/**
 * Push request inputs and server answers shaped as the server reference (section 3.12) describes
 * them, with the same field names and casing.
 */
import type * as Push from "../../src/Resources/Push.ts"

export const device: Push.DeviceRegistration = {
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  metadata: { model: "Pixel 9" },
  push: { recipient: { transportType: "gcm", registrationToken: "fcm-token-1" } }
}

/** The DeviceDetails body the SDK sends for {@link device}. */
export const deviceBody = {
  appId: "app-id",
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  metadata: { model: "Pixel 9" },
  push: { recipient: { transportType: "gcm", registrationToken: "fcm-token-1" }, state: "ACTIVE" },
  deviceSecret: ""
}

export const deviceResponse: Push.PushDevice = {
  appId: "app-id",
  id: "device-1",
  clientId: "user-1",
  formFactor: "phone",
  platform: "android",
  timezone: "Europe/Paris",
  locale: "fr-FR",
  lastActiveAtMs: 0,
  pushState: "ACTIVE",
  pushFailureCount: 0,
  recipient: { transportType: "gcm", provider: "fcm", tokenHash: "hash-1" }
}

export const webDeviceResponse: Push.PushDevice = {
  ...deviceResponse,
  id: "browser-7",
  clientId: null,
  formFactor: "desktop",
  platform: "browser",
  pushState: "FAILING",
  pushFailureCount: 2,
  recipient: { transportType: "web", provider: "webPush", tokenHash: "hash-7" }
}

export const registration = {
  change: "inserted",
  tokenHash: "hash-1",
  device: deviceResponse,
  deviceIdentityToken: "dit-AbC_123"
}

export const template: Push.NewTemplate = {
  templateId: "order-shipped",
  defaultLocale: "en",
  locales: {
    en: { title: "Order shipped", body: "{{order}} is on its way" },
    "fr-FR": { title: "Commande expédiée", body: "{{order}} est en route", sound: "default", collapseKey: "orders" }
  },
  providerOverrides: { apns: { provider: "apns", payload: { aps: { "thread-id": "orders" } } } }
}

export const templateResponse: Push.NotificationTemplate = { appId: "app-id", ...template }

export const subscription: Push.NewChannelSubscription = {
  channel: "orders",
  deviceId: "device-1",
  clientId: "user-1",
  provider: "fcm",
  tokenHash: "hash-1"
}

export const subscriptionResponse: Push.ChannelSubscription = { appId: "app-id", ...subscription }

export const credential: Push.PushCredential = {
  app_id: "app-id",
  credential_id: "webpush",
  provider: "webPush",
  version: 1
}

export const accepted: Push.PublishAccepted = {
  publishId: "pub-1",
  status: "accepted",
  expectedRecipients: 2,
  fanoutRegime: "fastPath",
  renderedPayloads: [
    { provider: "fcm", payload: { notification: { title: "Order shipped" } }, usedOverride: false },
    { provider: "apns", payload: { aps: { alert: { title: "Order shipped" } } }, usedOverride: true }
  ]
}

export const status: Push.PublishStatus = {
  appId: "app-id",
  publishId: "pub-1",
  state: "partiallySucceeded",
  counters: {
    planned: 3,
    dispatched: 3,
    succeeded: 2,
    failed: 1,
    expired: 0,
    retryScheduled: 1,
    retryAttempted: 1,
    deadLettered: 0
  },
  fanoutRegime: "fastPath",
  retryAfterMs: null,
  errorReason: null
}

export const deadLetter: Push.DeadLetter = {
  deadLetterId: "dl-1",
  appId: "app-id",
  publishId: "pub-1",
  provider: "apns",
  stage: "dispatch",
  key: "pub-1:device-1",
  reason: "BadDeviceToken",
  occurredAtMs: 1_700_000_000_000,
  replayable: true
}

/** A status with none of the optional fields. */
export const queuedStatus: Push.PublishStatus = {
  appId: "app-id",
  publishId: "pub-2",
  state: "queued",
  counters: { ...status.counters, dispatched: 0, succeeded: 0, failed: 0, retryScheduled: 0, retryAttempted: 0 }
}

/** A dead letter recorded before a provider was known. */
export const stageDeadLetter: Push.DeadLetter = {
  deadLetterId: "dl-2",
  appId: "app-id",
  publishId: "pub-2",
  stage: "planning",
  key: "pub-2",
  reason: "template missing",
  occurredAtMs: 1_700_000_000_500,
  replayable: false
}

export const page = <A>(items: ReadonlyArray<A>, next_cursor: string | null = null) => ({
  items,
  next_cursor,
  has_more: next_cursor !== null
})

export const serverError = (status: number, code: string, error: string) => ({ error, code, status })
