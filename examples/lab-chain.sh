#!/usr/bin/env bash
# Three Ouroboros nodes in a chain on this host; ping and perf from n1 to n3 through n2. Needs root.
set -euo pipefail
ouro() { npx --no-install ouro "$@"; }
trap 'kill $(jobs -p) 2>/dev/null || true; ouro lab down >/dev/null' EXIT
ouro lab up --nodes 3 --topology chain
ouro lab name myping --on n3
ouro lab exec n3 -- npx --no-install ouro ping --listen myping &
ouro lab name myperf --on n3
ouro lab exec n3 -- npx --no-install ouro perf --listen myperf &
sleep 2
ouro lab exec n1 -- npx --no-install ouro ping myping -c 10
ouro lab exec n1 -- npx --no-install ouro perf myperf --duration 5
