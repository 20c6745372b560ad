#!/usr/bin/env bash
# Runs the demo: starts (or reuses) the local Cassandra node unless
# CQLSEQ_HOSTS names a cluster, then streams a table of a million rows with
# live progress. Arguments go to the demo (-rows, -fetch-size).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n ${CQLSEQ_HOSTS:-} ]] || testing/cassandra/cassandra.sh start
cd examples && exec go run ./demo "$@"
