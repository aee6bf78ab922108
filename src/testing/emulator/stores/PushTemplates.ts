/**
 * Push notification templates (section 3.12): the NotificationTemplate body with the push
 * extractor's JSON 400s and the store's 500s, stored and answered in the server's form (unknown
 * fields dropped, `providerOverrides` defaulting to `{}`).
 *
 * @since 0.1.0
 */
import type { ApiRequest } from "../Api.ts"
import { jsonByteLength } from "./Bytes.ts"
import { Body } from "./JsonBody.ts"
import { PROVIDERS, type Provider, storeError } from "./PushModel.ts"
import type { Template, TemplateContent } from "./PushRender.ts"

/**
 * A stored template.
 *
 * @since 0.1.0
 */
export interface StoredTemplate extends Template {
  readonly appId: string
  readonly templateId: string
}

const decodeContent = (value: unknown): TemplateContent => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return Body.shapeError("push", "invalid type: expected struct TemplateContent")
  }
  const c = Body.nested(value as Record<string, unknown>, "push")
  const optional = (key: string) => {
    const v = c.optionalString(key)
    return v === undefined ? {} : { [key]: v }
  }
  return {
    title: c.string("title"),
    body: c.string("body"),
    ...optional("icon"),
    ...optional("sound"),
    ...optional("collapseKey")
  }
}

/**
 * Decodes and checks a template (its `appId` is required, then replaced by the store).
 *
 * @since 0.1.0
 */
export const decodeTemplate = (request: ApiRequest): StoredTemplate => {
  const body = Body.of(request, "NotificationTemplate", "push")
  const appId = body.string("appId")
  const templateId = body.string("templateId")
  const defaultLocale = body.string("defaultLocale")
  const locales = Object.fromEntries(
    Object.entries(body.object("locales", "a map")).map(([locale, content]) => [locale, decodeContent(content)])
  )
  const providerOverrides: Record<string, { provider: Provider; payload: unknown }> = {}
  for (const [key, value] of Object.entries(body.optionalObject("providerOverrides", "a map") ?? {})) {
    body.checkVariant(key, PROVIDERS)
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      body.error("invalid type: expected struct ProviderOverridePayload")
    }
    const o = Body.nested(value as Record<string, unknown>, "push")
    const provider = o.variant("provider", PROVIDERS)
    if (o.value["payload"] === undefined) o.error("missing field `payload`")
    providerOverrides[key] = { provider, payload: o.value["payload"] }
  }
  const blank = (s: string) => s.trim() === ""
  if (blank(templateId) || blank(defaultLocale) || !Object.hasOwn(locales, defaultLocale)) storeError()
  for (const [locale, content] of Object.entries(locales)) {
    if (blank(locale) || blank(content.title) || blank(content.body)) storeError()
  }
  for (const o of Object.values(providerOverrides)) if (jsonByteLength(o.payload) > 4096) storeError()
  return { appId, templateId, defaultLocale, locales, providerOverrides }
}
