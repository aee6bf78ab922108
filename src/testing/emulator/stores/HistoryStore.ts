/**
 * Durable channel history (sections 3.8 and 10.1): the paged read, stream state, reset and
 * purge routes, and the publish hook that appends every non-ephemeral publish (and, on
 * versioned channels, creates the message version).
 *
 * @since 0.1.0
 */
import { type AppHandle, apiError, ok, type Store } from "../Api.ts"
import { jsonByteLength } from "./Bytes.ts"
import { requireValidChannel } from "./ChannelNames.ts"
import type { HistoryRow, MessageState } from "./MessageState.ts"
import { versionedMessageJson } from "./MessageState.ts"
import { fail, invalid, route } from "./Respond.ts"
import {
  destructiveRequest,
  inspectionJson,
  pagedRead,
  pageJson,
  resetRoute,
  type StreamAccess
} from "./StreamRoutes.ts"
import type { Stream } from "./Streams.ts"

const requireHistory = (channel: string, app: AppHandle): void => {
  requireValidChannel(channel, app)
  if (!app.features.history) {
    fail(422, "feature_disabled", `Durable history is disabled by policy for channel '${channel}'`)
  }
}

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
export const makeHistoryStore = (state: MessageState): Store => {
  const access: StreamAccess<HistoryRow, Stream<HistoryRow>> = {
    kind: "history",
    require: requireHistory,
    streamOf: (channel, nowMs) => state.historyStream(channel, nowMs),
    maxPageSize: (app) => app.limits.maxHistoryPageSize,
    newId: () => state.newId()
  }
  return {
    routes: [
      route("GET", "/channels/:channelName/history", (request, app) => {
        const read = pagedRead(access, request, app)
        const { channel } = read
        const items = read.page.items.map((row) => {
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
        return ok(pageJson("history", read, items))
      }),

      route("GET", "/channels/:channelName/history/state", (request, app) => {
        const channel = request.params["channelName"] ?? ""
        requireHistory(channel, app)
        return ok({ channel, stream: inspectionJson("history", state.historyStream(channel, request.nowMs)) })
      }),

      resetRoute("/channels/:channelName/history/reset", access),

      route("POST", "/channels/:channelName/history/purge", (request, app) => {
        const { channel, reason, requestedBy, fields } = destructiveRequest(
          access,
          request,
          app,
          "purge",
          "HistoryPurgeRequestBody",
          (body) => ({
            mode: body.variant("mode", PURGE_MODES),
            beforeSerial: body.optionalUint("before_serial"),
            beforeTimeMs: body.optionalInt("before_time_ms")
          })
        )
        const { mode, beforeSerial, beforeTimeMs } = fields
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
          stream: inspectionJson("history", stream)
        })
      })
    ],
    onPublish: (event, app) => {
      const result = state.publish(event, app)
      return "conflict" in result
        ? apiError(400, "invalid_input", "idempotency key was already used with a different payload")
        : result
    }
  }
}
