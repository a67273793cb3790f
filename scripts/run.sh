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

# Known advisories of high or critical severity in what production runs fail the build. When the
# registry cannot answer an audit (some mirrors refuse the advisory endpoint), that is said and the
# run goes on: no answer is not a clean bill, and the line says so.
audit() {
  local out rc=0
  out=$(timeout 120 npm audit --omit=dev --audit-level=high 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "[audit] no known high or critical advisory in the production dependencies" >&2
  elif [ "$rc" -eq 124 ] || grep -qiE "audit endpoint returned an error|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|Method Not Allowed|ECONNREFUSED" <<<"$out"; then
    echo "[audit] the registry did not answer the advisory query; dependencies NOT checked this run" >&2
  else
    echo "$out" >&2
    echo "[audit] known high or critical advisories in production dependencies (above): update them" >&2
    return 1
  fi
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
    audit
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
