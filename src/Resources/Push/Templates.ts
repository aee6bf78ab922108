/**
 * Notification templates: create or replace, list, read and delete the templates a publish can
 * render by `templateId`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { schemaDecoder } from "../../Http.ts"
import { encode } from "../../Signer.ts"
import { traced } from "../../Telemetry.ts"
import { JsonAtMost, NonEmpty, type PageOptions, type PushError, PushPage, PushProvider } from "./Common.ts"
import { admin, json, noContent, type PushContext, pathSegment, validator } from "./Request.ts"

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

const checkTemplate = validator(NewTemplate)
const decodeTemplate = schemaDecoder(NotificationTemplate)
const decodeTemplates = schemaDecoder(PushPage(NotificationTemplate))

/**
 * Builds `push.templates`.
 *
 * @since 0.1.0
 */
export const make = ({ http, appId, get, list }: PushContext) => {
  const templatePath = (operation: string, templateId: string) =>
    Effect.map(
      Effect.fromResult(pathSegment(operation, "templateId", templateId)),
      (id) => `/push/templates/${encode(id)}`
    )

  const templates = {
    /** Creates or replaces a template (keyed by `templateId`). */
    create: traced("Sockudo.push.templates.create")(function* (
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
    list: traced("Sockudo.push.templates.list")(function* (
      options?: PageOptions
    ): Effect.fn.Return<PushPage<NotificationTemplate>, PushError> {
      return yield* list("push.templates.list", "/push/templates", decodeTemplates, options)
    }),
    /** One template; `SockudoNotFoundError` when there is none. */
    get: traced("Sockudo.push.templates.get")(function* (
      templateId: string
    ): Effect.fn.Return<NotificationTemplate, PushError> {
      const path = yield* templatePath("push.templates.get", templateId)
      return yield* get("push.templates.get", path, decodeTemplate)
    }),
    /** Deletes a template. */
    delete: traced("Sockudo.push.templates.delete")(function* (templateId: string): Effect.fn.Return<void, PushError> {
      const operation = "push.templates.delete"
      const path = yield* templatePath(operation, templateId)
      return yield* http.request({ operation, method: "DELETE", path, headers: admin, decode: noContent })
    })
  }
  return templates
}
