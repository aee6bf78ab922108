/**
 * Durable channel history (sections 3.8 and 10.1): the paged read, stream state, reset and
 * purge routes, and the publish hook that appends every non-ephemeral publish (and, on
 * versioned channels, creates the message version).
 *
 * @since 0.1.0
 */
import { type AppHandle, apiError, ok, type Store } from "../Api.ts"
import type { HistoryRow, MessageState } from "./MessageState.ts"
import { versionedMessageJson } from "./MessageState.ts"
import {
  decodeCursor,
  decodeHistoryQuery,
  healthyState,
  parseDirection,
  type Retained,
  readPage,
  retainedOf,
  type Stream,
  validateDestructive,
  validatePageRequest
} from "./paging.ts"
import { Body, fail, invalid, jsonByteLength, requireValidChannel, route } from "./shared.ts"

const requireHistory = (channel: string, app: AppHandle): void => {
  requireValidChannel(channel, app)
  if (!app.features.history) {
    fail(422, "feature_disabled", `Durable history is disabled by policy for channel '${channel}'`)
  }
}

const retainedJson = (retained: Retained): Record<string, unknown> => ({
  stream_id: retained.stream_id,
  retained_messages: retained.count,
  retained_bytes: retained.retained_bytes,
  oldest_available_serial: retained.oldest_available_serial,
  newest_available_serial: retained.newest_available_serial,
  oldest_available_published_at_ms: retained.oldest_available_published_at_ms,
  newest_available_published_at_ms: retained.newest_available_published_at_ms
})

const inspection = (stream: Stream<HistoryRow>): Record<string, unknown> => ({
  stream_id: stream.streamId,
  next_serial: stream.nextSerial,
  retained: retainedJson(retainedOf(stream)),
  state: healthyState(stream.streamId, "history")
})

const PURGE_MODES = ["all", "before_serial", "before_time_ms"] as const

/**
 * The history store of one app over the shared message state. Its `onPublish` hook appends
 * each accepted publish (when history is on), applies message-layer idempotency (same
 * `message_id` / `extras.idempotencyKey` and payload: the original receipt; different payload:
 * 400), and on versioned channels creates the message's first version, returning its serials.
 *
 * On a versioned channel the hook itself delivers the create, with its `sockudo_*` headers in
 * `extras` and the publisher's socket excluded, through `app.broadcast`: a front that gets a
 * receipt carrying `message_serial` must not deliver that event again.
 *
 * @since 0.1.0
 */
export const makeHistoryStore = (state: MessageState): Store => ({
  routes: [
    route("GET", "/channels/:channelName/history", (request, app) => {
      const query = decodeHistoryQuery(request)
      const channel = request.params["channelName"] ?? ""
      requireHistory(channel, app)
      const direction = parseDirection(query.direction)
      const max = app.limits.maxHistoryPageSize
      const limit = Math.min(query.limit ?? max, max)
      if (limit === 0) invalid("History limit must be greater than 0")
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, "history")
      const stream = state.historyStream(channel, request.nowMs)
      const page = { direction, limit, cursor, bounds: query.bounds }
      validatePageRequest("history", app.appId, channel, page)
      const result = readPage("history", app.appId, channel, stream, page)
      const items = result.items.map((row) => {
        let message: Readonly<Record<string, unknown>> = row.message
        let eventName = row.eventName
        let operationKind = "append"
        let size = row.sizeBytes
        const latest =
          app.features.versionedMessages && row.messageSerial !== undefined
            ? state.chain(channel, row.messageSerial)?.latest
            : undefined
        if (latest !== undefined) {
          message = versionedMessageJson(channel, latest, "aggregate")
          eventName = `sockudo:message.${latest.action}`
          operationKind = `message.${latest.action}`
          size = jsonByteLength(message)
        }
        return {
          stream_id: row.streamId,
          serial: row.serial,
          published_at_ms: row.publishedAtMs,
          message_id: row.messageId,
          event_name: eventName,
          operation_kind: operationKind,
          payload_size_bytes: size,
          message
        }
      })
      const retained = result.retained
      return ok({
        items,
        direction,
        limit,
        has_more: result.hasMore,
        next_cursor: result.nextCursor,
        bounds: query.bounds,
        continuity: {
          stream_id: retained.stream_id,
          oldest_available_serial: retained.oldest_available_serial,
          newest_available_serial: retained.newest_available_serial,
          oldest_available_published_at_ms: retained.oldest_available_published_at_ms,
          newest_available_published_at_ms: retained.newest_available_published_at_ms,
          retained_messages: retained.count,
          retained_bytes: retained.retained_bytes,
          complete: result.complete,
          truncated_by_retention: result.truncatedByRetention
        },
        stream_state: healthyState(stream.streamId, "history")
      })
    }),

    route("GET", "/channels/:channelName/history/state", (request, app) => {
      const channel = request.params["channelName"] ?? ""
      requireHistory(channel, app)
      return ok({ channel, stream: inspection(state.historyStream(channel, request.nowMs)) })
    }),

    route("POST", "/channels/:channelName/history/reset", (request, app) => {
      const body = Body.of(request, "HistoryResetRequestBody")
      const confirmChannel = body.string("confirm_channel")
      const confirmOperation = body.string("confirm_operation")
      const reason = body.string("reason")
      const requestedBy = body.optionalString("requested_by") ?? null
      const channel = request.params["channelName"] ?? ""
      requireHistory(channel, app)
      validateDestructive(channel, confirmChannel, confirmOperation, "reset", reason)
      const stream = state.historyStream(channel, request.nowMs)
      const previous = stream.streamId
      const purgedMessages = stream.rows.length
      const purgedBytes = stream.retainedBytes
      stream.rows = []
      stream.retainedBytes = 0
      stream.nextSerial = 1
      stream.streamId = state.newId()
      return ok({
        ok: true,
        operation: "reset",
        channel,
        reason,
        requested_by: requestedBy,
        previous_stream_id: previous,
        new_stream_id: stream.streamId,
        purged_messages: purgedMessages,
        purged_bytes: purgedBytes,
        stream: inspection(stream)
      })
    }),

    route("POST", "/channels/:channelName/history/purge", (request, app) => {
      const body = Body.of(request, "HistoryPurgeRequestBody")
      const confirmChannel = body.string("confirm_channel")
      const confirmOperation = body.string("confirm_operation")
      const mode = body.variant("mode", PURGE_MODES)
      const beforeSerial = body.optionalUint("before_serial")
      const beforeTimeMs = body.optionalInt("before_time_ms")
      const reason = body.string("reason")
      const requestedBy = body.optionalString("requested_by") ?? null
      const channel = request.params["channelName"] ?? ""
      requireHistory(channel, app)
      validateDestructive(channel, confirmChannel, confirmOperation, "purge", reason)
      if (mode === "all" && (beforeSerial !== undefined || beforeTimeMs !== undefined)) {
        invalid("Purge mode 'all' does not accept bounds")
      }
      if (mode === "before_serial" && (beforeSerial === undefined || beforeTimeMs !== undefined)) {
        invalid("Purge mode 'before_serial' requires before_serial only")
      }
      if (mode === "before_time_ms" && (beforeTimeMs === undefined || beforeSerial !== undefined)) {
        invalid("Purge mode 'before_time_ms' requires before_time_ms only")
      }
      const stream = state.historyStream(channel, request.nowMs)
      const before = stream.rows.length
      const beforeBytes = stream.retainedBytes
      stream.rows = stream.rows.filter((row) =>
        mode === "all"
          ? false
          : mode === "before_serial"
            ? row.serial >= (beforeSerial ?? 0)
            : row.publishedAtMs >= (beforeTimeMs ?? 0)
      )
      stream.retainedBytes = stream.rows.reduce((sum, row) => sum + row.sizeBytes, 0)
      return ok({
        ok: true,
        operation: "purge",
        channel,
        mode,
        before_serial: beforeSerial ?? null,
        before_time_ms: beforeTimeMs ?? null,
        reason,
        requested_by: requestedBy,
        purged_messages: before - stream.rows.length,
        purged_bytes: beforeBytes - stream.retainedBytes,
        stream: inspection(stream)
      })
    })
  ],
  onPublish: (event, app) => {
    const result = state.publish(event, app)
    return "conflict" in result
      ? apiError(400, "invalid_input", "idempotency key was already used with a different payload")
      : result
  }
})
