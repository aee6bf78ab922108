/**
 * The annotation model (sections 3.11 and 10.4): annotation events, the `namespace:summarizer.v1`
 * type parser, the wire form of an event and the five summarizers.
 *
 * @since 0.1.0
 */
import { invalid } from "./Respond.ts"
import { identifierError } from "./Serials.ts"

/**
 * The value under `key`, created by `make` on first use.
 *
 * @since 0.1.0
 */
export const getOrCreate = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
  const existing = map.get(key)
  if (existing !== undefined) return existing
  const created = make()
  map.set(key, created)
  return created
}

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
