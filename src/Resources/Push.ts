/**
 * Push notifications (Sockudo's `push` feature): provider credentials, templates, device
 * registrations, channel subscriptions, publishing (now, in batches, scheduled), publish status,
 * dead letters and delivery reports.
 *
 * Request bodies are modelled with Schema and checked before anything is sent, including the
 * rules the server only enforces in its store (where a violation comes back as a 500). The
 * fields the server insists on but overwrites (`appId`, a device's `deviceSecret`) are filled in
 * by the SDK. Push JSON is camelCase, except publish target fields (`device_id`, `client_id`),
 * list envelopes (`next_cursor`, `has_more`) and credential responses, which are snake_case: the
 * Schemas keep the server's names exactly.
 *
 * Every request says which capability it uses: `push-admin`, or `push-subscribe` with the
 * device's identity token when the call passes `deviceIdentityToken`.
 *
 * Retries: a publish carries a `publishId` (the caller's, or one generated when
 * `autoIdempotency` is on, kept across retries of the same Effect), which the server dedupes for
 * 24 hours, so it is retried like a read. Upserts, deletes and reads are retried too. What would
 * not survive a second run (a publish without `publishId`, a dead-letter replay, a first device
 * activation whose identity token would be lost) is only retried after a 429.
 *
 * Each area's schemas and operations live in `Push/` (`Credentials`, `Templates`, `Devices`,
 * `Subscriptions`, `Publish`, `Delivery`, with what they share in `Common` and `Request`); this
 * module assembles them into the `push` group and re-exports their public names.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { Http } from "../Http.ts"
import { SockudoConfig } from "../SockudoConfig.ts"
import * as Credentials from "./Push/Credentials.ts"
import * as Delivery from "./Push/Delivery.ts"
import * as Devices from "./Push/Devices.ts"
import * as Publish from "./Push/Publish.ts"
import { makeContext } from "./Push/Request.ts"
import * as Subscriptions from "./Push/Subscriptions.ts"
import * as Templates from "./Push/Templates.ts"

export {
  type DeviceAccess,
  type PageOptions,
  type PushError,
  PushPage,
  PushProvider
} from "./Push/Common.ts"
export { NewCredential, PushCredential } from "./Push/Credentials.ts"
export {
  DeadLetter,
  type DeadLetterListOptions,
  DeadLetterReplay,
  DeliveryEvent,
  DeliveryReport,
  FailureClass
} from "./Push/Delivery.ts"
export {
  DeviceDetails,
  DevicePushState,
  DeviceRegistration,
  DeviceRegistrationResult,
  FormFactor,
  Platform,
  PushDevice,
  PushRecipient,
  RemovedDevices
} from "./Push/Devices.ts"
export {
  BatchPublishAccepted,
  PublishAccepted,
  type PublishOptions,
  PublishRequest,
  PublishStatus,
  PublishTarget,
  PushPayload,
  ScheduledPublishRequest,
  target
} from "./Push/Publish.ts"
export {
  ChannelSubscription,
  DeletedSubscriptions,
  NewChannelSubscription,
  type SubscriptionListOptions,
  type SubscriptionSelector
} from "./Push/Subscriptions.ts"
export { NewTemplate, NotificationTemplate, ProviderOverride, TemplateContent } from "./Push/Templates.ts"

/**
 * Builds the push operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const context = makeContext(yield* SockudoConfig, yield* Http)
  return {
    credentials: Credentials.make(context),
    templates: Templates.make(context),
    devices: Devices.make(context),
    subscriptions: Subscriptions.make(context),
    ...Publish.make(context),
    ...Delivery.make(context)
  } as const
})

/**
 * The push operations.
 *
 * @since 0.1.0
 */
export type Push = Effect.Success<typeof make>
