/**
 * Versioned messages (sections 3.10 and 10.3): the latest view, the paged versions list and the
 * update, delete and append mutations with their op_id replay, realtime broadcasts and
 * `message_version_created` webhooks.
 *
 * @since 0.1.0
 */
import { type ApiRequest, type AppHandle, badQuery, ok, type Store } from "../Api.ts"
import { byteLength } from "../Names.ts"
import { canonicalJson } from "./Bytes.ts"
import { requireValidChannel } from "./ChannelNames.ts"
import { Body, decodeExtras } from "./JsonBody.ts"
import {
  type MessageAction,
  type MessageState,
  runtimeExtras,
  type VersionChain,
  type VersionRecord,
  versionedMessageJson,
  wireData
} from "./MessageState.ts"
import { queryUint, rejectDuplicateFields } from "./QueryParams.ts"
import { fail, invalid, reject, route } from "./Respond.ts"
import { identifierError, requireMessageSerial } from "./Serials.ts"

/**
 * Rejects when versioned messages are off (422, the server's message).
 *
 * @since 0.1.0
 */
export const requireVersioned = (channel: string, app: AppHandle): void => {
  requireValidChannel(channel, app)
  if (!app.features.versionedMessages) {
    fail(422, "feature_disabled", `Versioned messages are disabled for channel '${channel}'`)
  }
}

/**
 * The 404 for an unknown message serial.
 *
 * @since 0.1.0
 */
export const messageNotFound = (channel: string, messageSerial: string): never =>
  fail(404, "not_found", `Message '${messageSerial}' was not found in channel '${channel}'`)

const CLEAR_FIELDS = ["name", "data", "extras"] as const
type ClearField = (typeof CLEAR_FIELDS)[number]

/** A decoded mutation request, common to update, delete and append. */
interface Mutation {
  readonly action: "update" | "delete" | "append"
  readonly name: string | undefined
  readonly data: unknown
  readonly extras: Readonly<Record<string, unknown>> | undefined
  readonly clearFields: ReadonlyArray<ClearField>
  readonly clientId: string | undefined
  readonly socketId: string | undefined
  readonly description: string | undefined
  readonly metadata: unknown
  readonly opId: string | undefined
}

const decodeMutation = (request: ApiRequest, action: Mutation["action"]): Mutation => {
  const struct =
    action === "update" ? "UpdateMessageRequest" : action === "delete" ? "DeleteMessageRequest" : "AppendMessageRequest"
  const body = Body.of(request, struct)
  const name = action === "update" ? body.optionalString("name") : undefined
  const data = action === "append" ? body.string("data") : body.optionalValue("data")
  const extras = decodeExtras(body, "extras")
  const clearFields =
    action === "append"
      ? []
      : (body.optionalArray("clear_fields") ?? []).map((field) => body.checkVariant(field, CLEAR_FIELDS))
  return {
    action,
    name,
    data,
    extras,
    clearFields,
    clientId: body.optionalString("client_id"),
    socketId: body.optionalString("socket_id"),
    description: body.optionalString("description"),
    metadata: body.unreadableValue("metadata"),
    opId: body.optionalString("op_id")
  }
}

const aiStatusDone = (extras: Readonly<Record<string, unknown>> | undefined): boolean => {
  const ai = extras?.["ai"] as Readonly<Record<string, unknown>> | undefined
  return ["codec", "transport"].some((part) => {
    const status = (ai?.[part] as Readonly<Record<string, unknown>> | undefined)?.["status"]
    return status === "complete" || status === "cancelled"
  })
}

const validateMutation = (m: Mutation): void => {
  if (m.action === "append") {
    if (m.data === "" && !aiStatusDone(m.extras)) invalid("append request data must not be empty")
    return
  }
  if (
    m.action === "update" &&
    m.name === undefined &&
    m.data === undefined &&
    m.extras === undefined &&
    m.clearFields.length === 0 &&
    m.clientId === undefined &&
    m.description === undefined &&
    m.metadata === undefined &&
    m.opId === undefined
  ) {
    invalid("update request must include at least one patch field or operation metadata")
  }
  if (new Set(m.clearFields).size !== m.clearFields.length) invalid("clear_fields must not contain duplicates")
  const replaced = { name: m.name !== undefined, data: m.data !== undefined, extras: m.extras !== undefined }
  if (m.clearFields.some((field) => replaced[field])) {
    invalid(`${m.action} request cannot both replace and clear the same field`)
  }
}

/** The mutation's actor: the socket's signed-in user when a socket is given, else `client_id`. */
const resolveActor = (m: Mutation, app: AppHandle): string | undefined => {
  if (m.socketId === undefined) return m.clientId
  if (!app.isConnected(m.socketId)) fail(401, "auth_failed", `Mutation actor socket '${m.socketId}' is not connected`)
  const actor = app.userOf(m.socketId)
  if (m.clientId !== undefined) {
    if (actor === undefined) {
      fail(401, "auth_failed", "Mutation actor socket is not signed in with an identified client")
    }
    if (actor !== m.clientId) {
      fail(401, "auth_failed", `Requested client_id '${m.clientId}' does not match authenticated actor '${actor}'`)
    }
  }
  return actor ?? m.clientId
}

/** Who a mutation's broadcast names as its `user_id`: the latest version's client id, else an earlier one's. */
const publisherOf = (chain: VersionChain): string | undefined =>
  chain.versions.findLast((version) => version.clientId !== undefined)?.clientId

const patched = <A>(current: A, replacement: A | undefined, clear: boolean): A | undefined =>
  clear ? undefined : replacement !== undefined ? replacement : current

const mutationResponse = (channel: string, messageSerial: string, record: VersionRecord, status: string) => ({
  channel,
  message_serial: messageSerial,
  action: record.action,
  accepted: true,
  version_serial: record.versionSerial,
  history_serial: record.historySerial,
  delivery_serial: record.deliverySerial,
  status
})

const mutate = (state: MessageState, action: Mutation["action"]) => (request: ApiRequest, app: AppHandle) => {
  const m = decodeMutation(request, action)
  const channel = request.params["channelName"] ?? ""
  const rawSerial = request.params["messageSerial"] ?? ""
  requireVersioned(channel, app)
  if (!app.features.history) {
    fail(422, "feature_disabled", `Durable history is disabled by policy for channel '${channel}'`)
  }
  const messageSerial = requireMessageSerial(rawSerial)
  validateMutation(m)
  const chain: VersionChain = state.chain(channel, messageSerial) ?? messageNotFound(channel, messageSerial)
  const actor = resolveActor(m, app)
  const fingerprint = canonicalJson({
    name: m.name,
    data: m.data,
    extras: m.extras,
    clear_fields: m.clearFields,
    client_id: actor,
    description: m.description,
    metadata: m.metadata
  })
  if (m.opId !== undefined) {
    if (m.opId === "" || byteLength(m.opId) > 64) invalid("op_id must be 1..=64 bytes")
    const previous = chain.operations.get(`${action}\0${m.opId}`)
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) invalid("idempotency key was already used with a different payload")
      return ok(mutationResponse(channel, rawSerial, previous.record, "duplicate"))
    }
  }
  const current = chain.latest
  let data: unknown
  let appendFragment: string | undefined
  if (action === "append") {
    if (current.data !== undefined && typeof current.data !== "string") {
      invalid("append requires string message data in the release 4.3 core model")
    }
    appendFragment = m.data as string
    data = `${(current.data as string | undefined) ?? ""}${appendFragment}`
  } else {
    data = patched(current.data, m.data, m.clearFields.includes("data"))
  }
  const record = state.appendVersion(channel, chain, request.nowMs, (versionSerial, deliverySerial) => ({
    action: action as MessageAction,
    messageSerial,
    versionSerial,
    historySerial: current.historySerial,
    deliverySerial,
    timestampMs: request.nowMs,
    clientId: actor,
    description: m.description,
    metadata: m.metadata,
    name: patched(current.name, m.name, m.clearFields.includes("name")),
    data,
    extras: patched(current.extras, m.extras, m.clearFields.includes("extras")),
    appendFragment
  }))
  if (m.opId !== undefined) chain.operations.set(`${action}\0${m.opId}`, { fingerprint, record })
  app.webhook({
    name: "message_version_created",
    channel,
    message_serial: rawSerial,
    version_serial: record.versionSerial,
    action: `message.${action}`
  })
  // An append reaches V2 connections as its fragment (the server's default `append_mode=delta`).
  const delivered = action === "append" ? appendFragment : record.data
  const wire = delivered === undefined ? undefined : wireData(delivered)
  app.broadcast(channel, `sockudo:message.${action}`, wire ?? "", {
    extras: runtimeExtras(record),
    frame: { data: wire, name: record.name, user_id: publisherOf(chain) }
  })
  return ok(mutationResponse(channel, rawSerial, record, "applied"))
}

const DIRECTIONS = ["newest_first", "oldest_first"] as const

/**
 * The versioned-messages store of one app over the shared message state. Without `socket_id`
 * the HTTP caller is privileged (any message, `client_id` recorded as attribution). With a
 * `socket_id`, the socket must be a connected simulated connection (else 401) and its
 * signed-in user must match `client_id` when both are given; the emulator does not model
 * connection capabilities, so a connected socket may mutate any message.
 *
 * @since 0.1.0
 */
export const makeMessagesStore = (state: MessageState, options: { readonly maxPageSize?: number } = {}): Store => ({
  routes: [
    route("GET", "/channels/:channelName/messages/:messageSerial", (request, app) => {
      const channel = request.params["channelName"] ?? ""
      const rawSerial = request.params["messageSerial"] ?? ""
      requireVersioned(channel, app)
      const messageSerial = requireMessageSerial(rawSerial)
      const chain = state.chain(channel, messageSerial) ?? messageNotFound(channel, rawSerial)
      return ok({ channel, item: versionedMessageJson(channel, chain.latest, "aggregate") })
    }),

    route("GET", "/channels/:channelName/messages/:messageSerial/versions", (request, app) => {
      rejectDuplicateFields(request, ["limit", "direction", "cursor"])
      const requestedLimit = queryUint(request, "limit")
      const rawDirection = request.query["direction"]
      if (rawDirection !== undefined && !(DIRECTIONS as ReadonlyArray<string>).includes(rawDirection)) {
        reject(badQuery(`unknown variant \`${rawDirection}\`, expected \`newest_first\` or \`oldest_first\``))
      }
      const direction = (rawDirection ?? "newest_first") as (typeof DIRECTIONS)[number]
      const channel = request.params["channelName"] ?? ""
      const rawSerial = request.params["messageSerial"] ?? ""
      requireVersioned(channel, app)
      if (requestedLimit === 0) invalid("versions limit must be greater than 0")
      const messageSerial = requireMessageSerial(rawSerial)
      const chain = state.chain(channel, messageSerial) ?? messageNotFound(channel, rawSerial)
      const max = options.maxPageSize ?? 100
      const limit = Math.min(requestedLimit ?? max, max)
      const cursor = request.query["cursor"]
      if (cursor !== undefined) {
        const error = identifierError("version_serial", cursor, 128)
        if (error !== undefined) invalid(error)
      }
      const ordered =
        direction === "newest_first"
          ? chain.versions.filter((v) => cursor === undefined || v.versionSerial < cursor).reverse()
          : chain.versions.filter((v) => cursor === undefined || v.versionSerial > cursor)
      const hasMore = ordered.length > limit
      const page = ordered.slice(0, limit)
      const body: Record<string, unknown> = { channel, direction, limit, has_more: hasMore }
      const last = page[page.length - 1]
      if (hasMore && last !== undefined) body["next_cursor"] = last.versionSerial
      body["items"] = page.map((record) => versionedMessageJson(channel, record, "mutation"))
      return ok(body)
    }),

    route("POST", "/channels/:channelName/messages/:messageSerial/update", mutate(state, "update")),
    route("POST", "/channels/:channelName/messages/:messageSerial/delete", mutate(state, "delete")),
    route("POST", "/channels/:channelName/messages/:messageSerial/append", mutate(state, "append"))
  ]
})
