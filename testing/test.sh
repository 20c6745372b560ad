#!/usr/bin/env bash
# The one command that runs every test of cqlseq, integration tests included,
# against a real Apache Cassandra:
#
#   testing/test.sh [go test flags...]
#
# Unless CQLSEQ_HOSTS names a cluster of your own, it starts (or reuses) the
# local node with testing/cassandra/cassandra.sh, which fetches Cassandra from
# Maven Central on first use, and then the local 3-node cluster on 127.0.0.2-4
# for the multi-node tests (CQLSEQ_CLUSTER_HOSTS names another one instead;
# see testing/cassandra/README.md). Then it checks formatting and vet, and runs
# go test in every module of the repository. Extra arguments go to go test
# (for example -run TestStream). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

say() { printf '== %s\n' "$*"; }

command -v go >/dev/null || { echo "test.sh: Go is not installed (https://go.dev/dl/); cqlseq needs Go 1.24 or newer" >&2; exit 1; }

if [[ -z ${CQLSEQ_HOSTS:-} ]]; then
	say "starting (or reusing) the local Cassandra node"
	testing/cassandra/cassandra.sh start
else
	say "using the cluster in CQLSEQ_HOSTS=$CQLSEQ_HOSTS"
fi
# The multi-node tests default to the local cluster's usual addresses; only
# a cluster moved by CQLSEQ_CLUSTER_NODES/CQLSEQ_CLUSTER_NET/CQLSEQ_CLUSTER_PORT
# needs telling them.
local_cluster=false
if [[ -n ${CQLSEQ_CLUSTER_HOSTS:-} ]]; then
	say "using the multi-node cluster in CQLSEQ_CLUSTER_HOSTS=$CQLSEQ_CLUSTER_HOSTS"
elif [[ -z ${CQLSEQ_HOSTS:-} ]]; then
	cluster_hosts=$(testing/cassandra/cassandra.sh cluster hosts)
	say "starting (or reusing) the local Cassandra cluster on $cluster_hosts"
	testing/cassandra/cassandra.sh cluster start
	local_cluster=true
	if [[ $cluster_hosts != 127.0.0.2,127.0.0.3,127.0.0.4 ]]; then
		export CQLSEQ_CLUSTER_HOSTS=$cluster_hosts
		say "exported CQLSEQ_CLUSTER_HOSTS=$cluster_hosts"
	fi
else
	say "no local cluster started (CQLSEQ_HOSTS is set); set CQLSEQ_CLUSTER_HOSTS for the multi-node tests"
fi

# Every directory with a go.mod is a module to test: the core and the
# nested modules (front ends, examples, benchmarks) that keep their
# dependencies out of the core's go.mod.
mapfile -t modules < <(git ls-files --cached --others --exclude-standard '*go.mod' | xargs -n1 dirname | sort)

say "gofmt and go vet"
unformatted=$(gofmt -l $(printf '%s ' "${modules[@]}"))
if [[ -n $unformatted ]]; then
	echo "test.sh: these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi
for m in "${modules[@]}"; do
	(cd "$m" && go vet ./...)
done

status=0
for m in "${modules[@]}"; do
	say "go test in module ./$m"
	(cd "$m" && go test -race -count=1 -timeout 30m -v "$@" ./...) || status=$?
	[[ $status == 0 ]] || break
done

# When tests fail, say whether the node went away under them: a node that
# is shutting down fails requests before its process exits, so look for a
# few seconds.
node_gone() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		testing/cassandra/cassandra.sh status >/dev/null 2>&1 || return 0
		sleep 1
	done
	return 1
}
if [[ $status != 0 && -z ${CQLSEQ_HOSTS:-} ]] && node_gone; then
	echo >&2
	echo "test.sh: the local Cassandra node is not running: it stopped (or never started) during the tests." >&2
	echo "test.sh: its last log lines:" >&2
	testing/cassandra/cassandra.sh logs 30 >&2 || true
fi
# Fault tests kill and restart cluster nodes themselves; a node still down
# after a failure is worth knowing about.
if [[ $status != 0 && $local_cluster == true ]] && ! testing/cassandra/cassandra.sh cluster status >/dev/null 2>&1; then
	echo >&2
	echo "test.sh: not every node of the local cluster answers CQL after the tests:" >&2
	testing/cassandra/cassandra.sh cluster status >&2 || true
fi
say "done in $(($(date +%s) - started))s: $([[ $status == 0 ]] && echo PASS || echo "FAIL (exit $status)")"
exit "$status"
