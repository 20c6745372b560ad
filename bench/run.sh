#!/usr/bin/env bash
# The one command that runs every cqlseq benchmark and writes the results:
#
#   bench/run.sh [-rounds N] [-bench REGEX] [-out DIR] [-scan-rows N]
#
# Unless CQLSEQ_HOSTS names a cluster of your own, it starts (or reuses) the
# local Cassandra node. It seeds the data sets in keyspace cqlseq_bench once
# (later runs reuse them; a fresh seeding is flushed and compacted so every
# run reads the same SSTables), builds the benchmark binary, and runs every
# benchmark once per round, N rounds (6 by default: the fewest for which
# benchstat gives confidence intervals), so that the contenders
# are interleaved and drift on the machine hits them all alike. Then it
# writes into DIR (bench/results by default):
#
#   raw.txt        the raw output, Go benchmark format, headed by the machine
#                  and the date; compare runs with benchstat
#   benchstat.txt  benchstat's tables of raw.txt, each contender against
#                  the hand-written driver loop
#   README.md      the report: targets, ratios and tables (cmd/report)
#   chart.svg      rows/s and peak heap against fetch size (cmd/report)
#   scan.svg       whole-table reads: rows/s against parallelism of Scan,
#                  a naive token split and Stream, on the node and the
#                  local cluster (cmd/scanbench, cmd/report)
#
# -bench narrows the benchmarks (a go test -bench pattern), e.g.
# -bench 'Read/set=small' -rounds 1 -out /tmp/quick for a quick look.
set -euo pipefail
cd "$(dirname "$0")"
bench_dir=$PWD
root=$(cd .. && pwd)

rounds=6
pattern=.
scan_rows=1000000
out=$bench_dir/results
while (($#)); do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-bench) pattern=$2; shift 2 ;;
	-out) out=$2; shift 2 ;;
	-scan-rows) scan_rows=$2; shift 2 ;;
	-h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see run.sh -h)" >&2; exit 2 ;;
	esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -rounds must be a positive number" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

say() { printf '== %s\n' "$*" >&2; }
started=$(date +%s)
benchstat=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

if [[ -z ${CQLSEQ_HOSTS:-} ]]; then
	say "starting (or reusing) the local Cassandra node"
	"$root/testing/cassandra/cassandra.sh" start >&2
else
	say "using the cluster in CQLSEQ_HOSTS=$CQLSEQ_HOSTS"
fi

say "seeding the data sets (once; later runs reuse them)"
seeded=$(go run ./cmd/seed)
if [[ $seeded == seeded && -z ${CQLSEQ_HOSTS:-} ]]; then
	say "flushing and compacting the freshly seeded tables"
	"$root/testing/cassandra/cassandra.sh" nodetool flush cqlseq_bench >&2
	"$root/testing/cassandra/cassandra.sh" nodetool compact cqlseq_bench >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "building the benchmark binary"
go test -c -o "$work/bench.test" .

# The machine, as benchfmt configuration lines: they head raw.txt, and
# benchstat and cmd/report read them.
java="n/a (cluster of CQLSEQ_HOSTS)"
if [[ -z ${CQLSEQ_HOSTS:-} ]]; then
	pid=$("$root/testing/cassandra/cassandra.sh" pid)
	java=$("/proc/$pid/exe" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
fi
raw=$out/raw.txt.tmp
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cores: $(nproc)"
	echo "memory: $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "os: $(uname -sr)"
	echo "go: $(go env GOVERSION)"
	echo "java: $java"
	if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
		# Uncommitted changes to the code the benchmarks link are measured too.
		if [[ -n $(git -C "$root" status --porcelain -- ':(glob)*.go' go.mod go.sum internal cqlseqx testing/cqlseqtest 2>/dev/null) ]]; then
			commit+=" (with uncommitted changes)"
		fi
		echo "commit: $commit"
	fi
	echo "command: bench/run.sh -rounds $rounds -bench '$pattern'"
} >"$raw"

# ---- Python peers (issue 13) ------------------------------------------------
# async-cassandra's execute_stream and cassandra-driver's paging, read by
# peers/peers.py over the same tables, columns and fetch sizes, printed under
# the same benchmark names (impl=async-cassandra, impl=cassandra-driver). They
# run in a virtual environment under the cache directory, made once from
# peers/requirements.txt with the first Python 3.12 found (python3.12 on the
# PATH, then ~/.pyenv/versions/3.12*) and made again when the file or the
# Python changes. Without Python 3.12 (or when installing fails) the peers are
# skipped, with the reason printed and in raw.txt's head; the Go benchmarks
# run all the same. Each round runs both: the Go benchmarks first in odd
# rounds, the peers first in even rounds (round 1 is Go's, so that the
# configuration lines Go prints come before any result).
peers_python=
peers_skip=
peers_setup() {
	local py= cand stamp venv=${XDG_CACHE_HOME:-$HOME/.cache}/cqlseq/bench/venv-py3.12
	local req=$bench_dir/peers/requirements.txt
	# A pyenv shim answers to python3.12 even where it cannot run it: try each.
	for cand in "$(command -v python3.12 || true)" $(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do
		if [[ -n $cand ]] && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
			py=$cand
			break
		fi
	done
	if [[ -z $py ]]; then
		peers_skip="no Python 3.12 (python3.12 on the PATH or in ~/.pyenv/versions/3.12*)"
		return
	fi
	stamp=$({ "$py" -VV; cat "$req"; } | sha256sum | cut -d' ' -f1)
	if [[ $(cat "$venv/requirements.sha256" 2>/dev/null) != "$stamp" ]]; then
		say "installing the Python peers into $venv with $py (once; later runs reuse it)"
		rm -rf "$venv"
		if ! "$py" -m venv "$venv" >&2 || ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2; then
			rm -rf "$venv"
			peers_skip="installing peers/requirements.txt into a virtual environment of $py failed"
			return
		fi
		echo "$stamp" >"$venv/requirements.sha256"
	fi
	if ! "$venv/bin/python" "$bench_dir/peers/peers.py" -describe >"$work/peers.describe" 2>"$work/peers.err"; then
		cat "$work/peers.err" >&2
		peers_skip="peers.py -describe failed: $(tail -n1 "$work/peers.err")"
		return
	fi
	peers_python=$venv/bin/python
}
# peers_run ROUND runs the peers once, their results appended to raw.txt. Their
# names end in the Go benchmarks' -GOMAXPROCS suffix, read from Go's lines.
peers_run() {
	[[ -n $peers_python ]] || return 0
	local procs
	procs=$(grep -m1 -oE '^Benchmark[^[:space:]]*-[0-9]+[[:space:]]' "$raw" | sed -E 's/.*-([0-9]+)[[:space:]]$/\1/' || true)
	say "Python peers, round $1"
	"$peers_python" "$bench_dir/peers/peers.py" -bench "$pattern" -round "$1" ${procs:+-procs "$procs"} |
		tee -a "$raw" | { grep --line-buffered -E '^(Benchmark|FAIL|---)' || true; } | cut -c1-150 >&2
}
peers_setup
if [[ -n $peers_python ]]; then
	cat "$work/peers.describe" >>"$raw"
else
	say "skipping the Python peers: $peers_skip"
	echo "python-peers: skipped: $peers_skip" >>"$raw"
fi
# ---- end of Python peers ----------------------------------------------------

# ---- Whole tables (issue 13) ------------------------------------------------
# cmd/scanbench reads cqlseq_bench.scan_1000000 whole with Stream, Scan and a
# naive token split at parallelism 1-16, on the single node and on the local
# 3-node cluster (testing/cassandra/cassandra.sh cluster), once per round,
# after the other benchmarks of the round. It runs when -bench matches
# "Scan" (the default does); CQLSEQ_HOSTS without CQLSEQ_CLUSTER_HOSTS
# measures only the node. -scan-rows N reads a table of N rows instead.
scan_run=
if [[ Scan =~ $pattern ]]; then
	scan_targets=node
	if [[ -z ${CQLSEQ_HOSTS:-} && -z ${CQLSEQ_CLUSTER_HOSTS:-} ]]; then
		say "starting (or reusing) the local cluster for the whole-table reads"
		"$root/testing/cassandra/cassandra.sh" cluster start >&2
		scan_targets=node,cluster
	elif [[ -n ${CQLSEQ_CLUSTER_HOSTS:-} ]]; then
		scan_targets=node,cluster
	fi
	go build -o "$work/scanbench" ./cmd/scanbench
	say "seeding the whole-table data set on $scan_targets (once)"
	"$work/scanbench" -rows "$scan_rows" -rounds 0 -targets "$scan_targets" >&2
	scan_run=1
fi
scan_round() {
	[[ -n $scan_run ]] || return 0
	say "whole-table reads, round $1"
	"$work/scanbench" -rows "$scan_rows" -rounds 1 -targets "$scan_targets" -format bench |
		tee -a "$raw" | cut -c1-150 >&2
}
# ---- end of whole tables ----------------------------------------------------

for ((i = 1; i <= rounds; i++)); do
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	say "round $i of $rounds (load average $load)"
	echo "# load: $load (before round $i)" >>"$raw"
	if ((i % 2 == 0)); then peers_run "$i"; fi # Python peers (issue 13): first in even rounds
	CQLSEQ_BENCH_ROUND=$i "$work/bench.test" -test.run '^$' -test.bench "$pattern" -test.benchtime 1x -test.count 1 -test.timeout 60m |
		tee -a "$raw" | { grep --line-buffered -E '^(Benchmark|FAIL|---|panic)' || true; } | cut -c1-150 >&2
	if ((i % 2 == 1)); then peers_run "$i"; fi # Python peers (issue 13): last in odd rounds
	scan_round "$i"
done
elapsed=$(($(date +%s) - started))
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg) (after the last round)" >>"$raw"
echo "# elapsed: $((elapsed / 60)) min $((elapsed % 60)) s" >>"$raw"
mv "$raw" "$out/raw.txt"

say "benchstat"
{
	sed -n '1,/^# load/p' "$out/raw.txt" | sed '$d' | sed 's/^/# /'
	echo
	echo "# Every contender against the hand-written v2 driver loop (driver), per data set and fetch size."
	(cd "$out" && "${benchstat[@]}" -col /impl -row /set,/fetch -filter '.name:Read' raw.txt) || true
	echo
	echo "# Slow consumer (fixed work per row), by contender and prefetch."
	(cd "$out" && "${benchstat[@]}" -row /impl,/prefetch -filter '.name:SlowConsumer' raw.txt) || true
	echo
	echo "# Whole tables: rows/s of Stream, Scan and the naive split, by target and parallelism."
	(cd "$out" && "${benchstat[@]}" -col /impl -row /target,/parallelism -filter '.name:Scan' raw.txt) || true
	echo
	echo "# Memory: 100,000 rows against 1,000,000."
	(cd "$out" && "${benchstat[@]}" -col /rows -row /impl -filter '.name:Memory' raw.txt) || true
	# ---- Python peers (issue 13) ----
	echo
	echo "# Stream against the Python peers (async-cassandra execute_stream, cassandra-driver paging), per data set and fetch size."
	(cd "$out" && "${benchstat[@]}" -col '/impl@(stream async-cassandra cassandra-driver)' -row /set,/fetch -filter '.name:Read /impl:(stream OR async-cassandra OR cassandra-driver)' raw.txt) || true
	# ---- end of Python peers ----
} >"$out/benchstat.txt.tmp" 2>&1
mv "$out/benchstat.txt.tmp" "$out/benchstat.txt"

say "report"
go run ./cmd/report -in "$out/raw.txt" -md "$out/README.md" -svg "$out/chart.svg" -scan-svg "$out/scan.svg"
sed -n '/^## Targets/,/^## /p' "$out/README.md" | sed '$d'
say "done in $((elapsed / 60)) min $((elapsed % 60)) s: $out/README.md, $out/chart.svg, $out/raw.txt, $out/benchstat.txt"
