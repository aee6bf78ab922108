/**
 * The delivery counter of the publish benchmark's real-server target: a raw Pusher-protocol
 * WebSocket client of the Sockudo node, subscribed to the benchmark's channel, counting the
 * benchmark's events as they arrive. A publish the server answered 200 but did not deliver (or
 * delivered twice) shows up as a count that does not match.
 *
 * Run as a child process of `bench/publish.ts` (`child_process.fork`), so its CPU is not the
 * client's. Arguments: `<ws url> <channel> <event>`. Protocol over IPC:
 * - child -> parent `{ type: "ready" }` once subscribed, `{ type: "failed", reason }` if not;
 * - parent -> child `{ type: "count" }`, answered with `{ type: "count", events, closed }`
 *   (events since the start; `closed` is how the server closed the socket, if it did).
 * The child exits when the parent disconnects.
 */
const [url, channel, event] = process.argv.slice(2)
if (process.send === undefined || url === undefined || channel === undefined || event === undefined) {
  console.error("bench/subscriber.ts must be started by bench/publish.ts (IPC channel, <url> <channel> <event>)")
  process.exit(1)
}
const send = (message: object) => process.send?.(message)

// Every frame of the channel's events starts like this (Sockudo writes `event` first); matching
// the prefix keeps the counter far cheaper than the server it counts.
const eventPrefix = `{"event":${JSON.stringify(event)}`
let events = 0
let subscribed = false
let closed: string | undefined

const socket = new WebSocket(url)
socket.addEventListener("message", (message) => {
  const text = String(message.data)
  if (text.startsWith(eventPrefix)) {
    events++
    return
  }
  const frame = JSON.parse(text) as { event?: string; data?: unknown }
  if (frame.event === "pusher:connection_established") {
    socket.send(JSON.stringify({ event: "pusher:subscribe", data: { channel } }))
  } else if (frame.event === "pusher_internal:subscription_succeeded" && !subscribed) {
    subscribed = true
    send({ type: "ready" })
  } else if (frame.event === "pusher:ping") {
    socket.send(JSON.stringify({ event: "pusher:pong", data: {} }))
  } else if (frame.event === event) {
    events++
  } else if (frame.event === "pusher:error" && !subscribed) {
    send({ type: "failed", reason: text })
  }
})
socket.addEventListener("close", (e) => {
  closed = `code ${e.code} ${e.reason}`
  if (!subscribed) send({ type: "failed", reason: `the WebSocket closed before subscribing: ${closed}` })
})
socket.addEventListener("error", () => {
  if (!subscribed) send({ type: "failed", reason: `cannot connect to ${url}` })
})

process.on("message", (message: { type?: string }) => {
  if (message?.type === "count") send({ type: "count", events, closed })
})
process.on("disconnect", () => process.exit(0))
