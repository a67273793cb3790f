# Sourced by the project's shell scripts: puts a supported Node.js first on PATH.
# The machine's `node` is used when its major is at least SHOP_NODE_MIN_MAJOR; otherwise the
# official build of SHOP_NODE_VERSION for this platform is taken from the npm registry (the
# `node-<os>-<cpu>` packages hold Node's release binaries) and unpacked into the state folder,
# so a machine with an end-of-life Node still runs everything on a current one.
SHOP_NODE_VERSION="${SHOP_NODE_VERSION:-26.12.1}"
SHOP_NODE_MIN_MAJOR="${SHOP_NODE_MIN_MAJOR:-24}"

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

node_platform() {
  local os cpu
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; return 1 ;; esac
  case "$(uname -m)" in x86_64 | amd64) cpu=x64 ;; aarch64 | arm64) cpu=arm64 ;; *) echo "unsupported CPU $(uname -m)" >&2; return 1 ;; esac
  echo "$os-$cpu"
}

ensure_node() {
  local root state dir platform tmp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  state="${SHOP_STATE_DIR:-$root/.state}"
  if command -v node >/dev/null && [ "$(node_major)" -ge "$SHOP_NODE_MIN_MAJOR" ]; then return 0; fi
  dir="$state/node/$SHOP_NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null || { echo "[node] need npm (any version) to fetch Node $SHOP_NODE_VERSION" >&2; return 1; }
    platform="$(node_platform)" || return 1
    echo "[node] machine has Node $(node -v 2>/dev/null || echo none); fetching node-$platform@$SHOP_NODE_VERSION from the npm registry" >&2
    tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack --silent "node-$platform@$SHOP_NODE_VERSION" >/dev/null) || { rm -rf "$tmp"; echo "[node] npm pack node-$platform@$SHOP_NODE_VERSION failed" >&2; return 1; }
    mkdir -p "$tmp/unpacked"
    tar xzf "$tmp"/node-*.tgz -C "$tmp/unpacked" --strip-components=1
    chmod +x "$tmp/unpacked/bin/node"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir" && mv "$tmp/unpacked" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}
