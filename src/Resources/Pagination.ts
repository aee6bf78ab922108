/**
 * Cursor paging shared by history, presence history, message versions and annotations: a
 * `Stream` that requests the next page only when its consumer pulls past the current one, and a
 * decoder guard that turns a page claiming more without a usable cursor into a decode error
 * instead of an endless loop; and the checks of paging inputs (page size, direction, bounds).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type { Decoder } from "../Http.ts"
import * as Validation from "../Validation.ts"

/**
 * How to read one kind of page: its items, whether the server has more, and the cursor of the
 * next page (whatever the endpoint calls them).
 *
 * @since 0.1.0
 */
export interface Paging<P, A> {
  /** The items of a page. */
  readonly items: (page: P) => ReadonlyArray<A>
  /** Whether the server has a page after this one. */
  readonly hasMore: (page: P) => boolean
  /** The cursor of the next page, if any. */
  readonly next: (page: P) => string | null | undefined
}

/**
 * {@link Paging} of a page in the server's snake_case form (`items`, `has_more`, `next_cursor`),
 * as history, presence history and message versions answer.
 *
 * @since 0.1.0
 */
export const cursorPaging = <
  P extends {
    /** The page's items. */
    readonly items: ReadonlyArray<unknown>
    /** Whether another page follows. */
    readonly has_more: boolean
    /** The next page's cursor. */
    readonly next_cursor?: string | null | undefined
  }
>(): Paging<P, P["items"][number]> => ({
  items: (page) => page.items,
  hasMore: (page) => page.has_more,
  next: (page) => page.next_cursor
})

/**
 * Order of a paged read. The server also accepts aliases (`backwards`, `forwards`); the SDK
 * sends only these two.
 *
 * @since 0.1.0
 */
export type Direction = "newest_first" | "oldest_first"

/**
 * Wraps a page decoder so that a page announcing more items must carry a cursor, and one that
 * differs from the cursor it was requested with.
 *
 * @since 0.1.0
 */
export const advancing =
  <P, A>(paging: Paging<P, A>, decode: Decoder<P>, sent: string | undefined): Decoder<P> =>
  (json) =>
    Result.flatMap(decode(json), (page) => {
      if (!paging.hasMore(page)) return Result.succeed(page)
      const next = paging.next(page)
      if (next === null || next === undefined || next === "") {
        return Result.fail("the page says there is more but carries no cursor to the next page")
      }
      if (next === sent) return Result.fail(`the page returned the cursor it was requested with (${next})`)
      return Result.succeed(page)
    })

/**
 * Every item of every page, starting at `start` (`undefined`: the first page). `fetch` runs once
 * per page, when the consumer needs items beyond those already emitted, so `Stream.take(n)` only
 * requests the pages holding the first `n` items.
 *
 * @since 0.1.0
 */
export const follow = <P, A, E, R>(
  paging: Paging<P, A>,
  start: string | undefined,
  fetch: (cursor: string | undefined) => Effect.Effect<P, E, R>
): Stream.Stream<A, E, R> =>
  Stream.paginate(start, (cursor) =>
    Effect.map(fetch(cursor), (page) => {
      const next = paging.hasMore(page) ? paging.next(page) : undefined
      return [paging.items(page), next === null || next === undefined ? Option.none() : Option.some(next)] as const
    })
  )

/**
 * The options of the page a stream reads next: `options` with `key` set to the page's cursor.
 * Options that are not an object are passed on as they are, for the page read to refuse.
 *
 * @since 0.1.0
 */
export const withCursor = <O extends object, K extends string>(
  options: O | undefined,
  key: K,
  cursor: string | undefined
): O & { readonly [k in K]: string | undefined } =>
  (Validation.optionsReason(options) ? options : { ...options, [key]: cursor }) as O & {
    readonly [k in K]: string | undefined
  }

/**
 * The validation error of `field` (from `Validation`, where every resource takes it).
 *
 * @since 0.1.0
 */
export { invalid, validationError } from "../Validation.ts"

const isSafeInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n)

/**
 * Why a page size is not a positive integer, or `undefined`.
 *
 * @since 0.1.0
 */
export const limitReason = (limit: unknown): string | undefined =>
  isSafeInteger(limit) && limit > 0 ? undefined : "must be a positive integer"

/**
 * Why a serial bound is not a non-negative integer, or `undefined`.
 *
 * @since 0.1.0
 */
export const serialReason = (serial: unknown): string | undefined =>
  isSafeInteger(serial) && serial >= 0 ? undefined : "must be a non-negative integer"

/**
 * Why a millisecond timestamp is not an integer, or `undefined`.
 *
 * @since 0.1.0
 */
export const timeReason = (ms: unknown): string | undefined => (isSafeInteger(ms) ? undefined : "must be an integer")

/**
 * Why a direction is not one the SDK sends, or `undefined`.
 *
 * @since 0.1.0
 */
export const directionReason = (direction: unknown): string | undefined =>
  direction === "newest_first" || direction === "oldest_first" ? undefined : "must be 'newest_first' or 'oldest_first'"

/**
 * Why a cursor is not a non-empty string, or `undefined`.
 *
 * @since 0.1.0
 */
export const cursorReason = (cursor: unknown): string | undefined =>
  typeof cursor === "string" && cursor.length > 0 ? undefined : "must be a non-empty string"
