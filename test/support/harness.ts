import { type Duration, Effect, Fiber, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Sockudo, type SockudoConfig } from "../../src/index.ts"
import * as SockudoTest from "../../src/testing/index.ts"

/** A retry backoff whose attempts land in distinct seconds, so each attempt has its own timestamp. */
export const everySecond = Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 3 }))

/** Answers with each reply in turn, then repeats the last one. */
export const sequence = (...replies: ReadonlyArray<SockudoTest.Reply>): SockudoTest.Handler => {
  let i = 0
  return () => replies[Math.min(i++, replies.length - 1)]!
}

export const layer = (handler?: SockudoTest.Handler, config?: Partial<SockudoConfig.Options>) =>
  SockudoTest.layer({ handler, config })

/** The recorded requests. */
export const requests = Effect.map(SockudoTest.RequestRecorder, (r) => r.requests)

/** Runs `effect` in the background and lets `TestClock` run every backoff sleep. */
export const withTime = <A, E, R>(effect: Effect.Effect<A, E, R>, advance: Duration.Input = "60 seconds") =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    yield* TestClock.adjust(advance)
    return yield* Fiber.join(fiber)
  })

export const sockudo = Sockudo.Sockudo
