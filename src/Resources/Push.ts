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
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { type SockudoRequestError, SockudoValidationError } from "../Errors.ts"
import { type Decoder, Http, type PreparedBody, prepareBody, type Request, schemaDecoder } from "../Http.ts"
import { encode, type QueryParam } from "../Signer.ts"
import { SockudoConfig } from "../SockudoConfig.ts"
import * as Validation from "../Validation.ts"

const NonEmpty = Schema.String.check(Schema.isNonEmpty({ message: "must not be empty" }))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be an integer >= 0" }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0, { message: "must be an integer > 0" }))
const maxBytes = (max: number) =>
  Schema.makeFilter<string>((s) => Validation.byteLength(s) <= max || `must be at most ${max} bytes`)
const HttpsUrl = NonEmpty.check(
  Schema.makeFilter<string>((s) => (URL.canParse(s) && new URL(s).protocol === "https:") || "must be an https:// URL")
)
/** Any JSON value whose compact serialisation fits in `max` bytes. */
const JsonAtMost = (max: number) =>
  Schema.Unknown.check(
    Schema.makeFilter<unknown>((u) => {
      const json = Validation.toJson(u)
      if ("error" in json) return `must be JSON: ${json.error}`
      return Validation.byteLength(json.json) <= max || `must be at most ${max} bytes of JSON`
    })
  )

/**
 * Push providers, as the server names them (`webPush` is camelCase).
 *
 * @since 0.1.0
 */
export const PushProvider = Schema.Literals(["fcm", "apns", "webPush", "hms", "wns", "realtime"])
/** @since 0.1.0 */
export type PushProvider = typeof PushProvider.Type

/**
 * A device's kind.
 *
 * @since 0.1.0
 */
export const FormFactor = Schema.Literals(["phone", "tablet", "desktop", "tv", "car", "watch", "embedded", "other"])
/**
 * A device's operating system or runtime.
 *
 * @since 0.1.0
 */
export const Platform = Schema.Literals(["android", "ios", "browser", "windows", "macos", "watchos", "tvos", "other"])
/**
 * A device's delivery health: the server moves it to `FAILING`, then `FAILED`, as deliveries fail.
 *
 * @since 0.1.0
 */
export const DevicePushState = Schema.Literals(["ACTIVE", "FAILING", "FAILED"])

/**
 * Where a device receives pushes, tagged by `transportType` (`gcm` is FCM). Web push and WNS
 * addresses must be https URLs.
 *
 * @since 0.1.0
 */
export const PushRecipient = Schema.Union([
  Schema.Struct({ transportType: Schema.Literal("gcm"), registrationToken: NonEmpty }),
  Schema.Struct({ transportType: Schema.Literal("apns"), deviceToken: NonEmpty }),
  Schema.Struct({ transportType: Schema.Literal("web"), endpoint: HttpsUrl, p256dh: NonEmpty, auth: NonEmpty }),
  Schema.Struct({ transportType: Schema.Literal("hms"), registrationToken: NonEmpty }),
  Schema.Struct({ transportType: Schema.Literal("wns"), channelUri: HttpsUrl }),
  Schema.Struct({ transportType: Schema.Literal("realtime"), channel: NonEmpty })
]).annotate({ expected: "a recipient whose transportType is gcm, apns, web, hms, wns or realtime" })
/** @since 0.1.0 */
export type PushRecipient = typeof PushRecipient.Type

const devicePushFields = {
  recipient: PushRecipient,
  failureCount: Schema.optional(NonNegativeInt),
  errorReason: Schema.optional(Schema.String)
}
const reservedDevicePrefix = "__sockudo_client_scope__:"

const deviceFields = {
  id: NonEmpty.check(
    Schema.makeFilter<string>(
      (s) => !s.startsWith(reservedDevicePrefix) || `must not start with ${reservedDevicePrefix}`
    )
  ),
  clientId: Schema.optional(Schema.String),
  formFactor: FormFactor,
  platform: Platform,
  timezone: NonEmpty,
  locale: NonEmpty,
  metadata: Schema.optional(JsonAtMost(4096)),
  lastActiveAtMs: Schema.optional(NonNegativeInt)
}
const pushRatePolicy = Schema.optional(Schema.Struct({ capacity: PositiveInt, refillPerSecond: PositiveInt }))

/**
 * A device to register, as a caller describes it. `push.state` defaults to `"ACTIVE"`; the SDK
 * adds `appId` and the `deviceSecret` placeholder the server requires and overwrites.
 *
 * @since 0.1.0
 */
export const DeviceRegistration = Schema.Struct({
  ...deviceFields,
  push: Schema.Struct({ ...devicePushFields, state: Schema.optional(DevicePushState) }),
  pushRatePolicy
})
/** @since 0.1.0 */
export interface DeviceRegistration extends Schema.Schema.Type<typeof DeviceRegistration> {}

/**
 * The DeviceDetails body exactly as the server's decoder requires it (`appId`, `deviceSecret`
 * and `push.state` included).
 *
 * @since 0.1.0
 */
export const DeviceDetails = Schema.Struct({
  appId: Schema.String,
  ...deviceFields,
  push: Schema.Struct({ ...devicePushFields, state: DevicePushState }),
  pushRatePolicy,
  deviceSecret: Schema.String
})

/**
 * A registered device as the server reports it (no secrets; tokens only as `tokenHash`).
 *
 * @since 0.1.0
 */
export const PushDevice = Schema.Struct({
  appId: Schema.String,
  id: Schema.String,
  clientId: Schema.NullOr(Schema.String),
  formFactor: FormFactor,
  platform: Platform,
  timezone: Schema.String,
  locale: Schema.String,
  lastActiveAtMs: Schema.Number,
  pushState: DevicePushState,
  pushFailureCount: Schema.Number,
  recipient: Schema.Struct({
    transportType: Schema.Literals(["gcm", "apns", "web", "hms", "wns", "realtime"]),
    provider: PushProvider,
    tokenHash: Schema.String
  })
})
/** @since 0.1.0 */
export interface PushDevice extends Schema.Schema.Type<typeof PushDevice> {}

/**
 * The answer to a registration. `deviceIdentityToken` comes only for a new device or a rotation
 * and cannot be read again: store it (it is `Redacted` so it stays out of logs).
 *
 * @since 0.1.0
 */
export const DeviceRegistrationResult = Schema.Struct({
  change: Schema.Literals(["inserted", "unchanged", "updated"]),
  tokenHash: Schema.String,
  device: PushDevice,
  deviceIdentityToken: Schema.optionalKey(Schema.RedactedFromValue(Schema.String))
})
/** @since 0.1.0 */
export interface DeviceRegistrationResult extends Schema.Schema.Type<typeof DeviceRegistrationResult> {}

/**
 * `DELETE deviceRegistrations?clientId=`: how many devices were removed.
 *
 * @since 0.1.0
 */
export const RemovedDevices = Schema.Struct({ deleted: Schema.Number, consistency: Schema.String })
/** @since 0.1.0 */
export interface RemovedDevices extends Schema.Schema.Type<typeof RemovedDevices> {}

const subscriptionFields = {
  channel: NonEmpty,
  deviceId: NonEmpty,
  clientId: Schema.optional(Schema.String),
  provider: PushProvider,
  /** The device's `tokenHash`, from its registration. */
  tokenHash: NonEmpty,
  credentialVersion: Schema.optional(PositiveInt)
}

/**
 * A device's subscription to a channel's pushes, as a caller gives it.
 *
 * @since 0.1.0
 */
export const NewChannelSubscription = Schema.Struct(subscriptionFields)
/** @since 0.1.0 */
export interface NewChannelSubscription extends Schema.Schema.Type<typeof NewChannelSubscription> {}

/**
 * A channel subscription on the wire and in responses (`appId` required, set by the SDK).
 *
 * @since 0.1.0
 */
export const ChannelSubscription = Schema.Struct({ appId: Schema.String, ...subscriptionFields })
/** @since 0.1.0 */
export interface ChannelSubscription extends Schema.Schema.Type<typeof ChannelSubscription> {}

/**
 * `DELETE channelSubscriptions`: how many subscriptions were removed.
 *
 * @since 0.1.0
 */
export const DeletedSubscriptions = Schema.Struct({ deleted: Schema.Number })
/** @since 0.1.0 */
export interface DeletedSubscriptions extends Schema.Schema.Type<typeof DeletedSubscriptions> {}

/**
 * A provider-specific payload replacing the rendered one (at most 4096 bytes of JSON).
 *
 * @since 0.1.0
 */
export const ProviderOverride = Schema.Struct({ provider: PushProvider, payload: JsonAtMost(4096) })
/** @since 0.1.0 */
export interface ProviderOverride extends Schema.Schema.Type<typeof ProviderOverride> {}

/**
 * One locale of a template.
 *
 * @since 0.1.0
 */
export const TemplateContent = Schema.Struct({
  title: NonEmpty,
  body: NonEmpty,
  icon: Schema.optional(Schema.String),
  sound: Schema.optional(Schema.String),
  collapseKey: Schema.optional(Schema.String)
})

const templateFields = {
  templateId: NonEmpty,
  defaultLocale: NonEmpty,
  locales: Schema.Record(Schema.String, TemplateContent),
  providerOverrides: Schema.optional(
    Schema.Struct({
      fcm: Schema.optional(ProviderOverride),
      apns: Schema.optional(ProviderOverride),
      webPush: Schema.optional(ProviderOverride),
      hms: Schema.optional(ProviderOverride),
      wns: Schema.optional(ProviderOverride),
      realtime: Schema.optional(ProviderOverride)
    })
  )
}

/**
 * A notification template, as a caller gives it: `defaultLocale` must be one of `locales`.
 *
 * @since 0.1.0
 */
export const NewTemplate = Schema.Struct(templateFields).check(
  Schema.makeFilter((t) =>
    Object.hasOwn(t.locales, t.defaultLocale) ? undefined : { path: ["defaultLocale"], issue: "must be one of locales" }
  )
)
/** @since 0.1.0 */
export interface NewTemplate extends Schema.Schema.Type<typeof NewTemplate> {}

/**
 * A template on the wire and in responses (`appId` required, set by the SDK).
 *
 * @since 0.1.0
 */
export const NotificationTemplate = Schema.Struct({ appId: Schema.String, ...templateFields })
/** @since 0.1.0 */
export interface NotificationTemplate extends Schema.Schema.Type<typeof NotificationTemplate> {}

/**
 * Who a publish reaches, tagged by `type`. The fields are snake_case, as the server reads them;
 * {@link target} builds them. `recipient` targets need the admin capability (always used here).
 *
 * @since 0.1.0
 */
export const PublishTarget = Schema.Union([
  Schema.Struct({ type: Schema.Literal("device"), device_id: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("client"), client_id: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("channel"), channel: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("registeredTopic"), topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("userTopic"), topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("recipient"), recipient: PushRecipient }),
  Schema.Struct({ type: Schema.Literal("providerTopic"), provider: PushProvider, topic: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("providerCondition"), provider: PushProvider, condition: NonEmpty }),
  Schema.Struct({ type: Schema.Literal("indexedFilter"), filter: JsonAtMost(4096) })
]).annotate({
  expected:
    "a target whose type is device, client, channel, registeredTopic, userTopic, recipient, providerTopic, providerCondition or indexedFilter"
})
/** @since 0.1.0 */
export type PublishTarget = typeof PublishTarget.Type

/**
 * Constructors for publish targets: `target.device("d-1")` is `{ type: "device", device_id: "d-1" }`.
 *
 * @since 0.1.0
 */
export const target = {
  device: (deviceId: string): PublishTarget => ({ type: "device", device_id: deviceId }),
  client: (clientId: string): PublishTarget => ({ type: "client", client_id: clientId }),
  channel: (channel: string): PublishTarget => ({ type: "channel", channel }),
  registeredTopic: (topic: string): PublishTarget => ({ type: "registeredTopic", topic }),
  userTopic: (topic: string): PublishTarget => ({ type: "userTopic", topic }),
  recipient: (recipient: PushRecipient): PublishTarget => ({ type: "recipient", recipient }),
  providerTopic: (provider: PushProvider, topic: string): PublishTarget => ({ type: "providerTopic", provider, topic }),
  providerCondition: (provider: PushProvider, condition: string): PublishTarget => ({
    type: "providerCondition",
    provider,
    condition
  }),
  indexedFilter: (filter: unknown): PublishTarget => ({ type: "indexedFilter", filter })
}

/**
 * The notification: inline fields, or a `templateId` with `templateData`.
 *
 * @since 0.1.0
 */
export const PushPayload = Schema.Struct({
  templateId: Schema.optional(NonEmpty),
  templateData: Schema.optional(JsonAtMost(8192)),
  title: Schema.optional(Schema.String.check(maxBytes(256))),
  body: Schema.optional(Schema.String.check(maxBytes(4096))),
  icon: Schema.optional(HttpsUrl.check(maxBytes(2048))),
  sound: Schema.optional(Schema.String),
  collapseKey: Schema.optional(Schema.String)
})
/** @since 0.1.0 */
export interface PushPayload extends Schema.Schema.Type<typeof PushPayload> {}

const publishFields = {
  /** The dedupe key (kept 24 h or until `expiresAtMs`); generated when absent and `autoIdempotency` is on. */
  publishId: Schema.optional(NonEmpty),
  recipients: Schema.Array(PublishTarget).check(
    Schema.isBetweenLength(1, 1024, { message: "must list 1 to 1024 targets" })
  ),
  payload: PushPayload,
  providerOverrides: Schema.optional(Schema.Array(ProviderOverride)),
  /** Do not deliver before this time (Unix ms). */
  notBeforeMs: Schema.optional(NonNegativeInt),
  /** Drop undelivered notifications after this time (Unix ms). */
  expiresAtMs: Schema.optional(NonNegativeInt)
}

/**
 * A push publish.
 *
 * @since 0.1.0
 */
export const PublishRequest = Schema.Struct(publishFields)
/** @since 0.1.0 */
export interface PublishRequest extends Schema.Schema.Type<typeof PublishRequest> {}

/**
 * A scheduled publish: `notBeforeMs` is required.
 *
 * @since 0.1.0
 */
export const ScheduledPublishRequest = Schema.Struct({ ...publishFields, notBeforeMs: NonNegativeInt })
/** @since 0.1.0 */
export interface ScheduledPublishRequest extends Schema.Schema.Type<typeof ScheduledPublishRequest> {}

/**
 * 202 to a publish. `status` is `accepted` or `quota_exceeded` for a new publish; a duplicate
 * `publishId` reports the existing publish's state label.
 *
 * @since 0.1.0
 */
export const PublishAccepted = Schema.Struct({
  publishId: Schema.String,
  status: Schema.Literals([
    "accepted",
    "planning",
    "throttled",
    "dispatching",
    "cancelled",
    "succeeded",
    "partially_succeeded",
    "failed",
    "quota_exceeded",
    "expired",
    "dead_lettered"
  ]),
  expectedRecipients: Schema.Number,
  fanoutRegime: Schema.Literals(["fastPath", "shardPath"]),
  renderedPayloads: Schema.Array(
    Schema.Struct({ provider: PushProvider, payload: Schema.Unknown, usedOverride: Schema.Boolean })
  )
})
/** @since 0.1.0 */
export interface PublishAccepted extends Schema.Schema.Type<typeof PublishAccepted> {}

/**
 * 202 to a batch publish: one entry per request, in order.
 *
 * @since 0.1.0
 */
export const BatchPublishAccepted = Schema.Struct({ items: Schema.Array(PublishAccepted) })
/** @since 0.1.0 */
export interface BatchPublishAccepted extends Schema.Schema.Type<typeof BatchPublishAccepted> {}

/**
 * A publish's progress. `state` uses other names than {@link PublishAccepted}'s `status`
 * (`queued`, `partiallySucceeded`).
 *
 * @since 0.1.0
 */
export const PublishStatus = Schema.Struct({
  appId: Schema.String,
  publishId: Schema.String,
  state: Schema.Literals([
    "queued",
    "planning",
    "throttled",
    "quota_exceeded",
    "dispatching",
    "cancelled",
    "expired",
    "failed",
    "dead_lettered",
    "succeeded",
    "partiallySucceeded"
  ]),
  counters: Schema.Struct({
    planned: Schema.Number,
    dispatched: Schema.Number,
    succeeded: Schema.Number,
    failed: Schema.Number,
    expired: Schema.Number,
    retryScheduled: Schema.Number,
    retryAttempted: Schema.Number,
    deadLettered: Schema.Number
  }),
  fanoutRegime: Schema.optionalKey(Schema.NullOr(Schema.Literals(["fastPath", "shardPath"]))),
  retryAfterMs: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  errorReason: Schema.optionalKey(Schema.NullOr(Schema.String))
})
/** @since 0.1.0 */
export interface PublishStatus extends Schema.Schema.Type<typeof PublishStatus> {}

/**
 * A delivery that failed for good.
 *
 * @since 0.1.0
 */
export const DeadLetter = Schema.Struct({
  deadLetterId: Schema.String,
  appId: Schema.String,
  publishId: Schema.String,
  provider: Schema.optionalKey(PushProvider),
  stage: Schema.String,
  key: Schema.String,
  reason: Schema.String,
  occurredAtMs: Schema.Number,
  replayable: Schema.Boolean
})
/** @since 0.1.0 */
export interface DeadLetter extends Schema.Schema.Type<typeof DeadLetter> {}

/**
 * 202 to a replay.
 *
 * @since 0.1.0
 */
export const DeadLetterReplay = Schema.Struct({
  deadLetterId: Schema.String,
  replayed: Schema.Boolean,
  messageId: Schema.optionalKey(Schema.NullOr(Schema.String))
})
/** @since 0.1.0 */
export interface DeadLetterReplay extends Schema.Schema.Type<typeof DeadLetterReplay> {}

const deliveryResultFields = {
  provider: PushProvider,
  batchId: NonEmpty,
  deviceId: Schema.optional(Schema.String),
  outcome: Schema.Literals(["accepted", "rejected", "retryable", "expired", "cancelled"]),
  providerMessageId: Schema.optional(Schema.String),
  error: Schema.optional(
    Schema.Struct({
      class: Schema.String,
      failureClass: Schema.optional(Schema.String),
      reason: Schema.optional(Schema.String),
      retryAfterMs: Schema.optional(NonNegativeInt)
    })
  ),
  attempt: NonNegativeInt
}

/**
 * A provider delivery outcome to record, as a caller gives it. `eventId` (with `occurredAtMs`,
 * the record's identity) is generated once per call when absent; the SDK adds `appId` and copies
 * `publishId` into `result`.
 *
 * @since 0.1.0
 */
export const DeliveryReport = Schema.Struct({
  publishId: NonEmpty,
  eventId: Schema.optional(NonEmpty),
  occurredAtMs: NonNegativeInt,
  result: Schema.Struct(deliveryResultFields)
})
/** @since 0.1.0 */
export interface DeliveryReport extends Schema.Schema.Type<typeof DeliveryReport> {}

/**
 * A delivery event on the wire and in the response.
 *
 * @since 0.1.0
 */
export const DeliveryEvent = Schema.Struct({
  appId: Schema.String,
  publishId: Schema.String,
  eventId: Schema.String,
  occurredAtMs: NonNegativeInt,
  result: Schema.Struct({ appId: Schema.String, publishId: Schema.String, ...deliveryResultFields })
})
/** @since 0.1.0 */
export interface DeliveryEvent extends Schema.Schema.Type<typeof DeliveryEvent> {}

const credentialFields = { credentialId: Schema.optional(NonEmpty), version: Schema.optional(PositiveInt) }

/**
 * A provider credential to store (needs `PUSH_CREDENTIAL_ENCRYPTION_KEY` on the server), tagged
 * by `provider`. APNs takes `p12`, `pem`, or `teamId` + `keyId` + `privateKey`.
 *
 * @since 0.1.0
 */
export const NewCredential = Schema.Union([
  Schema.Struct({
    provider: Schema.Literal("fcm"),
    ...credentialFields,
    serviceAccountJson: Schema.Record(Schema.String, Schema.Unknown)
  }),
  Schema.Struct({
    provider: Schema.Literal("apns"),
    ...credentialFields,
    p12: Schema.optional(NonEmpty),
    p12Password: Schema.optional(Schema.String),
    pem: Schema.optional(NonEmpty),
    teamId: Schema.optional(NonEmpty),
    keyId: Schema.optional(NonEmpty),
    privateKey: Schema.optional(NonEmpty)
  }).check(
    Schema.makeFilter(
      (c) =>
        c.p12 !== undefined ||
        c.pem !== undefined ||
        (c.teamId !== undefined && c.keyId !== undefined && c.privateKey !== undefined) ||
        "must give p12, pem, or teamId + keyId + privateKey"
    )
  ),
  Schema.Struct({
    provider: Schema.Literal("webPush"),
    ...credentialFields,
    publicKey: NonEmpty,
    privateKey: NonEmpty
  }),
  Schema.Struct({ provider: Schema.Literal("hms"), ...credentialFields, hmsAppId: NonEmpty, clientSecret: NonEmpty }),
  Schema.Struct({ provider: Schema.Literal("wns"), ...credentialFields, packageSid: NonEmpty, clientSecret: NonEmpty })
]).annotate({ expected: "a credential whose provider is fcm, apns, webPush, hms or wns" })
/** @since 0.1.0 */
export type NewCredential = typeof NewCredential.Type

/**
 * A stored credential (snake_case, secrets never returned).
 *
 * @since 0.1.0
 */
export const PushCredential = Schema.Struct({
  app_id: Schema.String,
  credential_id: Schema.String,
  provider: PushProvider,
  version: Schema.Number
})
/** @since 0.1.0 */
export interface PushCredential extends Schema.Schema.Type<typeof PushCredential> {}

/**
 * The list envelope of every push list route (snake_case).
 *
 * @since 0.1.0
 */
export const PushPage = <S extends Schema.Constraint>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), next_cursor: Schema.NullOr(Schema.String), has_more: Schema.Boolean })
/** @since 0.1.0 */
export interface PushPage<A> {
  readonly items: ReadonlyArray<A>
  /** Pass as `cursor` to read the next page; `null` on the last one. */
  readonly next_cursor: string | null
  readonly has_more: boolean
}

/**
 * Paging of list calls.
 *
 * @since 0.1.0
 */
export interface PageOptions {
  /** 1 to 1000 (the server refuses other values); server default 100. */
  readonly limit?: number | undefined
  /** `next_cursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * Acting for one device instead of as admin: with a token, the request uses the
 * `push-subscribe` capability and proves the device's identity.
 *
 * @since 0.1.0
 */
export interface DeviceAccess {
  readonly deviceIdentityToken?: string | Redacted.Redacted<string> | undefined
}

/**
 * Options of `subscriptions.list`: at most one of `channel` and `deviceId` (neither lists all).
 *
 * @since 0.1.0
 */
export interface SubscriptionListOptions extends PageOptions, DeviceAccess {
  readonly channel?: string | undefined
  /** Required with `deviceIdentityToken`. */
  readonly deviceId?: string | undefined
}

/**
 * Which subscriptions `subscriptions.delete` removes: a channel's or a device's.
 *
 * @since 0.1.0
 */
export type SubscriptionSelector =
  | { readonly channel: string; readonly deviceId?: undefined }
  | { readonly deviceId: string; readonly channel?: undefined }

/**
 * Options of publishing calls.
 *
 * @since 0.1.0
 */
export interface PublishOptions {
  /** Bypass the server's push quotas (`x-sockudo-push-quota-override`). */
  readonly quotaOverride?: boolean | undefined
}

/**
 * Options of `deadLetters.list`.
 *
 * @since 0.1.0
 */
export interface DeadLetterListOptions extends PageOptions {
  readonly provider?: Exclude<PushProvider, "realtime"> | undefined
  /** Only entries at or after this time (Unix ms). */
  readonly sinceMs?: number | undefined
  /** Only entries at or before this time (Unix ms); not before `sinceMs`. */
  readonly untilMs?: number | undefined
}

/**
 * Errors of push calls.
 *
 * @since 0.1.0
 */
export type PushError = SockudoValidationError | SockudoRequestError

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const fieldPath = (base: string, path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path.reduce<string>((at, segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `${at}[${key}]` : `${at}.${String(key)}`
  }, base)

const explain = (message: string) =>
  message === "Missing key"
    ? "is required"
    : message === "Expected no excess property"
      ? "is not a field the server reads"
      : message

const invalid = (operation: string, field: string, reason: string) =>
  Result.fail(new SockudoValidationError({ operation, field, message: `${field} ${reason}` }))

/** Checks caller input against a Schema; unknown fields are refused (they would be ignored by the server). */
const validator = <S extends Schema.Decoder<unknown>>(schema: S) => {
  const decode = Schema.decodeUnknownResult(schema, { onExcessProperty: "error" })
  return (operation: string, base: string, input: unknown): Result.Result<S["Type"], SockudoValidationError> => {
    const decoded = decode(input)
    if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
    const issue = formatIssues(decoded.failure.issue).issues[0]
    const field = fieldPath(base, issue?.path ?? [])
    const reason = explain(issue?.message ?? decoded.failure.message)
    const message = /^(must|is) /.test(reason) ? `${field} ${reason}` : `${field}: ${reason}`
    return Result.fail(new SockudoValidationError({ operation, field, message }))
  }
}

const checkDevice = validator(DeviceRegistration)
const checkSubscription = validator(NewChannelSubscription)
const checkTemplate = validator(NewTemplate)
const checkPublish = validator(PublishRequest)
const checkScheduled = validator(ScheduledPublishRequest)
const checkDelivery = validator(DeliveryReport)
const checkCredential = validator(NewCredential)

const decodeCredential = schemaDecoder(PushCredential)
const decodeCredentials = schemaDecoder(PushPage(PushCredential))
const decodeTemplate = schemaDecoder(NotificationTemplate)
const decodeTemplates = schemaDecoder(PushPage(NotificationTemplate))
const decodeRegistration = schemaDecoder(DeviceRegistrationResult)
const decodeDevice = schemaDecoder(PushDevice)
const decodeDevices = schemaDecoder(PushPage(PushDevice))
const decodeRemoved = schemaDecoder(RemovedDevices)
const decodeSubscription = schemaDecoder(ChannelSubscription)
const decodeSubscriptions = schemaDecoder(PushPage(ChannelSubscription))
const decodeDeleted = schemaDecoder(DeletedSubscriptions)
const decodeChannels = schemaDecoder(PushPage(Schema.String))
const decodeAccepted = schemaDecoder(PublishAccepted)
const decodeBatch = schemaDecoder(BatchPublishAccepted)
const decodeStatus = schemaDecoder(PublishStatus)
const decodeDeadLetters = schemaDecoder(PushPage(DeadLetter))
const decodeReplay = schemaDecoder(DeadLetterReplay)
const decodeDelivery = schemaDecoder(DeliveryEvent)
/** 204 answers: nothing to decode. */
const noContent: Decoder<void> = () => Result.succeed(undefined)

const json = (wire: unknown): PreparedBody => prepareBody(JSON.stringify(wire))

const capability = "x-sockudo-push-capability"
const admin: Readonly<Record<string, string>> = { [capability]: "push-admin" }
const credentialPaths = { fcm: "fcm", apns: "apns", webPush: "webpush", hms: "hms", wns: "wns" } as const

const nonEmpty = (operation: string, field: string, value: unknown): Result.Result<string, SockudoValidationError> =>
  typeof value === "string" && value.length > 0
    ? Result.succeed(value)
    : invalid(operation, field, "must be a non-empty string")

/** Admin headers, or the subscribe capability with the device's identity token. */
const accessHeaders = (
  operation: string,
  access: DeviceAccess | undefined
): Result.Result<Readonly<Record<string, string>>, SockudoValidationError> => {
  const token = access?.deviceIdentityToken
  if (token === undefined) return Result.succeed(admin)
  const value = Redacted.isRedacted(token) ? Redacted.value(token) : token
  if (typeof value !== "string" || !/^[\x21-\x7e]+$/.test(value)) {
    return invalid(operation, "deviceIdentityToken", "must be a non-empty string of printable ASCII")
  }
  return Result.succeed({ [capability]: "push-subscribe", "x-sockudo-device-identity-token": value })
}

const pageQuery = (
  operation: string,
  options: PageOptions | undefined
): Result.Result<Array<QueryParam>, SockudoValidationError> => {
  const query: Array<QueryParam> = []
  const limit = options?.limit
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return invalid(operation, "limit", "must be an integer from 1 to 1000")
    }
    query.push(["limit", String(limit)])
  }
  if (options?.cursor !== undefined) {
    const cursor = nonEmpty(operation, "cursor", options.cursor)
    if (Result.isFailure(cursor)) return Result.fail(cursor.failure)
    query.push(["cursor", cursor.success])
  }
  return Result.succeed(query)
}

const isMillis = (u: unknown): u is number => Number.isInteger(u) && (u as number) >= 0

/**
 * Builds the push operations.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const config = yield* SockudoConfig
  const http = yield* Http
  const appId = config.appId
  const newPublishId = () => (config.autoIdempotency ? randomUUID() : undefined)

  const get = <A>(operation: string, path: string, decode: Decoder<A>, query?: ReadonlyArray<QueryParam>) =>
    http.request({ operation, method: "GET", path, query, headers: admin, decode })

  const list = <A>(operation: string, path: string, decode: Decoder<PushPage<A>>, options: PageOptions | undefined) =>
    Effect.flatMap(Effect.fromResult(pageQuery(operation, options)), (query) => get(operation, path, decode, query))

  const credentials = {
    /**
     * Stores a provider credential (a new `version` rotates it).
     *
     * ```ts
     * yield* sockudo.push.credentials.put({ provider: "webPush", publicKey, privateKey })
     * ```
     */
    put: Effect.fn("Sockudo.push.credentials.put")(function* (
      credential: NewCredential
    ): Effect.fn.Return<PushCredential, PushError> {
      const operation = "push.credentials.put"
      const { provider, ...body } = yield* Effect.fromResult(checkCredential(operation, "credential", credential))
      return yield* http.request({
        operation,
        method: "POST",
        path: `/push/credentials/${credentialPaths[provider]}`,
        body: json(body),
        headers: admin,
        decode: decodeCredential
      })
    }),
    /** One page of stored credentials. */
    list: Effect.fn("Sockudo.push.credentials.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<PushCredential>, PushError> {
      return yield* list("push.credentials.list", "/push/credentials", decodeCredentials, options)
    })
  }

  const templatePath = (operation: string, templateId: string) =>
    Effect.map(
      Effect.fromResult(nonEmpty(operation, "templateId", templateId)),
      (id) => `/push/templates/${encode(id)}`
    )

  const templates = {
    /** Creates or replaces a template (keyed by `templateId`). */
    create: Effect.fn("Sockudo.push.templates.create")(function* (
      template: NewTemplate
    ): Effect.fn.Return<NotificationTemplate, PushError> {
      const operation = "push.templates.create"
      const checked = yield* Effect.fromResult(checkTemplate(operation, "template", template))
      return yield* http.request({
        operation,
        method: "POST",
        path: "/push/templates",
        body: json({ appId, ...checked }),
        headers: admin,
        decode: decodeTemplate
      })
    }),
    /** One page of templates. */
    list: Effect.fn("Sockudo.push.templates.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<NotificationTemplate>, PushError> {
      return yield* list("push.templates.list", "/push/templates", decodeTemplates, options)
    }),
    /** One template; `SockudoNotFoundError` when there is none. */
    get: Effect.fn("Sockudo.push.templates.get")(function* (
      templateId: string
    ): Effect.fn.Return<NotificationTemplate, PushError> {
      const path = yield* templatePath("push.templates.get", templateId)
      return yield* get("push.templates.get", path, decodeTemplate)
    }),
    /** Deletes a template. */
    delete: Effect.fn("Sockudo.push.templates.delete")(function* (
      templateId: string
    ): Effect.fn.Return<void, PushError> {
      const operation = "push.templates.delete"
      const path = yield* templatePath(operation, templateId)
      return yield* http.request({ operation, method: "DELETE", path, headers: admin, decode: noContent })
    })
  }

  const deviceBody = (device: DeviceRegistration) =>
    json({ appId, ...device, push: { ...device.push, state: device.push.state ?? "ACTIVE" }, deviceSecret: "" })

  const devicePath = (operation: string, deviceId: string) =>
    Effect.map(
      Effect.fromResult(nonEmpty(operation, "deviceId", deviceId)),
      (id) => `/push/deviceRegistrations/${encode(id)}`
    )

  const devices = {
    /**
     * Registers or refreshes a device as admin. A new device (or `rotateDeviceIdentityToken`)
     * gets a `deviceIdentityToken` in the result, shown once. Without rotation the call is not
     * retried after a failure that may have reached the server, since a retry would register the
     * device without returning its token; call again with `rotateDeviceIdentityToken: true`.
     */
    activate: Effect.fn("Sockudo.push.devices.activate")(function* (
      device: DeviceRegistration,
      options?: { readonly rotateDeviceIdentityToken?: boolean | undefined }
    ): Effect.fn.Return<DeviceRegistrationResult, PushError> {
      const operation = "push.devices.activate"
      const checked = yield* Effect.fromResult(checkDevice(operation, "device", device))
      const rotate = options?.rotateDeviceIdentityToken === true
      return yield* http.request({
        operation,
        method: "POST",
        path: "/push/deviceRegistrations",
        body: deviceBody(checked),
        headers: rotate ? { ...admin, "x-sockudo-rotate-device-identity-token": "true" } : admin,
        decode: decodeRegistration,
        retry: rotate ? "retryable" : "rejected-only"
      })
    }),
    /** Updates an existing device on its own behalf (`push-subscribe` with its identity token). */
    update: Effect.fn("Sockudo.push.devices.update")(function* (
      device: DeviceRegistration,
      access: { readonly deviceIdentityToken: string | Redacted.Redacted<string> }
    ): Effect.fn.Return<DeviceRegistrationResult, PushError> {
      const operation = "push.devices.update"
      const checked = yield* Effect.fromResult(checkDevice(operation, "device", device))
      if (access?.deviceIdentityToken === undefined) {
        return yield* Effect.fromResult(invalid(operation, "deviceIdentityToken", "is required"))
      }
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({
        operation,
        method: "POST",
        path: "/push/deviceRegistrations",
        body: deviceBody(checked),
        headers,
        decode: decodeRegistration
      })
    }),
    /** One page of registered devices. */
    list: Effect.fn("Sockudo.push.devices.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<PushDevice>, PushError> {
      return yield* list("push.devices.list", "/push/deviceRegistrations", decodeDevices, options)
    }),
    /** One device, as admin or with its identity token. */
    get: Effect.fn("Sockudo.push.devices.get")(function* (
      deviceId: string,
      access?: DeviceAccess
    ): Effect.fn.Return<PushDevice, PushError> {
      const operation = "push.devices.get"
      const path = yield* devicePath(operation, deviceId)
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({ operation, method: "GET", path, headers, decode: decodeDevice })
    }),
    /** Unregisters one device, as admin or with its identity token. */
    delete: Effect.fn("Sockudo.push.devices.delete")(function* (
      deviceId: string,
      access?: DeviceAccess
    ): Effect.fn.Return<void, PushError> {
      const operation = "push.devices.delete"
      const path = yield* devicePath(operation, deviceId)
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({ operation, method: "DELETE", path, headers, decode: noContent })
    }),
    /** Unregisters every device of a client (removal is eventually consistent). */
    removeByClient: Effect.fn("Sockudo.push.devices.removeByClient")(function* (
      clientId: string
    ): Effect.fn.Return<RemovedDevices, PushError> {
      const operation = "push.devices.removeByClient"
      const id = yield* Effect.fromResult(nonEmpty(operation, "clientId", clientId))
      return yield* http.request({
        operation,
        method: "DELETE",
        path: "/push/deviceRegistrations",
        query: [["clientId", id]],
        headers: admin,
        decode: decodeRemoved
      })
    })
  }

  /** `channel` or `deviceId` (exactly one when `required`), and `deviceId` whenever a token is used. */
  const selectorQuery = (
    operation: string,
    selector: { readonly channel?: string | undefined; readonly deviceId?: string | undefined } | undefined,
    access: DeviceAccess | undefined,
    required: boolean
  ): Result.Result<Array<QueryParam>, SockudoValidationError> => {
    const channel = selector?.channel
    const deviceId = selector?.deviceId
    if (channel !== undefined && deviceId !== undefined) {
      return invalid(operation, "channel", "and deviceId exclude each other")
    }
    if (access?.deviceIdentityToken !== undefined && deviceId === undefined) {
      return invalid(operation, "deviceId", "is required with deviceIdentityToken")
    }
    if (channel !== undefined) return Result.map(nonEmpty(operation, "channel", channel), (c) => [["channel", c]])
    if (deviceId !== undefined) return Result.map(nonEmpty(operation, "deviceId", deviceId), (d) => [["deviceId", d]])
    return required ? invalid(operation, "channel", "or deviceId is required") : Result.succeed([])
  }

  const subscriptions = {
    /** Subscribes a device to a channel's pushes (as admin, or with the device's token). */
    upsert: Effect.fn("Sockudo.push.subscriptions.upsert")(function* (
      subscription: NewChannelSubscription,
      access?: DeviceAccess
    ): Effect.fn.Return<ChannelSubscription, PushError> {
      const operation = "push.subscriptions.upsert"
      const checked = yield* Effect.fromResult(checkSubscription(operation, "subscription", subscription))
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({
        operation,
        method: "POST",
        path: "/push/channelSubscriptions",
        body: json({ appId, ...checked }),
        headers,
        decode: decodeSubscription
      })
    }),
    /** One page of a channel's subscribers, a device's subscriptions, or all subscriptions. */
    list: Effect.fn("Sockudo.push.subscriptions.list")(function* (
      options?: SubscriptionListOptions
    ): Effect.fn.Return<PushPage<ChannelSubscription>, PushError> {
      const operation = "push.subscriptions.list"
      const selector = yield* Effect.fromResult(selectorQuery(operation, options, options, false))
      const paging = yield* Effect.fromResult(pageQuery(operation, options))
      const headers = yield* Effect.fromResult(accessHeaders(operation, options))
      return yield* http.request({
        operation,
        method: "GET",
        path: "/push/channelSubscriptions",
        query: [...selector, ...paging],
        headers,
        decode: decodeSubscriptions
      })
    }),
    /** Removes a channel's or a device's subscriptions. */
    delete: Effect.fn("Sockudo.push.subscriptions.delete")(function* (
      selector: SubscriptionSelector,
      access?: DeviceAccess
    ): Effect.fn.Return<DeletedSubscriptions, PushError> {
      const operation = "push.subscriptions.delete"
      const query = yield* Effect.fromResult(selectorQuery(operation, selector, access, true))
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({
        operation,
        method: "DELETE",
        path: "/push/channelSubscriptions",
        query,
        headers,
        decode: decodeDeleted
      })
    }),
    /** One page of the channels that have push subscribers. */
    channels: Effect.fn("Sockudo.push.subscriptions.channels")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<string>, PushError> {
      return yield* list("push.subscriptions.channels", "/push/channelSubscriptions/channels", decodeChannels, options)
    })
  }

  const publishHeaders = (options: PublishOptions | undefined) =>
    options?.quotaOverride === true ? { ...admin, "x-sockudo-push-quota-override": "1" } : admin

  /** The wire form of a publish: its own `publishId`, or a generated one placed first. */
  const withPublishId = (request: PublishRequest): PublishRequest => {
    if (request.publishId !== undefined) return request
    const publishId = newPublishId()
    if (publishId === undefined) return request
    const { publishId: _, ...rest } = request
    return { publishId, ...rest }
  }

  const preparePublish = (
    operation: string,
    check: typeof checkPublish,
    request: PublishRequest,
    options: PublishOptions | undefined
  ): Result.Result<Request<PublishAccepted>, SockudoValidationError> =>
    Result.map(check(operation, "request", request), (checked) => {
      const wire = withPublishId(checked)
      return {
        operation,
        method: "POST",
        path: "/push/publish",
        body: json(wire),
        headers: publishHeaders(options),
        decode: decodeAccepted,
        retry: wire.publishId === undefined ? "rejected-only" : "retryable"
      }
    })

  const prepareBatch = (
    requests: ReadonlyArray<PublishRequest>,
    options: PublishOptions | undefined
  ): Result.Result<Request<BatchPublishAccepted>, SockudoValidationError> => {
    const operation = "push.publishBatch"
    if (!Array.isArray(requests) || requests.length === 0) {
      return invalid(operation, "requests", "must contain at least one publish")
    }
    const wire: Array<PublishRequest> = []
    for (let i = 0; i < requests.length; i++) {
      const checked = checkPublish(operation, `requests[${i}]`, requests[i])
      if (Result.isFailure(checked)) return Result.fail(checked.failure)
      wire.push(withPublishId(checked.success))
    }
    return Result.succeed({
      operation,
      method: "POST",
      path: "/push/batch/publish",
      body: json(wire),
      headers: publishHeaders(options),
      decode: decodeBatch,
      retry: wire.every((r) => r.publishId !== undefined) ? "retryable" : "rejected-only"
    })
  }

  const prepareDelivery = (report: DeliveryReport): Result.Result<Request<DeliveryEvent>, SockudoValidationError> => {
    const operation = "push.deliveryStatus"
    return Result.map(checkDelivery(operation, "report", report), (checked) => ({
      operation,
      method: "POST",
      path: "/push/deliveryStatus",
      body: json({
        appId,
        publishId: checked.publishId,
        eventId: checked.eventId ?? randomUUID(),
        occurredAtMs: checked.occurredAtMs,
        result: { appId, publishId: checked.publishId, ...checked.result }
      }),
      headers: admin,
      decode: decodeDelivery
    }))
  }

  /**
   * Publishes a notification (accepted asynchronously: 202). Retried with the same `publishId`,
   * which the server dedupes.
   *
   * ```ts
   * const accepted = yield* sockudo.push.publish({
   *   recipients: [Push.target.client("user-1")],
   *   payload: { title: "Order shipped", body: "ord_1 is on its way" }
   * })
   * ```
   */
  const publish = (request: PublishRequest, options?: PublishOptions): Effect.Effect<PublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.publish", () => preparePublish("push.publish", checkPublish, request, options))

  /** Publishes several notifications in one request; the server stops at the first failing one. */
  const publishBatch = (
    requests: ReadonlyArray<PublishRequest>,
    options?: PublishOptions
  ): Effect.Effect<BatchPublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.publishBatch", () => prepareBatch(requests, options))

  /** Publishes a notification for later (`notBeforeMs`); cancel it with `cancelScheduled(publishId)`. */
  const schedule = (
    request: ScheduledPublishRequest,
    options?: PublishOptions
  ): Effect.Effect<PublishAccepted, PushError> =>
    http.prepareOnce("Sockudo.push.schedule", () => preparePublish("push.schedule", checkScheduled, request, options))

  /** A publish's state and counters; `SockudoNotFoundError` for an unknown `publishId`. */
  const status = Effect.fn("Sockudo.push.status")(function* (
    publishId: string
  ): Effect.fn.Return<PublishStatus, PushError> {
    const id = yield* Effect.fromResult(nonEmpty("push.status", "publishId", publishId))
    return yield* get("push.status", `/push/publish/${encode(id)}/status`, decodeStatus)
  })

  /** Cancels a scheduled publish (its job is keyed by the publish's `publishId`). */
  const cancelScheduled = Effect.fn("Sockudo.push.cancelScheduled")(function* (
    publishId: string
  ): Effect.fn.Return<void, PushError> {
    const operation = "push.cancelScheduled"
    const id = yield* Effect.fromResult(nonEmpty(operation, "publishId", publishId))
    return yield* http.request({
      operation,
      method: "DELETE",
      path: `/push/scheduled/${encode(id)}`,
      headers: admin,
      decode: noContent
    })
  })

  const deadLetters = {
    /** One page of dead letters, optionally by provider and time range. */
    list: Effect.fn("Sockudo.push.deadLetters.list")(function* (
      options?: DeadLetterListOptions
    ): Effect.fn.Return<PushPage<DeadLetter>, PushError> {
      const operation = "push.deadLetters.list"
      const query = yield* Effect.fromResult(pageQuery(operation, options))
      const { provider, sinceMs, untilMs } = options ?? {}
      if (provider !== undefined) {
        if (!Object.hasOwn(credentialPaths, provider)) {
          return yield* Effect.fromResult(invalid(operation, "provider", "must be fcm, apns, webPush, hms or wns"))
        }
        query.push(["provider", provider])
      }
      for (const [field, value] of [
        ["sinceMs", sinceMs],
        ["untilMs", untilMs]
      ] as const) {
        if (value === undefined) continue
        if (!isMillis(value)) return yield* Effect.fromResult(invalid(operation, field, "must be an integer >= 0"))
        query.push([field, String(value)])
      }
      if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) {
        return yield* Effect.fromResult(invalid(operation, "sinceMs", "must not be after untilMs"))
      }
      return yield* get(operation, "/push/deadLetters", decodeDeadLetters, query)
    }),
    /** Re-queues a dead letter (not retried: a second replay would deliver twice). */
    replay: Effect.fn("Sockudo.push.deadLetters.replay")(function* (
      deadLetterId: string
    ): Effect.fn.Return<DeadLetterReplay, PushError> {
      const operation = "push.deadLetters.replay"
      const id = yield* Effect.fromResult(nonEmpty(operation, "deadLetterId", deadLetterId))
      return yield* http.request({
        operation,
        method: "POST",
        path: `/push/deadLetters/${encode(id)}/replay`,
        headers: admin,
        decode: decodeReplay,
        retry: "rejected-only"
      })
    })
  }

  /** Records a provider's delivery outcome for a publish; retried safely (the event is keyed by its id). */
  const deliveryStatus = (report: DeliveryReport): Effect.Effect<DeliveryEvent, PushError> =>
    http.prepareOnce("Sockudo.push.deliveryStatus", () => prepareDelivery(report))

  return {
    credentials,
    templates,
    devices,
    subscriptions,
    publish,
    publishBatch,
    schedule,
    status,
    cancelScheduled,
    deadLetters,
    deliveryStatus
  } as const
})

/**
 * The push operations.
 *
 * @since 0.1.0
 */
export type Push = Effect.Success<typeof make>
