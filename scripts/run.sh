#!/usr/bin/env bash
# The npm scripts' entry point: picks the Node.js everything runs on (scripts/node.sh), says which,
# then runs the command on it. The machine's npm stays the package manager; with our Node first
# on PATH, npm itself and every `#!/usr/bin/env node` tool run on that Node too.
#
#   bash scripts/run.sh start|up|down|status|test|lint|typecheck|bench|chaos|migrate|node [args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/node.sh
source scripts/node.sh
ensure_node
echo "[node] running on Node $(node -v) ($(command -v node))" >&2

# ESLint (type-aware) and Prettier's check; both read their config from the repo root.
lint() {
  npx --no-install eslint --max-warnings 0 .
  npx --no-install prettier --check --log-level warn .
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start) bash scripts/infra.sh up && exec node scripts/stack.mjs start "$@" ;;
  up) bash scripts/infra.sh up && exec node scripts/stack.mjs up "$@" ;;
  down) node scripts/stack.mjs down "$@" && exec bash scripts/infra.sh down ;;
  status) bash scripts/infra.sh status || true; exec node scripts/stack.mjs status ;;
  test)
    bash scripts/infra.sh up
    bash scripts/infra.sh browser
    npx --no-install tsc -p tsconfig.json --noEmit
    lint
    exec npx --no-install vitest run "$@"
    ;;
  lint) bash scripts/infra.sh generate && lint ;;
  typecheck) bash scripts/infra.sh generate && exec npx --no-install tsc -p tsconfig.json --noEmit ;;
  bench) bash scripts/infra.sh up && exec node bench/run.ts "$@" ;;
  chaos) exec node chaos/cli.ts "$@" ;;
  migrate) exec node lib/src/db/migrate-cli.ts "$@" ;;
  node) exec node "$@" ;;
  *) echo "usage: bash scripts/run.sh start|up|down|status|test|lint|typecheck|bench|chaos|migrate|node [args...]" >&2; exit 2 ;;
esac
