#!/usr/bin/env bash
# The one command that runs every test of cqlseq, integration tests included,
# against a real Apache Cassandra:
#
#   testing/test.sh [go test flags...]
#
# Unless CQLSEQ_HOSTS names a cluster of your own, it starts (or reuses), in
# the background, the local node with testing/cassandra/cassandra.sh, which
# fetches Cassandra from Maven Central on first use, and then the local
# 3-node cluster on 127.0.0.2-4 for the multi-node tests
# (CQLSEQ_CLUSTER_HOSTS names another one instead; see
# testing/cassandra/README.md). Meanwhile it runs the static checks, which
# need no Cassandra: gofmt, go vet and staticcheck (a pinned version,
# installed once into the cache directory) in every module of the
# repository, and builds the tests. Then it runs go test in every module.
#
# The tests on the multi-node cluster are named TestCluster* (their helpers
# fail any other that connects to it). Some kill and restart its nodes, so
# they run one module after another, in processes of their own (-run
# '^TestCluster'), beside the other tests of every module (-skip
# '^TestCluster'), which use the node on 127.0.0.1 and the fault tests' own
# node, never the cluster: the two halves take about as long, and most of it
# is waiting for Cassandra. The second half's output follows the first's.
#
# Extra arguments go to go test (for example -run TestStream); then every
# module runs once, in turn, with them. With -short (and without CI=true)
# no node is started: go test -short runs the unit tests only, and every
# test that needs Cassandra skips. CI runs exactly this, without arguments
# (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

say() { printf '== %s\n' "$*"; }

command -v go >/dev/null || { echo "test.sh: Go is not installed (https://go.dev/dl/); cqlseq needs Go 1.24 or newer" >&2; exit 1; }

# Every directory with a go.mod is a module to test: the core and the
# nested modules (front ends, examples, benchmarks, fault tests) that keep
# their dependencies out of the core's go.mod.
mapfile -t modules < <(git ls-files --cached --others --exclude-standard '*go.mod' | xargs -n1 dirname | sort)
if [[ ${#modules[@]} == 0 || ${modules[0]} != . ]]; then
	echo "test.sh: found no Go modules here (run it in a git checkout of cqlseq): git ls-files listed ${modules[*]:-none}" >&2
	exit 1
fi
# A module with a go.upstream.work (cqlseqgocql) is also checked, built and
# tested in that workspace: on upstream gocql, where the repository's
# workspace builds every module against ScyllaDB's fork (cqlseqx's replace
# applies to all of them; see README.md). GOWORK must be an absolute path.
upstream=()
for m in "${modules[@]}"; do
	[[ -f $m/go.upstream.work ]] && upstream+=("$m")
done
root=$PWD
upstream_work() { echo "$root/$1/go.upstream.work"; }

short=false
if [[ ${CI:-} != true ]]; then
	for a in "$@"; do
		[[ $a == -short || $a == -short=true || $a == -test.short || $a == -test.short=true ]] && short=true
	done
fi

# The local node and cluster start in the background, beside the static
# checks and the build: on a fresh machine the first fetches Cassandra's
# jars from Maven Central while Go fetches modules, and a node's start
# (mostly one JVM thread) leaves room for the compiler. The tests wait for
# them below.
local_cluster=false
nodes_log=$(mktemp -t cqlseq-nodes.XXXXXX)
beside_log=$(mktemp -t cqlseq-test.XXXXXX)
trap 'rm -f "$nodes_log" "$beside_log"' EXIT
nodes=
if [[ $short == false && -z ${CQLSEQ_HOSTS:-} ]]; then
	cluster_hosts=$(testing/cassandra/cassandra.sh cluster hosts)
	say "starting (or reusing) the local Cassandra node, then the cluster on $cluster_hosts, in the background (log: $nodes_log)"
	(
		testing/cassandra/cassandra.sh start
		[[ -n ${CQLSEQ_CLUSTER_HOSTS:-} ]] || testing/cassandra/cassandra.sh cluster start
	) >"$nodes_log" 2>&1 &
	nodes=$!
fi

say "gofmt and go vet"
unformatted=$(gofmt -l "${modules[@]}")
if [[ -n $unformatted ]]; then
	echo "test.sh: these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	exit 1
fi
# vet and staticcheck type-check the packages as the tests build them
# (-race): the dependencies are compiled once, for the three.
for m in "${modules[@]}"; do
	(cd "$m" && go vet -race ./...)
done
for m in "${upstream[@]}"; do
	(cd "$m" && GOWORK=$(upstream_work "$m") go vet -race ./...)
done

# staticcheck at a pinned version, so that a new release finds nothing new
# in a run of old code; built once per Go version into the cache directory
# (a fresh CI machine fetches it from the module proxy). Its findings fail
# the run, but only at the end: the tests run all the same, so that one run
# reports both.
staticcheck_version=v0.8.2
say "staticcheck $staticcheck_version"
tools=${XDG_CACHE_HOME:-$HOME/.cache}/cqlseq/tools/staticcheck-$staticcheck_version-$(go env GOVERSION)
if [[ ! -x $tools/staticcheck ]]; then
	GOWORK=off GOBIN=$tools go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
lint_status=0
for m in "${modules[@]}"; do
	(cd "$m" && GOFLAGS="${GOFLAGS:+$GOFLAGS }-race" "$tools/staticcheck" ./...) || lint_status=$?
done
for m in "${upstream[@]}"; do
	(cd "$m" && GOWORK=$(upstream_work "$m") GOFLAGS="${GOFLAGS:+$GOFLAGS }-race" "$tools/staticcheck" ./...) || lint_status=$?
done
if [[ $lint_status != 0 ]]; then
	echo "test.sh: staticcheck found the problems above; the tests run all the same, and the run fails" >&2
fi

# Every module's test binaries, built as they run (with -race; the core's
# also without it, for the tests listed in norace_tests below) before any
# test starts: on a cold build cache this is minutes of CPU, which would
# otherwise compete with the timing-sensitive tests on the cluster and the
# fault tests' node freezes running beside them. The nodes start meanwhile.
say "building the tests"
bin=$(mktemp -d -t cqlseq-tests.XXXXXX)
for m in "${modules[@]}"; do
	(cd "$m" && go test -race -c -o "$bin/" ./...)
done
for m in "${upstream[@]}"; do
	(cd "$m" && GOWORK=$(upstream_work "$m") go test -race -c -o "$bin/" ./...)
done
mkdir "$bin/norace"
go test -c -o "$bin/norace/" ./...
rm -rf "$bin"

if [[ $short == true ]]; then
	say "-short: the unit tests only; no Cassandra node started"
elif [[ -n ${CQLSEQ_HOSTS:-} ]]; then
	say "using the cluster in CQLSEQ_HOSTS=$CQLSEQ_HOSTS"
	if [[ -n ${CQLSEQ_CLUSTER_HOSTS:-} ]]; then
		say "using the multi-node cluster in CQLSEQ_CLUSTER_HOSTS=$CQLSEQ_CLUSTER_HOSTS"
	else
		say "no local cluster started (CQLSEQ_HOSTS is set); set CQLSEQ_CLUSTER_HOSTS for the multi-node tests"
	fi
else
	say "waiting for the local Cassandra node and cluster"
	nodes_rc=0
	wait "$nodes" || nodes_rc=$?
	cat "$nodes_log"
	if [[ $nodes_rc != 0 ]]; then
		echo "test.sh: starting the local Cassandra node or cluster failed (exit $nodes_rc); its output is above" >&2
		exit "$nodes_rc"
	fi
	if [[ -n ${CQLSEQ_CLUSTER_HOSTS:-} ]]; then
		say "using the multi-node cluster in CQLSEQ_CLUSTER_HOSTS=$CQLSEQ_CLUSTER_HOSTS"
	else
		local_cluster=true
		# The multi-node tests default to the local cluster's usual
		# addresses; only a cluster moved by CQLSEQ_CLUSTER_NODES,
		# CQLSEQ_CLUSTER_NET or CQLSEQ_CLUSTER_PORT needs telling them.
		if [[ $cluster_hosts != 127.0.0.2,127.0.0.3,127.0.0.4 ]]; then
			export CQLSEQ_CLUSTER_HOSTS=$cluster_hosts
			say "exported CQLSEQ_CLUSTER_HOSTS=$cluster_hosts"
		fi
	fi
fi

# gotest runs go test in module $1 with the rest as flags, saying so with
# label $2 and for how long. Every module runs under the race detector: each
# starts goroutines of its own (the examples' servers and workers, the
# benchmarks' seeders, the fault tests' proxies and node events) or hands
# cqlseq's to code of its own (the front ends, the tracer). With race set
# empty (race= gotest ...), without it.
race=-race
gotest() {
	local m=$1 label=$2
	shift 2
	local t0=$SECONDS rc=0
	say "go test in module ./$m$label"
	# times: the CPU of the subshell's children, the test processes and go
	# test itself, user then system, on its second line.
	local cpufile cpu
	cpufile=$(mktemp -t cqlseq-cpu.XXXXXX)
	(
		cd "$m"
		code=0
		go test $race -count=1 -timeout 30m -v "$@" ./... || code=$?
		times >"$cpufile"
		exit "$code"
	) || rc=$?
	cpu=$(tail -1 "$cpufile")
	rm -f "$cpufile"
	say "module ./$m$label: $([[ $rc == 0 ]] && echo PASS || echo "FAIL (exit $rc)") in $((SECONDS - t0))s (CPU of its test processes, user and system: $cpu)"
	return "$rc"
}

# The tests of the core module whose size is their point run without the
# race detector, in a process of their own after the others: the longest
# keys Cassandra takes (TestScanBigKeys, TestCheckpointOfLongestKeys: scans
# whose every page carries a checkpoint of megabytes), the ring's property
# test (internal/ring: thousands of generated rings, no goroutines) and the
# test helpers' own tests (testing/cqlseqtest). Under -race they took 4
# minutes of a CI run, nearly all of it the detector's work on megabyte
# buffers; without it, under 30 s. The engine's concurrency they drive is
# the one every other scan test checks under -race.
norace_tests='TestScanBigKeys|TestCheckpointOfLongestKeys|TestRingProperties|TestRoundTripPaging|TestKeyWithToken'

status=0
if [[ $# -gt 0 ]]; then
	for m in "${modules[@]}"; do
		gotest "$m" "" "$@" || status=$?
		[[ $status == 0 ]] || break
		if [[ " ${upstream[*]} " == *" $m "* ]]; then
			GOWORK=$(upstream_work "$m") gotest "$m" " on upstream gocql" "$@" || status=$?
			[[ $status == 0 ]] || break
		fi
	done
else
	# The modules with tests on the cluster, in this order; the fault tests
	# last, as they kill its nodes.
	cluster_modules=()
	for m in . cqlseqx cqlseqgocql testing/faults; do
		[[ " ${modules[*]} " == *" $m "* ]] && cluster_modules+=("$m")
	done
	(
		for m in "${modules[@]}"; do
			if [[ $m == . ]]; then
				gotest "$m" " (all but TestCluster* and those without -race)" -skip "^(TestCluster.*|$norace_tests)\$" || exit
				race= gotest "$m" " (without -race: $norace_tests)" -run "^($norace_tests)\$" || exit
			else
				gotest "$m" " (all but TestCluster*)" -skip '^TestCluster' || exit
			fi
			if [[ " ${upstream[*]} " == *" $m "* ]]; then
				GOWORK=$(upstream_work "$m") gotest "$m" " on upstream gocql (all but TestCluster*)" -skip '^TestCluster' || exit
			fi
		done
	) >"$beside_log" 2>&1 &
	beside=$!
	for m in "${cluster_modules[@]}"; do
		gotest "$m" " (TestCluster*)" -run '^TestCluster' || status=$?
		[[ $status == 0 ]] || break
		if [[ " ${upstream[*]} " == *" $m "* ]]; then
			GOWORK=$(upstream_work "$m") gotest "$m" " on upstream gocql (TestCluster*)" -run '^TestCluster' || status=$?
			[[ $status == 0 ]] || break
		fi
	done
	wait "$beside" || { rc=$?; [[ $status != 0 ]] || status=$rc; }
	say "the tests beside those on the cluster:"
	cat "$beside_log"
fi

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
if [[ $status != 0 && $short == false && -z ${CQLSEQ_HOSTS:-} ]] && node_gone; then
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
[[ $status != 0 || $lint_status == 0 ]] || status=$lint_status
say "done in $(($(date +%s) - started))s: $([[ $status == 0 ]] && echo PASS || echo "FAIL (exit $status)")$([[ $lint_status == 0 ]] || echo ", staticcheck found problems")"
exit "$status"
