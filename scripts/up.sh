#!/usr/bin/env bash
# One command to a working cluster on this machine: Debian packages (crun, conmon, CNI plugins,
# iptables, ...), npm dependencies and the build, then `skiff up` (flags are passed on). Root is
# needed for real pods (namespaces, cgroups, the pod bridge).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
exec node bin/skiff.js up "$@"
