/**
 * The README's quick start, type-checked with the rest of the project. Run it against a server with
 * `SOCKUDO_URL=http://app-key:app-secret@127.0.0.1:6001/apps/app-id node examples/quickstart.ts`.
 */
import { Effect, ManagedRuntime } from "effect"
import { Sockudo } from "../src/index.ts"
import * as SockudoNode from "../src/Node.ts"

const program = Effect.gen(function* () {
  const sockudo = yield* Sockudo.Sockudo

  const receipt = yield* sockudo.trigger(
    "orders",
    "order.created",
    { id: "ord_1" },
    {
      socketId: "123.456",
      info: ["subscription_count"]
    }
  )
  console.log(receipt.idempotencyKey, receipt.channels.orders?.subscription_count)

  yield* sockudo.triggerBatch([
    { channel: "orders", name: "order.paid", data: { id: "ord_1" } },
    { channel: "audit", name: "order.paid", data: { id: "ord_1" } }
  ])
  yield* sockudo.sendToUser("user-1", "notice", { body: "hi" })

  const auth = yield* sockudo.authorizeChannel("123.456", "presence-room", {
    user_id: "u1",
    user_info: { name: "Ada" }
  })
  console.log(auth)
})

if (process.env.SOCKUDO_URL !== undefined) {
  const runtime = ManagedRuntime.make(SockudoNode.layerConfig)
  await runtime.runPromise(program)
  await runtime.dispose()
}
