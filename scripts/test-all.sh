#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, npm dependencies, then lint,
# typecheck, build, unit and e2e tests. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm test
