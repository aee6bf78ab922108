/**
 * Differential scenarios: written once, run against the real server and against the emulator,
 * then compared. A scenario asserts what it observed on each peer (a client received it, history
 * holds it); the comparison then requires every HTTP answer, every event a client received and
 * every webhook to be equal in normal form (`normalize.ts`), except for the differences listed,
 * with their reasons, in the table "Differences from Sockudo" of `docs/emulator.md`.
 */
import { appendFileSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Emulator } from "../../../src/testing/index.ts"
import { resultsDir } from "./env.ts"
import { type Difference, diff, diffExchanges, type Names, normalizeExchange, normalizeJson } from "./normalize.ts"
import {
  closeSession,
  emulatorPeer,
  openSession,
  type Peer,
  type Session,
  type SessionRecord,
  sockudoPeer
} from "./peers.ts"
import { onceVacated } from "./webhooks.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** A documented difference: a row of the table in `docs/emulator.md`. */
export interface KnownDifference {
  /** A scenario title, or `*`. */
  readonly scenario: string
  /** A pattern over `Difference.where` without its `#n ` prefix; `*` matches anything. */
  readonly where: string
  readonly reason: string
}

/** The rows of the table under the heading "Differences from Sockudo" in `docs/emulator.md`. */
export const knownDifferences = (): ReadonlyArray<KnownDifference> => {
  const text = readFileSync(path.join(root, "docs/emulator.md"), "utf8")
  const start = text.search(/^#+ .*Differences from Sockudo/m)
  if (start < 0) throw new Error("docs/emulator.md has no 'Differences from Sockudo' section")
  const rows: Array<KnownDifference> = []
  for (const line of text.slice(start).split("\n").slice(1)) {
    if (/^#+ /.test(line)) break
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"))
    if (cells.length < 5 || cells[1] === "Scenario" || /^-+$/.test(cells[1] ?? "")) continue
    const unquote = (c: string) => c.replace(/^`|`$/g, "")
    rows.push({ scenario: unquote(cells[1]!), where: unquote(cells[2]!), reason: cells[cells.length - 2]! })
  }
  return rows
}

const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`
  )

export const explains = (known: KnownDifference, scenario: string, difference: Difference): boolean =>
  (known.scenario === "*" || known.scenario === scenario) &&
  globToRegExp(known.where).test(difference.where.replace(/^#\d+ /, ""))

/** Identifies a row of the table. */
export const rowId = (known: KnownDifference): string => `${known.scenario} · ${known.where}`

/** Where the comparisons of this run are written, one JSON line each (summarised by `globalSetup.ts`). */
export const resultsFile = (): string => path.join(resultsDir(), "differential.jsonl")

/** The normal form of everything one peer did in a scenario. */
const normalForm = (record: SessionRecord) => {
  const names: Names = {
    placeholders: [...record.names.entries()]
      .map(([base, actual]) => [actual, `{${base}}`] as const)
      .sort((a, b) => b[0].length - a[0].length)
  }
  return {
    names,
    exchanges: record.recorder.exchanges.map((e) => normalizeExchange(e, names)),
    clients: record.clients.map((c) => normalizeJson(c.events(), names))
  }
}

/**
 * Webhook events in normal form, sorted (the server's delivery order is not guaranteed), a
 * repeated vacancy counted once (`onceVacated`).
 */
const sortedEvents = (events: ReadonlyArray<unknown>, names: Names) =>
  onceVacated(events)
    .map((e) => normalizeJson(e, names))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

/**
 * The peers of one test file, started before its scenarios and closed after them: by default
 * the node of `config/node.toml` and an emulator configured like it.
 */
export const usePeers = (
  options: {
    /** Another node of `server.sh` (its port), for example the rate-limited one. */
    readonly port?: () => number
    /** The emulator's options, given the URL its webhooks go to. */
    readonly emulator?: (webhookUrl: string) => Emulator.Options
  } = {}
): { readonly sockudo: Peer; readonly emulator: Peer } => {
  const peers: { sockudo?: Peer; emulator?: Peer } = {}
  beforeAll(async () => {
    peers.sockudo = await sockudoPeer(options.port?.())
    peers.emulator = await emulatorPeer(options.emulator)
  })
  afterAll(async () => {
    await peers.sockudo?.close()
    await peers.emulator?.close()
  })
  return {
    get sockudo() {
      return peers.sockudo!
    },
    get emulator() {
      return peers.emulator!
    }
  }
}

let scenarios = 0

export interface ScenarioOptions {
  /** Compare the webhooks the scenario's names produced (wait for them in the scenario). */
  readonly webhooks?: boolean
  /**
   * Also compare every client's frames whose event matches, protocol frames included (by default
   * only application events are compared), e.g. `/^sockudo(_internal)?:message/`.
   */
  readonly frames?: RegExp
  readonly timeout?: number
}

/**
 * A scenario run on both peers, then compared. `scenario` asserts behaviour with `expect`; its
 * exchanges, client events and (with `webhooks`) webhooks are compared after both runs.
 */
export const differential = (
  peers: { readonly sockudo: Peer; readonly emulator: Peer },
  title: string,
  scenario: (session: Session) => Promise<void>,
  options: ScenarioOptions = {}
): void => {
  const number = ++scenarios
  const forms: Partial<
    Record<"sockudo" | "emulator", ReturnType<typeof normalForm> & { webhooks: unknown; frames: unknown }>
  > = {}
  describe(title, () => {
    for (const kind of ["sockudo", "emulator"] as const) {
      it(`on ${kind === "sockudo" ? "Sockudo" : "the emulator"}`, { timeout: options.timeout ?? 30_000 }, async () => {
        const { session, record } = openSession(peers[kind], number)
        try {
          await scenario(session)
        } finally {
          await closeSession(record)
        }
        const form = normalForm(record)
        const frames = options.frames
        forms[kind] = {
          ...form,
          webhooks: options.webhooks ? sortedEvents(session.webhooks(), form.names) : [],
          frames:
            frames === undefined
              ? []
              : record.clients.map((c) =>
                  normalizeJson(
                    c.frames().filter((f) => frames.test(f.event)),
                    form.names
                  )
                )
        }
      })
    }
    it("the emulator answered as Sockudo did", () => {
      const a = forms.sockudo
      const b = forms.emulator
      if (a === undefined || b === undefined) throw new Error("a peer's run failed: nothing to compare")
      const differences = [
        ...diffExchanges(a.exchanges, b.exchanges),
        ...diff("client events", a.clients, b.clients),
        ...diff("client frames", a.frames, b.frames),
        ...diff("webhooks", a.webhooks, b.webhooks)
      ]
      const known = knownDifferences()
      const explained = differences.filter((d) => known.some((k) => explains(k, title, d)))
      const unexplained = differences.filter((d) => !explained.includes(d))
      appendFileSync(
        resultsFile(),
        `${JSON.stringify({
          scenario: title,
          exchanges: a.exchanges.length,
          clients: a.clients.length,
          webhooks: (a.webhooks as Array<unknown>).length,
          differences: differences.length,
          explained: explained.map((d) => ({
            where: d.where,
            row: rowId(known.find((k) => explains(k, title, d))!)
          })),
          unexplained
        })}\n`
      )
      if (unexplained.length > 0 && process.env.SOCKUDO_TEST_DEBUG) {
        console.log(JSON.stringify({ sockudo: a, emulator: b }, null, 1))
      }
      expect(unexplained, "differences not listed in docs/emulator.md").toEqual([])
    })
  })
}
