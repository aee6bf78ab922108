/**
 * Push payload rendering (section 3.12): what a publish answers in `renderedPayloads`. Every
 * publish renders one payload per provider, in the server's order, whatever its targets: a
 * provider override as given (checked per provider), else the provider's own shape built from
 * the notification fields, with `{{data.*}}` placeholders replaced from `templateData`. A
 * `templateId` first fills the fields the publish leaves out from the template's locale and
 * merges the template's overrides under the publish's. Failures are 400s with the server's text.
 *
 * @since 0.1.0
 */
import { byteLength } from "../Names.ts"
import { endpointProblem, type Provider } from "./PushModel.ts"
import { invalid } from "./Respond.ts"

/**
 * The notification of a publish (`templateData` is `null` when absent).
 *
 * @since 0.1.0
 */
export interface Notification {
  readonly templateId?: string | undefined
  readonly templateData: unknown
  readonly title?: string | undefined
  readonly body?: string | undefined
  readonly icon?: string | undefined
  readonly sound?: string | undefined
  readonly collapseKey?: string | undefined
}

/**
 * One entry of `renderedPayloads`.
 *
 * @since 0.1.0
 */
export interface RenderedPayload {
  readonly provider: Provider
  readonly payload: unknown
  readonly usedOverride: boolean
}

/** The order of `renderedPayloads`. */
const RENDER_ORDER: ReadonlyArray<Provider> = ["fcm", "apns", "webPush", "hms", "wns", "realtime"]

/** The largest rendered payload of each provider, in bytes of compact JSON. */
const PAYLOAD_LIMIT: Readonly<Record<Provider, number>> = {
  fcm: 4096,
  apns: 4096,
  webPush: 4096,
  hms: 4096,
  wns: 5000,
  realtime: 64 * 1024
}

const MAX_RENDERED_FIELD = 4096

const templateError = (reason: string): never => invalid(`invalid template substitution: ${reason}`)

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  u !== null && typeof u === "object" && !Array.isArray(u)

/** The text a `{{data.*}}` placeholder stands for. */
const lookup = (data: unknown, rawKey: string): string => {
  const key = rawKey.trim()
  if (!key.startsWith("data.") || key === "data." || key.split(".").length - 1 > 4 || !/^[A-Za-z0-9_.]*$/.test(key)) {
    return templateError("placeholder key must use a bounded data.* path")
  }
  let current: unknown = data
  for (const segment of key.slice("data.".length).split(".")) {
    if (!isObject(current) || !Object.hasOwn(current, segment)) return templateError("placeholder key is missing")
    current = current[segment]
  }
  if (typeof current === "string") return current
  if (typeof current === "number" || typeof current === "boolean") return String(current)
  if (current === null) return ""
  return templateError("placeholder value must be scalar")
}

/** Replaces every `{{ data.path }}` of `text`. */
const substitute = (text: string, data: unknown): string => {
  let output = ""
  let rest = text
  for (let start = rest.indexOf("{{"); start >= 0; start = rest.indexOf("{{")) {
    output += rest.slice(0, start)
    const afterStart = rest.slice(start + 2)
    const end = afterStart.indexOf("}}")
    if (end < 0) return templateError("unterminated placeholder")
    output += lookup(data, afterStart.slice(0, end))
    if (byteLength(output) > MAX_RENDERED_FIELD) return templateError("rendered output is too large")
    rest = afterStart.slice(end + 2)
  }
  output += rest
  if (byteLength(output) > MAX_RENDERED_FIELD) return templateError("rendered output is too large")
  return output
}

const overrideError = (provider: string, reason: string): never => invalid(`invalid ${provider} override: ${reason}`)

/** The server's checks of a provider override (only APNs, web push and WNS have any). */
const checkOverride = (provider: Provider, payload: unknown): void => {
  if (provider === "wns") {
    const type = isObject(payload) ? payload["type"] : undefined
    if (typeof type === "string" && !["toast", "tile", "raw"].includes(type)) overrideError("wns", "invalid type")
    return
  }
  const headers = isObject(payload) && isObject(payload["headers"]) ? payload["headers"] : undefined
  if (headers === undefined) return
  if (provider === "apns") {
    const pushType = headers["apns-push-type"]
    const types = ["alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity"]
    if (typeof pushType === "string" && !types.includes(pushType)) overrideError("apns", "invalid apns-push-type")
    const priority = headers["apns-priority"]
    if (typeof priority === "string" && priority !== "5" && priority !== "10") {
      overrideError("apns", "invalid apns-priority")
    }
    const expiration = headers["apns-expiration"]
    if (expiration !== undefined && typeof expiration !== "string" && typeof expiration !== "number") {
      overrideError("apns", "invalid apns-expiration")
    }
    for (const field of ["apns-topic", "apns-collapse-id"]) {
      if (headers[field] !== undefined && typeof headers[field] !== "string") overrideError("apns", `invalid ${field}`)
    }
  } else if (provider === "webPush") {
    const ttl = headers["ttl"]
    const ttlOk =
      ttl === undefined ||
      (typeof ttl === "number" && Number.isInteger(ttl) && ttl >= 0) ||
      (typeof ttl === "string" && /^\+?\d+$/.test(ttl))
    if (!ttlOk) overrideError("webPush", "invalid ttl")
    const urgency = headers["urgency"]
    if (typeof urgency === "string" && !["very-low", "low", "normal", "high"].includes(urgency)) {
      overrideError("webPush", "invalid urgency")
    }
    if (headers["topic"] !== undefined && typeof headers["topic"] !== "string")
      overrideError("webPush", "invalid topic")
    const audience = headers["vapidAudience"]
    if (typeof audience === "string" && endpointProblem("endpoint", audience) !== undefined)
      overrideError("webPush", "invalid vapidAudience")
  }
}

/** The provider's own shape of a notification. */
const shape = (provider: Provider, n: Notification): unknown => {
  const nul = <A>(a: A | undefined) => a ?? null
  const notification = { title: nul(n.title), body: nul(n.body), image: nul(n.icon) }
  const data = n.templateData
  switch (provider) {
    case "fcm":
      return {
        message: {
          notification,
          data,
          android: { collapse_key: nul(n.collapseKey), notification: { icon: nul(n.icon), sound: nul(n.sound) } }
        }
      }
    case "apns":
      return {
        headers: { "apns-push-type": "alert", "apns-priority": "10", "apns-collapse-id": nul(n.collapseKey) },
        aps: { alert: { title: nul(n.title), body: nul(n.body) }, sound: nul(n.sound) },
        data
      }
    case "webPush":
      return { headers: { ttl: 2419200, urgency: "normal", topic: nul(n.collapseKey) }, notification, data }
    case "hms":
      return {
        message: {
          notification,
          data,
          android: {
            notification: { click_action: { type: 3 }, sound: nul(n.sound) },
            collapse_key: nul(n.collapseKey)
          }
        }
      }
    case "wns":
      return {
        type: "toast",
        toast: {
          visual: { binding: { template: "ToastGeneric", text: [nul(n.title), nul(n.body)], image: nul(n.icon) } },
          audio: { src: nul(n.sound) }
        },
        data
      }
    case "realtime":
      return { notification, data }
  }
}

const checkSize = (provider: Provider, payload: unknown): void => {
  const sized =
    provider === "apns" && isObject(payload) && payload["aps"] !== undefined
      ? { aps: payload["aps"], data: payload["data"] ?? null }
      : payload
  const limit = PAYLOAD_LIMIT[provider]
  if (byteLength(JSON.stringify(sized)) > limit) invalid(`${provider} payload exceeds ${limit} bytes`)
}

const render = (provider: Provider, n: Notification, overrides: ReadonlyMap<Provider, unknown>): RenderedPayload => {
  if (overrides.has(provider)) {
    const payload = overrides.get(provider)
    checkOverride(provider, payload)
    checkSize(provider, payload)
    return { provider, payload, usedOverride: true }
  }
  const field = (text: string | undefined) => (text === undefined ? undefined : substitute(text, n.templateData))
  const rendered = shape(provider, {
    ...n,
    title: field(n.title),
    body: field(n.body),
    icon: field(n.icon),
    sound: field(n.sound),
    collapseKey: field(n.collapseKey)
  })
  checkSize(provider, rendered)
  return { provider, payload: rendered, usedOverride: false }
}

/**
 * `renderedPayloads`: one payload per provider, in the server's order.
 *
 * @since 0.1.0
 */
export const renderAll = (
  notification: Notification,
  overrides: ReadonlyMap<Provider, unknown>
): ReadonlyArray<RenderedPayload> => RENDER_ORDER.map((provider) => render(provider, notification, overrides))

/** The locale of a template for a requested one: exact, then shorter `-` prefixes, then the default. */
const localeOf = (template: Template, requested: unknown): TemplateContent | undefined => {
  if (typeof requested === "string" && requested.trim() !== "") {
    if (Object.hasOwn(template.locales, requested)) return template.locales[requested]
    const segments = requested.replaceAll("_", "-").split("-")
    for (let length = segments.length - 1; length >= 1; length--) {
      const candidate = segments.slice(0, length).join("-")
      if (Object.hasOwn(template.locales, candidate)) return template.locales[candidate]
    }
  }
  return Object.hasOwn(template.locales, template.defaultLocale) ? template.locales[template.defaultLocale] : undefined
}

/**
 * One locale of a stored template.
 *
 * @since 0.1.0
 */
export interface TemplateContent {
  readonly title: string
  readonly body: string
  readonly icon?: string | undefined
  readonly sound?: string | undefined
  readonly collapseKey?: string | undefined
}

/**
 * A stored template, as far as rendering reads it.
 *
 * @since 0.1.0
 */
export interface Template {
  readonly defaultLocale: string
  readonly locales: Readonly<Record<string, TemplateContent>>
  readonly providerOverrides: Readonly<Record<string, { readonly provider: Provider; readonly payload: unknown }>>
}

/**
 * A publish's notification with its template applied: the publish's own fields win, the locale
 * comes from `templateData.locale`; the template's overrides apply unless the publish overrides
 * the same provider.
 *
 * @since 0.1.0
 */
export const applyTemplate = (
  template: Template,
  notification: Notification,
  overrides: ReadonlyMap<Provider, unknown>
): { readonly notification: Notification; readonly overrides: ReadonlyMap<Provider, unknown> } => {
  const data = notification.templateData
  const content =
    localeOf(template, isObject(data) ? data["locale"] : undefined) ?? templateError("template locale is missing")
  const merged = new Map<Provider, unknown>()
  for (const [key, o] of Object.entries(template.providerOverrides)) {
    if (o.provider !== key) templateError("template provider override key mismatch")
    merged.set(o.provider, o.payload)
  }
  for (const [provider, payload] of overrides) merged.set(provider, payload)
  for (const [provider, payload] of merged) checkOverride(provider, payload)
  return {
    notification: {
      ...notification,
      title: notification.title ?? content.title,
      body: notification.body ?? content.body,
      icon: notification.icon ?? content.icon,
      sound: notification.sound ?? content.sound,
      collapseKey: notification.collapseKey ?? content.collapseKey
    },
    overrides: merged
  }
}
