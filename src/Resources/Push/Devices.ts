/**
 * Device registrations: register (activate) or update a device, read, list and unregister
 * devices, one at a time or every device of a client. A device acts for itself with the
 * `deviceIdentityToken` it got when it was registered.
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { open } from "../../Decode.ts"
import { schemaDecoder } from "../../Http.ts"
import { encode } from "../../Signer.ts"
import { traced } from "../../Telemetry.ts"
import {
  AnswerProvider,
  type DeviceAccess,
  HttpsUrl,
  JsonAtMost,
  NonEmpty,
  NonNegativeInt,
  type PageOptions,
  PositiveInt,
  type PushError,
  PushPage
} from "./Common.ts"
import {
  accessHeaders,
  admin,
  invalid,
  json,
  noContent,
  nonEmpty,
  type PushContext,
  pathSegment,
  validator
} from "./Request.ts"

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
 * A registered device as the server reports it (no secrets; tokens only as `tokenHash`). Its
 * enums are open: a newer server's platform or state is kept, not refused.
 *
 * @since 0.1.0
 */
export const PushDevice = Schema.Struct({
  appId: Schema.String,
  id: Schema.String,
  clientId: Schema.NullOr(Schema.String),
  formFactor: open(FormFactor.literals),
  platform: open(Platform.literals),
  timezone: Schema.String,
  locale: Schema.String,
  lastActiveAtMs: Schema.Number,
  pushState: open(DevicePushState.literals),
  pushFailureCount: Schema.Number,
  recipient: Schema.Struct({
    transportType: open(["gcm", "apns", "web", "hms", "wns", "realtime"]),
    provider: AnswerProvider,
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
  change: open(["inserted", "unchanged", "updated"]),
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

const checkDevice = validator(DeviceRegistration)
const decodeRegistration = schemaDecoder(DeviceRegistrationResult)
const decodeDevice = schemaDecoder(PushDevice)
const decodeDevices = schemaDecoder(PushPage(PushDevice))
const decodeRemoved = schemaDecoder(RemovedDevices)

/**
 * Builds `push.devices`.
 *
 * @since 0.1.0
 */
export const make = ({ http, appId, list }: PushContext) => {
  const deviceBody = (device: DeviceRegistration) =>
    json({ appId, ...device, push: { ...device.push, state: device.push.state ?? "ACTIVE" }, deviceSecret: "" })

  const devicePath = (operation: string, deviceId: string) =>
    Effect.map(
      Effect.fromResult(pathSegment(operation, "deviceId", deviceId)),
      (id) => `/push/deviceRegistrations/${encode(id)}`
    )

  const devices = {
    /**
     * Registers or refreshes a device as admin. A new device (or `rotateDeviceIdentityToken`)
     * gets a `deviceIdentityToken` in the result, shown once. Without rotation the call is not
     * retried after a failure that may have reached the server, since a retry would register the
     * device without returning its token; call again with `rotateDeviceIdentityToken: true`.
     */
    activate: traced("Sockudo.push.devices.activate")(function* (
      device: DeviceRegistration,
      options?: {
        /** Issue a new identity token, which also makes the call safe to retry. */
        readonly rotateDeviceIdentityToken?: boolean | undefined
      }
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
    update: traced("Sockudo.push.devices.update")(function* (
      device: DeviceRegistration,
      access: {
        /** The device's identity token, as `activate` returned it. */
        readonly deviceIdentityToken: string | Redacted.Redacted<string>
      }
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
    list: traced("Sockudo.push.devices.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<PushDevice>, PushError> {
      return yield* list("push.devices.list", "/push/deviceRegistrations", decodeDevices, options)
    }),
    /** One device, as admin or with its identity token. */
    get: traced("Sockudo.push.devices.get")(function* (
      deviceId: string,
      access?: DeviceAccess
    ): Effect.fn.Return<PushDevice, PushError> {
      const operation = "push.devices.get"
      const path = yield* devicePath(operation, deviceId)
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({ operation, method: "GET", path, headers, decode: decodeDevice })
    }),
    /** Unregisters one device, as admin or with its identity token. */
    delete: traced("Sockudo.push.devices.delete")(function* (
      deviceId: string,
      access?: DeviceAccess
    ): Effect.fn.Return<void, PushError> {
      const operation = "push.devices.delete"
      const path = yield* devicePath(operation, deviceId)
      const headers = yield* Effect.fromResult(accessHeaders(operation, access))
      return yield* http.request({ operation, method: "DELETE", path, headers, decode: noContent })
    }),
    /** Unregisters every device of a client (removal is eventually consistent). */
    removeByClient: traced("Sockudo.push.devices.removeByClient")(function* (
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
  return devices
}
