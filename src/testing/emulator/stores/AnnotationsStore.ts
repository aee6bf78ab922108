/**
 * Annotations (sections 3.11 and 10.4): publish, list and delete, the per-summarizer summaries
 * pushed to realtime subscribers, and the `annotation_created` / `annotation_deleted` webhooks.
 *
 * @since 0.1.0
 */
import { type AppHandle, ok, type Store } from "../Api.ts"
import {
  type AnnotationEvent,
  annotationJson,
  getOrCreate,
  parseAnnotationType,
  type Summarizer,
  summarize
} from "./AnnotationModel.ts"
import { jsonByteLength } from "./Bytes.ts"
import { Body } from "./JsonBody.ts"
import type { MessageState } from "./MessageState.ts"
import { messageNotFound, requireVersioned } from "./MessagesStore.ts"
import { queryUint, rejectDuplicateFields } from "./QueryParams.ts"
import { fail, invalid, route } from "./Respond.ts"
import { identifierError, requireMessageSerial } from "./Serials.ts"

const required = (label: string, value: string | undefined): void => {
  if (value === undefined || value.trim() === "") invalid(`${label} is required for this annotation type`)
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
    // The server publishes the raw annotation event like a message: history and a message version keep it.
    const raw = annotationJson(event)
    const name = "sockudo_internal:annotation"
    const published = { channel, name, data: JSON.stringify(raw), value: raw, publishedAtMs: event.timestamp }
    if (app.publish?.(published) !== true) app.broadcast(channel, name, published.data)
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
        const data = body.unreadableValue("data")
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
