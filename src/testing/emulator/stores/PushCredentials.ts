/**
 * Push provider credentials (section 3.12): one route per provider, stored under `credentialId`
 * (default: the route's provider segment, `webpush` for web push), a new `version` replacing the
 * stored one. As on the server, a blank secret is a 400 (`secret must not be empty`) and the
 * store's checks (blank ids and names, version 0, APNs without material) are 500s. Secrets are
 * never answered.
 *
 * @since 0.1.0
 */
import type { Route } from "../Api.ts"
import { Body } from "./JsonBody.ts"
import { adminRoute, type Provider, pageOf, storeError } from "./PushModel.ts"
import { invalid, json } from "./Respond.ts"

/** Per route segment: the provider, its required plain fields and its secrets (required or not). */
const SPECS: Readonly<
  Record<
    string,
    {
      readonly provider: Provider
      readonly names: ReadonlyArray<string>
      readonly secrets: ReadonlyArray<readonly [field: string, required: boolean]>
    }
  >
> = {
  fcm: { provider: "fcm", names: [], secrets: [] },
  apns: {
    provider: "apns",
    names: [],
    secrets: [
      ["p12", false],
      ["p12Password", false],
      ["pem", false],
      ["privateKey", false]
    ]
  },
  webpush: { provider: "webPush", names: ["publicKey"], secrets: [["privateKey", true]] },
  hms: { provider: "hms", names: ["hmsAppId"], secrets: [["clientSecret", true]] },
  wns: { provider: "wns", names: ["packageSid"], secrets: [["clientSecret", true]] }
}

/**
 * The credential routes over a store's credentials (keyed by `credentialId`).
 *
 * @since 0.1.0
 */
export const credentialRoutes = (credentials: Map<string, Record<string, unknown>>): ReadonlyArray<Route> => [
  ...Object.entries(SPECS).map(([segment, spec]) =>
    adminRoute("POST", `/push/credentials/${segment}`, (request, app) => {
      const body = Body.of(request, "CredentialRequest", "push")
      const credentialId = body.optionalString("credentialId") ?? segment
      const version = body.optionalUint("version") ?? 1
      if (segment === "fcm" && body.value["serviceAccountJson"] === undefined) {
        body.error("missing field `serviceAccountJson`")
      }
      const names = spec.names.map((field) => body.string(field))
      const teamId = body.optionalString("teamId")
      const keyId = body.optionalString("keyId")
      const secrets = spec.secrets.map(([field, required]) =>
        required ? body.string(field) : body.optionalString(field)
      )
      if (secrets.some((s) => s !== undefined && s.trim() === "")) invalid("secret must not be empty")
      const blank = (s: string | undefined) => s !== undefined && s.trim() === ""
      if (blank(credentialId) || version === 0 || names.some(blank)) storeError()
      if (segment === "apns") {
        const [p12, , pem, privateKey] = secrets
        const token = teamId !== undefined && keyId !== undefined && privateKey !== undefined
        if (p12 === undefined && pem === undefined && !token) storeError()
        if (token && (blank(teamId) || blank(keyId))) storeError()
      }
      const credential = { app_id: app.appId, credential_id: credentialId, provider: spec.provider, version }
      credentials.set(credentialId, credential)
      return json(201, credential)
    })
  ),
  adminRoute("GET", "/push/credentials", (request, app) =>
    json(200, pageOf(request, app.appId, "credential", [...credentials]))
  )
]
