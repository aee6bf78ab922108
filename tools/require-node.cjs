// Stops an npm script at once when Node is older than package.json's `engines.node`, saying what
// to do, instead of a crash deep inside a tool. CommonJS and ES2017 syntax on purpose: it has to
// run on the old Node it turns away.
"use strict"
const path = require("node:path")

/** The minimum `[major, minor, patch]` of a `>=X.Y.Z` range. */
const minimum = (range) => {
  const match = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(String(range).trim())
  if (!match) throw new Error(`engines.node must be of the form >=X.Y.Z, got ${JSON.stringify(range)}`)
  return [Number(match[1]), Number(match[2]), Number(match[3])]
}

/** `undefined` when `version` satisfies `range`, else the message to print. */
const check = (version, range) => {
  const need = minimum(range)
  const have = String(version).replace(/^v/, "").split(".").map(Number)
  for (let i = 0; i < 3; i++) {
    if ((have[i] || 0) > need[i]) return undefined
    if ((have[i] || 0) < need[i]) {
      return [
        `effect-sockudo needs Node ${range}; this is Node ${version}.`,
        "Get Node 24 with `. .ci/node-env.sh` (unpacks it from the npm registry into .node/ for this shell),",
        "or `nvm install` (reads .nvmrc), then run the command again."
      ].join("\n")
    }
  }
  return undefined
}

module.exports = { check, minimum }

if (require.main === module) {
  const range = require(path.join(__dirname, "..", "package.json")).engines.node
  const message = check(process.versions.node, range)
  if (message !== undefined) {
    process.stderr.write(`${message}\n`)
    process.exit(1)
  }
}
