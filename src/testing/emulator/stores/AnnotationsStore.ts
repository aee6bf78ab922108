/**
 * Annotations (sections 3.11 and 10.4): publish, list and delete, the per-summarizer summaries
 * pushed to realtime subscribers, and the `annotation_created` / `annotation_deleted` webhooks.
 *
 * @since 0.1.0
 */
import { type AppHandle, ok, type Store } from "../Api.ts"
import type { MessageState } from "./MessageState.ts"
import { messageNotFound, requireVersioned } from "./MessagesStore.ts"
import {
  Body,
  fail,
  getOrCreate,
  identifierError,
  invalid,
  jsonByteLength,
  queryUint,
  rejectDuplicateFields,
  requireMessageSerial,
  route
} from "./shared.ts"

/**
 * The five summarizers of `namespace:summarizer.v1`.
 *
 * @since 0.1.0
 */
export type Summarizer = "total" | "flag" | "distinct" | "unique" | "multiple"

/**
 * A stored annotation event (a create or the delete of a create).
 *
 * @since 0.1.0
 */
export interface AnnotationEvent {
  readonly action: "annotation.create" | "annotation.delete"
  readonly id: string
  readonly serial: string
  readonly messageSerial: string
  readonly type: string
  readonly name: string | undefined
  readonly clientId: string | undefined
  readonly count: number | undefined
  /** Absent when `undefined`. */
  readonly data: unknown
  readonly encoding: string | undefined
  readonly timestamp: number
}

/**
 * Parses an annotation type, returning its summarizer or rejecting with the server's 400.
 *
 * @since 0.1.0
 */
export const parseAnnotationType = (value: string): Summarizer => {
  const error = identifierError("annotation type", value, 256)
  if (error !== undefined) invalid(error)
  const colon = value.indexOf(":")
  if (colon === -1) invalid("annotation type must use namespace:summarizer.version")
  const namespaceError = identifierError("annotation namespace", value.slice(0, colon), 256)
  if (namespaceError !== undefined) invalid(namespaceError)
  const rest = value.slice(colon + 1)
  const dot = rest.lastIndexOf(".v")
  if (dot === -1) invalid("annotation type must use namespace:summarizer.version")
  const summarizer = rest.slice(0, dot)
  const version = rest.slice(dot + 2)
  if (!["total", "flag", "distinct", "unique", "multiple"].includes(summarizer)) {
    invalid(`unsupported annotation summarizer: ${summarizer}`)
  }
  if (!/^\+?\d+$/.test(version) || Number(version) > 65535) invalid(`invalid annotation summarizer version: ${version}`)
  if (Number(version) !== 1) invalid(`unsupported annotation summarizer version: ${Number(version)}`)
  return summarizer as Summarizer
}

const required = (label: string, value: string | undefined): void => {
  if (value === undefined || value.trim() === "") invalid(`${label} is required for this annotation type`)
}

/**
 * The wire form of an annotation event (list items and `sockudo_internal:annotation` data):
 * camelCase, `id` only on creates, absent optionals omitted.
 *
 * @since 0.1.0
 */
export const annotationJson = (event: AnnotationEvent): Record<string, unknown> => {
  const out: Record<string, unknown> = { action: event.action }
  if (event.action === "annotation.create") out["id"] = event.id
  out["serial"] = event.serial
  out["messageSerial"] = event.messageSerial
  out["type"] = event.type
  if (event.name !== undefined) out["name"] = event.name
  if (event.clientId !== undefined) out["clientId"] = event.clientId
  if (event.count !== undefined) out["count"] = event.count
  if (event.data !== undefined) out["data"] = event.data
  if (event.encoding !== undefined) out["encoding"] = event.encoding
  out["timestamp"] = event.timestamp
  return out
}

const sortedKeys = <V>(map: Map<string, V>): Array<[string, V]> =>
  [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

const identified = (clients: Set<string>, limit: number | undefined) => {
  const ids = [...clients].sort()
  return {
    total: ids.length,
    clientIds: limit === undefined ? ids : ids.slice(0, limit),
    clipped: limit !== undefined && ids.length > limit
  }
}

const removeFromName = (names: Map<string, Set<string>>, name: string, clientId: string): void => {
  const clients = names.get(name)
  if (clients === undefined) return
  clients.delete(clientId)
  if (clients.size === 0) names.delete(name)
}

/**
 * Folds the annotation events of one (message, type) into the summary of its summarizer
 * (section 10.4). `clientIdLimit` truncates client lists and sets `clipped`.
 *
 * @since 0.1.0
 */
export const summarize = (
  summarizer: Summarizer,
  events: ReadonlyArray<AnnotationEvent>,
  clientIdLimit?: number
): unknown => {
  const ordered = [...events].sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0))
  switch (summarizer) {
    case "total": {
      let total = 0
      for (const e of ordered) total = e.action === "annotation.create" ? total + 1 : Math.max(0, total - 1)
      return { total }
    }
    case "flag": {
      const clients = new Set<string>()
      for (const e of ordered) {
        if (e.action === "annotation.create") clients.add(e.clientId ?? "")
        else clients.delete(e.clientId ?? "")
      }
      return identified(clients, clientIdLimit)
    }
    case "distinct":
    case "unique": {
      const names = new Map<string, Set<string>>()
      const active = new Map<string, string>()
      for (const e of ordered) {
        const name = e.name ?? ""
        const client = e.clientId ?? ""
        if (e.action === "annotation.create") {
          if (summarizer === "unique") {
            const previous = active.get(client)
            active.set(client, name)
            if (previous !== undefined && previous !== name) removeFromName(names, previous, client)
          }
          getOrCreate(names, name, () => new Set<string>()).add(client)
        } else if (summarizer === "unique") {
          const current = active.get(client)
          active.delete(client)
          if (current !== undefined) removeFromName(names, current, client)
        } else {
          removeFromName(names, name, client)
        }
      }
      return Object.fromEntries(sortedKeys(names).map(([name, clients]) => [name, identified(clients, clientIdLimit)]))
    }
    case "multiple": {
      const buckets = new Map<string, { counts: Map<string, number>; unidentified: number }>()
      for (const e of ordered) {
        const name = e.name ?? ""
        const bucket = getOrCreate(buckets, name, () => ({ counts: new Map<string, number>(), unidentified: 0 }))
        if (e.action === "annotation.create") {
          const count = e.count ?? 1
          if (e.clientId !== undefined) bucket.counts.set(e.clientId, (bucket.counts.get(e.clientId) ?? 0) + count)
          else bucket.unidentified += count
        } else if (e.clientId !== undefined) {
          bucket.counts.delete(e.clientId)
        }
      }
      return Object.fromEntries(
        sortedKeys(buckets).map(([name, bucket]) => {
          const counts = sortedKeys(bucket.counts)
          const identifiedTotal = counts.reduce((sum, [, n]) => sum + n, 0)
          return [
            name,
            {
              total: identifiedTotal + bucket.unidentified,
              clientCounts: Object.fromEntries(clientIdLimit === undefined ? counts : counts.slice(0, clientIdLimit)),
              totalUnidentified: bucket.unidentified,
              clipped: clientIdLimit !== undefined && counts.length > clientIdLimit,
              totalClientIds: counts.length
            }
          ]
        })
      )
    }
  }
}

/**
 * Options of the annotations store.
 *
 * @since 0.1.0
 */
export interface AnnotationsOptions {
  /**
   * The app or namespace policy `annotations_enabled` for a channel; `false` answers 403
   * `forbidden` while the global switch (`features.annotations`) is on. Default: every channel.
   */
  readonly annotationsEnabledFor?: ((channel: string) => boolean) | undefined
  /** Largest realtime payload, for clipping summaries when `maxEventPayloadInKb` is unset; default 100 KiB. */
  readonly maxSummaryPayloadBytes?: number | undefined
  /** Largest page of the list route; default 100 (`versioned_messages.max_page_size`). */
  readonly maxPageSize?: number | undefined
}

/**
 * The annotations store of one app, over the shared message state (annotations need the
 * versioned message they target). Each change is followed by a `sockudo_internal:message`
 * summary (ephemeral, data `{action: "message.summary", serial, annotations: {summary: {type:
 * summary}}}`) and a `sockudo_internal:annotation` event carrying the list item, then the webhook.
 * Summaries are clipped (client lists truncated to 64, 32, ... ids) when their realtime message
 * would exceed the payload limit. A connected actor socket is treated as holding every
 * annotation capability; capability lists are not modelled.
 *
 * @since 0.1.0
 */
export const makeAnnotationsStore = (state: MessageState, options: AnnotationsOptions = {}): Store => {
  /** Annotation events per channel, in serial order. */
  const events = new Map<string, Array<AnnotationEvent>>()
  const channelEvents = (channel: string): Array<AnnotationEvent> => getOrCreate(events, channel, () => [])

  const requireAnnotations = (channel: string, app: AppHandle): void => {
    requireVersioned(channel, app)
    if (!app.features.annotations) {
      fail(422, "feature_disabled", `Annotations are disabled globally for channel '${channel}'`)
    }
    if (options.annotationsEnabledFor !== undefined && !options.annotationsEnabledFor(channel)) {
      fail(403, "forbidden", `Annotations are disabled by channel policy for channel '${channel}'`)
    }
  }
  const requireHistory = (channel: string, app: AppHandle): void => {
    if (!app.features.history) {
      fail(422, "feature_disabled", `Durable history is disabled by policy for channel '${channel}'`)
    }
  }

  const deliver = (app: AppHandle, channel: string, event: AnnotationEvent, summarizer: Summarizer): void => {
    const related = channelEvents(channel).filter(
      (e) => e.messageSerial === event.messageSerial && e.type === event.type
    )
    const maxPayload =
      app.limits.maxEventPayloadInKb !== undefined
        ? app.limits.maxEventPayloadInKb * 1024
        : (options.maxSummaryPayloadBytes ?? 100 * 1024)
    const summaryData = (limit: number | undefined) => ({
      action: "message.summary",
      serial: event.messageSerial,
      annotations: { summary: { [event.type]: summarize(summarizer, related, limit) } }
    })
    let limit: number | undefined
    let data = summaryData(limit)
    while (
      maxPayload > 0 &&
      limit !== 0 &&
      jsonByteLength({ event: "sockudo_internal:message", channel, data, extras: { ephemeral: true } }) > maxPayload
    ) {
      limit = limit === undefined ? 64 : Math.floor(limit / 2)
      data = summaryData(limit)
    }
    app.broadcast(channel, "sockudo_internal:message", JSON.stringify(data), { extras: { ephemeral: true } })
    app.broadcast(channel, "sockudo_internal:annotation", JSON.stringify(annotationJson(event)))
  }

  const requireActorSocket = (socketId: string | undefined, app: AppHandle, role: string): void => {
    if (socketId !== undefined && !app.isConnected(socketId)) {
      fail(401, "auth_failed", `Annotation ${role} socket '${socketId}' is not connected`)
    }
  }

  return {
    routes: [
      route("POST", "/channels/:channelName/messages/:messageSerial/annotations", (request, app) => {
        const body = Body.of(request, "PublishAnnotationRequest")
        const type = body.string("type")
        const name = body.optionalString("name")
        const clientId = body.optionalString("clientId")
        const socketId = body.optionalString("socketId")
        const count = body.optionalUint("count")
        const data = body.optionalValue("data")
        const encoding = body.optionalString("encoding")
        const channel = request.params["channelName"] ?? ""
        const rawSerial = request.params["messageSerial"] ?? ""
        requireAnnotations(channel, app)
        requireHistory(channel, app)
        if (count === 0) invalid("Annotation count must be greater than 0")
        const messageSerial = requireMessageSerial(rawSerial)
        if (state.chain(channel, messageSerial) === undefined) messageNotFound(channel, rawSerial)
        const summarizer = parseAnnotationType(type)
        requireActorSocket(socketId, app, "actor")
        let actor = clientId
        if (socketId !== undefined) {
          const user = app.userOf(socketId)
          if (clientId !== undefined && user !== clientId) {
            fail(401, "auth_failed", `Requested client_id '${clientId}' does not match authenticated actor`)
          }
          actor = user ?? clientId
        }
        if (summarizer === "distinct" || summarizer === "unique" || summarizer === "multiple") {
          required("annotation name", name)
        }
        if (summarizer === "flag" || summarizer === "distinct" || summarizer === "unique") {
          required("annotation client_id", actor)
        }
        const event: AnnotationEvent = {
          action: "annotation.create",
          id: state.newId(),
          serial: state.serials.next(request.nowMs),
          messageSerial,
          type,
          name,
          clientId: actor,
          count,
          data,
          encoding,
          timestamp: request.nowMs
        }
        channelEvents(channel).push(event)
        deliver(app, channel, event, summarizer)
        app.webhook({
          name: "annotation_created",
          channel,
          message_serial: rawSerial,
          annotation_serial: event.serial,
          annotation_type: type
        })
        return ok({ annotationSerial: event.serial })
      }),

      route("GET", "/channels/:channelName/messages/:messageSerial/annotations", (request, app) => {
        rejectDuplicateFields(request, ["type", "limit", "from_serial", "socket_id"])
        const requestedLimit = queryUint(request, "limit")
        const channel = request.params["channelName"] ?? ""
        const rawSerial = request.params["messageSerial"] ?? ""
        requireAnnotations(channel, app)
        requireHistory(channel, app)
        requireActorSocket(request.query["socket_id"], app, "subscriber")
        const messageSerial = requireMessageSerial(rawSerial)
        const max = options.maxPageSize ?? 100
        const limit = Math.min(requestedLimit ?? max, max)
        if (limit === 0) invalid("Annotation event limit must be greater than 0")
        const fromSerial = request.query["from_serial"]
        if (fromSerial !== undefined) {
          const error = identifierError("annotation serial", fromSerial, 128)
          if (error !== undefined) invalid(error)
        }
        const type = request.query["type"]
        if (type !== undefined) parseAnnotationType(type)
        const matching = channelEvents(channel)
          .filter(
            (e) =>
              e.messageSerial === messageSerial &&
              (type === undefined || e.type === type) &&
              (fromSerial === undefined || e.serial > fromSerial)
          )
          .sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0))
        const hasMore = matching.length > limit
        const page = matching.slice(0, limit)
        return ok({
          channel,
          messageSerial: rawSerial,
          limit,
          hasMore,
          nextCursor: hasMore ? (page[page.length - 1]?.serial ?? null) : null,
          items: page.map(annotationJson)
        })
      }),

      route(
        "DELETE",
        "/channels/:channelName/messages/:messageSerial/annotations/:annotationSerial",
        (request, app) => {
          const channel = request.params["channelName"] ?? ""
          const rawSerial = request.params["messageSerial"] ?? ""
          const targetSerial = request.params["annotationSerial"] ?? ""
          requireAnnotations(channel, app)
          const messageSerial = requireMessageSerial(rawSerial)
          const serialError = identifierError("annotation serial", targetSerial, 128)
          if (serialError !== undefined) invalid(serialError)
          const list = channelEvents(channel)
          const target =
            list.find((e) => e.serial === targetSerial) ??
            fail(404, "not_found", `Annotation '${targetSerial}' was not found in channel '${channel}'`)
          if (target.messageSerial !== messageSerial) {
            fail(404, "not_found", `Annotation '${targetSerial}' does not target message '${rawSerial}'`)
          }
          if (target.action !== "annotation.create") invalid("Only annotation.create events can be deleted")
          const socketId = request.query["socket_id"]
          requireActorSocket(socketId, app, "actor")
          if (socketId !== undefined && app.userOf(socketId) === undefined) {
            fail(403, "forbidden", "annotation-delete-any requires an identified client")
          }
          if (list.some((e) => e.action === "annotation.delete" && e.id === target.id)) {
            return ok({ annotationSerial: targetSerial, deletedAnnotationSerial: targetSerial })
          }
          const event: AnnotationEvent = {
            ...target,
            action: "annotation.delete",
            serial: state.serials.next(request.nowMs),
            data: undefined,
            encoding: undefined,
            timestamp: request.nowMs
          }
          list.push(event)
          deliver(app, channel, event, parseAnnotationType(target.type))
          app.webhook({
            name: "annotation_deleted",
            channel,
            message_serial: rawSerial,
            annotation_serial: event.serial,
            deleted_annotation_serial: targetSerial,
            annotation_type: target.type
          })
          return ok({ annotationSerial: event.serial, deletedAnnotationSerial: targetSerial })
        }
      )
    ]
  }
}
