/**
 * The emulator's durable stores: history, versioned messages, annotations, presence history
 * and push, each a framework-free `Store` (see `../Api.ts`) that the HTTP front mounts below
 * `/apps/{appId}`. `makeStores` builds one complete set for one app.
 *
 * @since 0.1.0
 */
import type { Store } from "../Api.ts"
import { type AnnotationsOptions, makeAnnotationsStore } from "./AnnotationsStore.ts"
import { makeHistoryStore } from "./HistoryStore.ts"
import { MessageState, type MessageStateOptions } from "./MessageState.ts"
import { makeMessagesStore } from "./MessagesStore.ts"
import { makePresenceHistoryStore, type PresenceHistoryOptions } from "./PresenceHistoryStore.ts"
import type { Provider } from "./PushModel.ts"
import { makePushStore } from "./PushStore.ts"

export {
  type AnnotationEvent,
  annotationJson,
  parseAnnotationType,
  type Summarizer,
  summarize
} from "./AnnotationModel.ts"
export { type AnnotationsOptions, makeAnnotationsStore } from "./AnnotationsStore.ts"
export { channelNameError } from "./ChannelNames.ts"
export { makeHistoryStore } from "./HistoryStore.ts"
export {
  type HistoryRetention,
  MessageState,
  type MessageStateOptions,
  type VersionRecord,
  versionedMessageJson
} from "./MessageState.ts"
export { makeMessagesStore } from "./MessagesStore.ts"
export { makePresenceHistoryStore, type PresenceHistoryOptions } from "./PresenceHistoryStore.ts"
export { makePushStore } from "./PushStore.ts"
export { type IdSource, SerialSource } from "./Serials.ts"

/**
 * Options of one app's set of stores. Every default follows the server's defaults.
 *
 * @since 0.1.0
 */
export interface StoresOptions extends MessageStateOptions {
  /** Presence-history retention; default a 24 h window. */
  readonly presenceHistoryRetention?: PresenceHistoryOptions["retention"]
  /** `presence_history.max_page_size`; default 100. */
  readonly presenceHistoryMaxPageSize?: number | undefined
  /** History is on server-wide, so presence history lives in its store (see `PresenceHistoryOptions`). */
  readonly presenceHistoryInHistoryStore?: boolean | undefined
  /** The push providers with a delivery worker (see `makePushStore`); default all. */
  readonly pushProviders?: ReadonlyArray<Provider> | undefined
  /** `versioned_messages.max_page_size` (versions and annotation lists); default 100. */
  readonly versionsMaxPageSize?: number | undefined
  /** Per-channel annotation policy (403 when `false`); default every channel. */
  readonly annotationsEnabledFor?: AnnotationsOptions["annotationsEnabledFor"]
  /** Payload limit for clipping annotation summaries when the app sets no event payload limit; default 100 KiB. */
  readonly maxSummaryPayloadBytes?: number | undefined
}

/**
 * One app's complete set of durable stores: history (which owns the publish hook), versioned
 * messages, annotations, presence history (which owns the presence hook) and push. Time comes
 * only from requests (`nowMs`) and events (`publishedAtMs`, `atMs`), so runs are deterministic
 * when the front pins its clock and `newId` is given.
 *
 * @since 0.1.0
 */
export const makeStores = (options: StoresOptions = {}): ReadonlyArray<Store> => {
  const state = new MessageState(options)
  return [
    makeHistoryStore(state),
    makeMessagesStore(state, { maxPageSize: options.versionsMaxPageSize ?? 100 }),
    makeAnnotationsStore(state, {
      annotationsEnabledFor: options.annotationsEnabledFor,
      maxSummaryPayloadBytes: options.maxSummaryPayloadBytes,
      maxPageSize: options.versionsMaxPageSize
    }),
    makePresenceHistoryStore({
      retention: options.presenceHistoryRetention,
      maxPageSize: options.presenceHistoryMaxPageSize,
      newId: options.newId,
      inHistoryStore: options.presenceHistoryInHistoryStore
    }),
    makePushStore({ newId: options.newId, providers: options.pushProviders })
  ]
}
