// The browser side of the endpoint examples: pusher-js subscribes to a private, a presence and an
// encrypted channel through /pusher/auth, signs in through /pusher/user-auth, and shows what
// arrives. `window.demo` keeps it all for the browser test. Query: ?token=ada-token, and the
// channel names (?private=, ?presence=, ?encrypted=) to use other ones.
const params = new URLSearchParams(location.search)
const token = params.get("token") ?? "ada-token"
const channels = [
  params.get("private") ?? "private-orders",
  params.get("presence") ?? "presence-lobby",
  params.get("encrypted") ?? "private-encrypted-notes"
]

const demo = { socketId: null, subscribed: [], members: {}, received: [], user: null, userEvents: [], errors: [] }
window.demo = demo

const log = (text) => {
  const item = document.createElement("li")
  item.textContent = text
  document.getElementById("log").append(item)
}

const config = await (await fetch("/config.json")).json()
// #region pusher-js
const headers = { Authorization: `Bearer ${token}` }
const pusher = new Pusher(config.key, {
  cluster: "local",
  wsHost: config.wsHost,
  wsPort: config.wsPort,
  wssPort: config.wsPort,
  forceTLS: config.forceTLS,
  enabledTransports: ["ws", "wss"],
  channelAuthorization: { endpoint: "/pusher/auth", transport: "ajax", headers },
  userAuthentication: { endpoint: "/pusher/user-auth", transport: "ajax", headers }
})
// #endregion pusher-js
window.pusher = pusher

pusher.connection.bind("state_change", ({ current }) => {
  document.getElementById("state").textContent = current
  if (current === "connected") demo.socketId = pusher.connection.socket_id
})
pusher.connection.bind("error", (error) => {
  demo.errors.push({ where: "connection", error: JSON.parse(JSON.stringify(error)) })
})

for (const name of channels) {
  const channel = pusher.subscribe(name)
  channel.bind("pusher:subscription_succeeded", () => {
    demo.subscribed.push(name)
    if (channel.members !== undefined) {
      const members = []
      channel.members.each((member) => members.push({ id: member.id, info: member.info }))
      demo.members[name] = members
    }
    log(`subscribed to ${name}`)
  })
  channel.bind("pusher:subscription_error", (error) => {
    demo.errors.push({ where: name, status: error.status, type: error.type })
    log(`refused: ${name} (${error.status})`)
  })
  channel.bind_global((event, data) => {
    if (event.startsWith("pusher:") || event.startsWith("pusher_internal:")) return
    demo.received.push({ channel: name, event, data })
    log(`${name}: ${event} ${JSON.stringify(data)}`)
  })
}

pusher.user.bind_global((event, data) => {
  if (event.startsWith("pusher:")) return
  demo.userEvents.push({ event, data })
  log(`to me: ${event} ${JSON.stringify(data)}`)
})
pusher.signin()
pusher.user.signinDonePromise?.then(() => {
  demo.user = pusher.user.user_data
  document.getElementById("user").textContent = demo.user?.name ?? "?"
})
