#!/usr/bin/env bash
# Measures the v2 driver as released (v2.1.2) against the same driver with
# driver-v5-segment-reader.patch, on the large set (4 KB rows) at fetch 1000:
#
#   bench/patches/measure.sh [-rounds N] [-out DIR]
#
# It copies the driver from the module cache, applies the patch to the copy,
# builds the benchmark binary twice (the patched one through a go.work that
# replaces the driver with the copy), and runs in each round both binaries,
# in alternating order, each reading with Stream on protocol v5 and v4
# (BenchmarkProtocol) and with the hand-written loop, Stream and gocqlx
# (BenchmarkRead). Then it prints benchstat's comparison of the two (rows/s,
# B/row) and, from one more read of each with an allocation profile, the
# driver's allocation sites. Outputs go to DIR (a temporary one by default).
# The data sets are bench/run.sh's (it seeds them); the local node is started
# or reused unless CQLSEQ_HOSTS names another cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(cd .. && pwd)
rounds=6
out=
while (($#)); do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "measure.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
say() { printf '== %s\n' "$*" >&2; }
work=$(mktemp -d)
overlay=$root/.patched.work
trap 'rm -rf "$work" "$overlay" "$overlay.sum"' EXIT
out=${out:-$work/out}
mkdir -p "$out"

if [[ -z ${CQLSEQ_HOSTS:-} ]]; then
	"$root/testing/cassandra/cassandra.sh" start >&2
fi
go run ./cmd/seed >/dev/null

say "patching a copy of the driver"
src=$(go list -m -f '{{.Dir}}' github.com/apache/cassandra-gocql-driver/v2)
cp -r "$src" "$work/driver"
chmod -R u+w "$work/driver"
patch -s -d "$work/driver" -p1 <patches/driver-v5-segment-reader.patch
# The overlay sits beside go.work, whose relative paths it keeps.
sed "s#^replace (#replace (\n\tgithub.com/apache/cassandra-gocql-driver/v2 v2.1.2 => $work/driver#" "$root/go.work" >"$overlay"
cp "$root/go.work.sum" "$overlay.sum" 2>/dev/null || true

say "building the benchmark binary, stock and patched"
go test -c -o "$work/stock.test" .
GOWORK=$overlay go test -c -o "$work/patched.test" .

# go test splits -bench at slashes, a pattern per level: Protocol's fourth
# level is proto=..., Read's impl=...
pattern='^Benchmark(Protocol|Read)$/^set=large$/^fetch=1000$/^(proto=.*|impl=(driver|stream|gocqlx))$'
run() { "$work/$1.test" -test.run '^$' -test.bench "$pattern" -test.benchtime 1x "${@:2}"; }
for ((i = 1; i <= rounds; i++)); do
	say "round $i of $rounds (load average $(cut -d' ' -f1-3 /proc/loadavg))"
	for b in $( ((i % 2)) && echo stock patched || echo patched stock); do
		run "$b" | tee -a "$out/$b.txt" | { grep --line-buffered -E '^Benchmark' || true; } | cut -c1-110 | sed "s/^/$b: /" >&2
	done
done

say "allocation sites (one more read each, alloc_space)"
for b in stock patched; do
	run "$b" -test.memprofile "$out/$b.mem" -test.memprofilerate 65536 \
		-test.bench '^BenchmarkProtocol$/^set=large$/^fetch=1000$/^proto=default$' >/dev/null
	echo "-- $b, Stream on protocol v5: where the bytes are allocated"
	go tool pprof -sample_index=alloc_space -top -nodecount 6 "$work/$b.test" "$out/$b.mem" 2>/dev/null | sed -n '/flat%/,$p'
done

say "stock against patched"
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da \
	-filter '.unit:(rows/s OR B/row)' stock="$out/stock.txt" patched="$out/patched.txt"
say "raw output and profiles in $out"
