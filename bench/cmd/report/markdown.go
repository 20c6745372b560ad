package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cqlseq/cqlseq"
)

// Targets of issue 5, reported, never asserted.
const (
	targetStreamVsDriver = 0.97 // Stream rows/s over the hand-written loop's
	targetAllocsOver     = 0.05 // Stream allocs/row over the hand-written loop's
	targetVsGocqlx       = 1.0  // cqlseq rows/s over gocqlx StructScan's
	targetHeapScaling    = 1.2  // peak heap at 1,000,000 rows over 100,000
)

// Targets of issue 13, reported, never asserted: Stream's rows/s over the
// Python peers' and the Go peers', on the same sets and fetch sizes.
const (
	targetVsAsyncCassandra = 1.2 // Stream rows/s over async-cassandra execute_stream's
	targetVsPeers          = 1.0 // Stream rows/s over every other peer's
)

// otherPeers are the peers of the issue 13 target of 1.0×, other than
// async-cassandra: the Python driver's own paging, gocqlx and the
// hand-written v2 loop.
var otherPeers = []string{"cassandra-driver", "gocqlx", "driver"}

// pythonPeers are the contenders peers/peers.py reads with.
var pythonPeers = []string{"async-cassandra", "cassandra-driver"}

// Markdown renders the report; chart and scanChart are the paths of the
// charts to show ("" for none).
func Markdown(raw *Raw, chart, scanChart string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	rounds := roundsOf(raw)

	w("# cqlseq benchmarks: results\n\n")
	w("%s\n\n", machineLine(raw))
	w("Made by `bench/run.sh`: %d rounds, each running every benchmark once (one read of the whole data set per run); "+
		"every figure is the **median of the rounds**, and ± is half the range of the rounds as a percentage of the median. "+
		"Raw output: `raw.txt` (compare with `benchstat`, see `benchstat.txt`). ", rounds)
	if raw.Elapsed != "" {
		w("The whole run took %s. ", raw.Elapsed)
	}
	w("A ratio marked *noise* is not significant: a Mann-Whitney U test of the two sides' rounds, benchstat's test, gives p ≥ %.2f.\n\n", Alpha)
	if len(raw.Load) > 0 {
		w("Load average (1, 5, 15 min) before each round: %s. ", strings.Join(raw.Load, "; "))
		w("The machine has %s; a load above that means other work shared the cores with the node and the benchmark.", orDash(raw.Config["cores"])+" cores")
		if busy := busyRounds(raw); busy > 0 {
			w(" **This run was noisy:** the load exceeded the cores in %d of %d readings, and the spread of the rounds shows it.", busy, len(raw.Load))
		}
		w("\n\n")
	}
	if chart != "" {
		w("![rows/s and peak heap against fetch size](%s)\n\n", chart)
	}

	w("## Targets\n\n")
	w("| target | measured | met |\n|---|---|---|\n")
	targets(&b, raw)
	scanTargets(&b, raw)
	w("\n")
	if len(raw.Match("Read", "impl=async-cassandra")) > 0 {
		w("In the issue 13 rows a ratio is tested against its target: *noise* at %.1f× means Stream's rounds cannot be told from %.1f times async-cassandra's by the same test.\n\n",
			targetVsAsyncCassandra, targetVsAsyncCassandra)
	}

	streamVsDriver(&b, raw)
	versusGocqlx(&b, raw)
	versusPython(&b, raw)
	slowConsumer(&b, raw)
	memoryScaling(&b, raw)
	scanSection(&b, raw, scanChart)
	protocol(&b, raw)
	coalesce(&b, raw)
	fetchGuide(&b, raw)
	matrix(&b, raw)
	return b.String()
}

// thousands writes an integer with commas: 1000000 -> 1,000,000. Anything
// else is returned as it is.
func thousands(s string) string {
	if _, err := strconv.ParseUint(s, 10, 64); err != nil || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perRow spells a work= parameter ("6us") for prose: "6 µs".
func perRow(work string) string {
	if n, ok := strings.CutSuffix(work, "us"); ok {
		return n + " µs"
	}
	return work
}

// busyRounds counts the load readings whose 1-minute average exceeds the
// number of cores.
func busyRounds(raw *Raw) int {
	cores, err := strconv.ParseFloat(raw.Config["cores"], 64)
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range raw.Load {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil && v > cores {
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func machineLine(raw *Raw) string {
	c := raw.Config
	return fmt.Sprintf("**Machine:** %s cores, %s memory, %s (%s); Go %s; Java %s; Cassandra %s (protocol %s)%s. **Date:** %s. **Code:** %s.",
		orDash(c["cores"]), orDash(c["memory"]), orDash(c["cpu"]), orDash(c["os"]), orDash(c["go"]), orDash(c["java"]),
		orDash(c["cassandra"]), orDash(c["protocol"]), pythonLine(raw), orDash(c["date"]), orDash(c["commit"]))
}

// pythonLine names the Python and the libraries of the Python peers, from
// the configuration lines bench/run.sh writes ("python", "python-peers"),
// or says why they were skipped.
func pythonLine(raw *Raw) string {
	c := raw.Config
	switch {
	case c["python"] != "":
		return fmt.Sprintf("; Python %s: %s", c["python"], orDash(c["python-peers"]))
	case c["python-peers"] != "":
		return "; Python peers " + c["python-peers"]
	}
	return ""
}

// roundsOf is the number of runs of the most-run benchmark.
func roundsOf(raw *Raw) int {
	n := map[string]int{}
	most := 0
	for _, r := range raw.Results {
		n[r.Name]++
		most = max(most, n[r.Name])
	}
	return most
}

// ratio returns a/b of the medians and whether the difference is noise:
// not significant by benchstat's test.
func ratio(a, b Stat) (float64, bool) { return a.Median / b.Median, !a.Differs(b) }

// ratioTo is ratio for a target other than 1: a/b of the medians, and
// whether a cannot be told from target times b by the same test (b's rounds
// scaled by target). For a target of 1 it is ratio.
func ratioTo(a, b Stat, target float64) (float64, bool) {
	scaled := make([]float64, len(b.Values))
	for i, v := range b.Values {
		scaled[i] = v * target
	}
	return a.Median / b.Median, !a.Differs(summarize(scaled))
}

// lowest is the lowest ratio of impl's rows/s over peer's in each data set,
// over the fetch sizes both were measured at, against target: whether every
// ratio meets it (ok), whether those that do not are all within the noise
// (noise), and whether any case had both (found).
func lowest(raw *Raw, impl, peer string, target float64) (parts []string, ok, noise, found bool) {
	ok, noise = true, true
	for _, set := range raw.Values("Read", "set") {
		lo, loAt, loNoise := math.Inf(1), "", false
		for _, f := range raw.Values("Read", "fetch") {
			a := raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl="+impl)
			b := raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl="+peer)
			if a.N == 0 || b.N == 0 {
				continue
			}
			found = true
			r, n := ratioTo(a, b, target)
			if r < target {
				ok = false
				noise = noise && n
			}
			if r < lo {
				lo, loAt, loNoise = r, f, n
			}
		}
		if loAt != "" {
			parts = append(parts, fmt.Sprintf("%s rows: lowest %s at fetch %s", set, fmtRatio(lo, loNoise), loAt))
		}
	}
	return parts, ok, noise, found
}

func fmtRatio(r float64, noise bool) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	s := fmt.Sprintf("%.3f×", r)
	if noise {
		s += " *noise*"
	}
	return s
}

// verdict says whether v meets a lower bound (or, with atMost, an upper one).
func verdict(ok, noise bool) string {
	switch {
	case ok:
		return "yes"
	case noise:
		return "within noise"
	}
	return "**no**"
}

func rowsPerSec(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func mib(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f", v/(1<<20))
}

func ms(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	if ns < 1e7 {
		return fmt.Sprintf("%.2f", ns/1e6)
	}
	return fmt.Sprintf("%.0f", ns/1e6)
}

func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func pm(s Stat) string {
	if s.N < 2 || math.IsNaN(s.HalfRangePercents) {
		return ""
	}
	return fmt.Sprintf(" ±%.0f%%", s.HalfRangePercents)
}

func targets(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	sets, fetches := raw.Values("Read", "set"), raw.Values("Read", "fetch")

	// Stream vs the hand-written loop, rows/s.
	var worst []string
	allOK, allNoise := true, true
	for _, set := range sets {
		lo, loAt, loNoise := math.Inf(1), "", false
		for _, f := range fetches {
			r, noise := ratio(raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl=stream"),
				raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl=driver"))
			if r < targetStreamVsDriver {
				allOK = false
				allNoise = allNoise && noise
			}
			if r < lo {
				lo, loAt, loNoise = r, f, noise
			}
		}
		worst = append(worst, fmt.Sprintf("%s rows: lowest %s at fetch %s", set, fmtRatio(lo, loNoise), loAt))
	}
	w("| Stream rows/s ≥ %.2f× the hand-written v2 loop's, every fetch size | %s (each fetch size below) | %s |\n",
		targetStreamVsDriver, strings.Join(worst, "; "), verdict(allOK, allNoise))

	// Allocations per row.
	var diffs []string
	aok := true
	for _, set := range sets {
		hi, hiAt := math.Inf(-1), ""
		for _, f := range fetches {
			d := raw.Stats("Read", "allocs/row", "set="+set, "fetch="+f, "impl=stream").Median -
				raw.Stats("Read", "allocs/row", "set="+set, "fetch="+f, "impl=driver").Median
			if d > hi {
				hi, hiAt = d, f
			}
			aok = aok && d <= targetAllocsOver
		}
		diffs = append(diffs, fmt.Sprintf("%s rows: at most %+.3f (fetch %s)", set, hi, hiAt))
	}
	w("| Stream allocs/row ≤ the hand-written loop's + %.2f | %s | %s |\n", targetAllocsOver, strings.Join(diffs, "; "), verdict(aok, false))

	// cqlseq vs gocqlx StructScan.
	for _, impl := range []string{"stream", "cqlseqx"} {
		if len(raw.Match("Read", "impl="+impl)) == 0 {
			continue
		}
		var parts []string
		ok, okNoise := true, true
		for _, set := range sets {
			lo, loAt, loNoise := math.Inf(1), "", false
			for _, f := range fetches {
				r, noise := ratio(raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl="+impl),
					raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl=gocqlx"))
				if r < targetVsGocqlx {
					ok = false
					okNoise = okNoise && noise
				}
				if r < lo {
					lo, loAt, loNoise = r, f, noise
				}
			}
			parts = append(parts, fmt.Sprintf("%s rows: lowest %s at fetch %s", set, fmtRatio(lo, loNoise), loAt))
		}
		w("| cqlseq (%s) rows/s ≥ gocqlx Iterx.StructScan's | %s | %s |\n", impl, strings.Join(parts, "; "), verdict(ok, okNoise))
	}

	issue13Targets(b, raw)

	// Memory scaling.
	rows := raw.Values("Memory", "rows")
	if len(rows) == 2 {
		var parts []string
		ok := true
		for _, impl := range raw.Values("Memory", "impl") {
			r := raw.Stats("Memory", "peak-heap-B", "rows="+rows[1], "impl="+impl).Median /
				raw.Stats("Memory", "peak-heap-B", "rows="+rows[0], "impl="+impl).Median
			if impl == "stream" || impl == "pages" {
				ok = ok && r <= targetHeapScaling
			}
			parts = append(parts, fmt.Sprintf("%s %.2f×", impl, r))
		}
		w("| peak heap at %s rows ≤ %.1f× that at %s rows (cqlseq) | %s | %s |\n", thousands(rows[1]), targetHeapScaling, thousands(rows[0]), strings.Join(parts, ", "), verdict(ok, false))
	}

	// Slow consumer.
	if sc := slowFigures(raw); sc != nil {
		// The target holds for Stream as users get it: at cqlseq's default
		// prefetch. The other settings are listed for comparison.
		def := strconv.FormatFloat(cqlseq.DefaultPrefetch, 'g', -1, 64)
		var parts []string
		ok, found := false, false
		for _, c := range sc.cases {
			if c.impl != "stream" {
				continue
			}
			parts = append(parts, fmt.Sprintf("prefetch %s: %.2f s = %.2f× max, overlap %.0f%%", c.prefetch, c.t/1e9, c.t/sc.max, c.overlap*100))
			if c.prefetch == def {
				ok, found = c.overlap >= 0.5, true
			}
		}
		w("| slow consumer, Stream at its default prefetch (%s): time nearer max(fetch, work) = %.2f s than fetch + work = %.2f s (overlap ≥ 50%%) | %s | %s |\n",
			def, sc.max/1e9, sc.sum/1e9, strings.Join(parts, "; "), verdict(ok && found, false))
	}
}

// issue13Targets writes the targets of issue 13: Stream against
// async-cassandra and against every other peer, Python and Go.
func issue13Targets(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if len(raw.Match("Read", "impl=stream")) == 0 {
		return
	}
	skipped := "not measured: " + orDash(strings.TrimPrefix(raw.Config["python-peers"], "skipped: "))
	if parts, ok, noise, found := lowest(raw, "stream", "async-cassandra", targetVsAsyncCassandra); found {
		w("| issue 13: Stream rows/s ≥ %.1f× async-cassandra `execute_stream`'s, every set and fetch size | %s | %s |\n",
			targetVsAsyncCassandra, strings.Join(parts, "; "), verdict(ok, noise))
	} else {
		w("| issue 13: Stream rows/s ≥ %.1f× async-cassandra `execute_stream`'s, every set and fetch size | %s | - |\n", targetVsAsyncCassandra, skipped)
	}
	var all []string
	allOK, allNoise, missing := true, true, false
	for _, peer := range otherPeers {
		parts, ok, noise, found := lowest(raw, "stream", peer, targetVsPeers)
		if !found {
			missing = true
			all = append(all, peer+": not measured")
			continue
		}
		all = append(all, peer+": "+strings.Join(parts, ", "))
		if !ok {
			allOK = false
			allNoise = allNoise && noise
		}
	}
	met := verdict(allOK, allNoise)
	if missing && met == "yes" {
		met = "- (not every peer measured)"
	}
	w("| issue 13: Stream rows/s ≥ %.1f× every other peer's (%s), every set and fetch size | %s | %s |\n",
		targetVsPeers, strings.Join(otherPeers, ", "), strings.Join(all, "; "), met)
}

func streamVsDriver(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## cqlseq against the hand-written v2 driver loop\n\n")
	w("The baseline scans each row into the fields of one struct with `iter.Scan(&r.A, &r.B, ...)` over the driver's own paging and prefetching. ")
	w("Stream and Pages use the same driver and session.\n\n")
	w("| set | fetch | driver rows/s | Stream rows/s | Stream ÷ driver | Pages rows/s | Pages ÷ driver | driver allocs/row | Stream allocs/row | Stream − driver | driver B/row | Stream B/row |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, set := range raw.Values("Read", "set") {
		for _, f := range raw.Values("Read", "fetch") {
			p := []string{"set=" + set, "fetch=" + f}
			d := raw.Stats("Read", "rows/s", append(p, "impl=driver")...)
			s := raw.Stats("Read", "rows/s", append(p, "impl=stream")...)
			pg := raw.Stats("Read", "rows/s", append(p, "impl=pages")...)
			da := raw.Stats("Read", "allocs/row", append(p, "impl=driver")...).Median
			sa := raw.Stats("Read", "allocs/row", append(p, "impl=stream")...).Median
			db := raw.Stats("Read", "B/row", append(p, "impl=driver")...).Median
			sb := raw.Stats("Read", "B/row", append(p, "impl=stream")...).Median
			r1, n1 := ratio(s, d)
			r2, n2 := ratio(pg, d)
			w("| %s | %s | %s%s | %s%s | %s | %s%s | %s | %.3f | %.3f | %+.3f | %.0f | %.0f |\n", set, f,
				rowsPerSec(d.Median), pm(d), rowsPerSec(s.Median), pm(s), fmtRatio(r1, n1), rowsPerSec(pg.Median), pm(pg), fmtRatio(r2, n2),
				da, sa, sa-da, db, sb)
		}
	}
	w("\n")
}

func versusGocqlx(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	hasX := len(raw.Match("Read", "impl=cqlseqx")) > 0
	w("## cqlseq against gocqlx\n\n")
	w("gocqlx v3 `Iterx.StructScan` runs on github.com/gocql/gocql (ScyllaDB's fork); cqlseqx is cqlseq's front end for gocqlx queries on that same session, ")
	w("so cqlseqx ÷ gocqlx compares the row loops alone, while Stream ÷ gocqlx also compares the two drivers.\n\n")
	if hasX {
		w("| set | fetch | gocqlx rows/s | Stream rows/s | Stream ÷ gocqlx | cqlseqx rows/s | cqlseqx ÷ gocqlx | gocqlx allocs/row | cqlseqx allocs/row | gocqlx B/row | cqlseqx B/row |\n")
		w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		w("| set | fetch | gocqlx rows/s | Stream rows/s | Stream ÷ gocqlx | gocqlx allocs/row | gocqlx B/row |\n")
		w("|---|---:|---:|---:|---:|---:|---:|\n")
	}
	for _, set := range raw.Values("Read", "set") {
		for _, f := range raw.Values("Read", "fetch") {
			p := []string{"set=" + set, "fetch=" + f}
			g := raw.Stats("Read", "rows/s", append(p, "impl=gocqlx")...)
			s := raw.Stats("Read", "rows/s", append(p, "impl=stream")...)
			r1, n1 := ratio(s, g)
			ga := raw.Stats("Read", "allocs/row", append(p, "impl=gocqlx")...).Median
			gb := raw.Stats("Read", "B/row", append(p, "impl=gocqlx")...).Median
			if hasX {
				x := raw.Stats("Read", "rows/s", append(p, "impl=cqlseqx")...)
				r2, n2 := ratio(x, g)
				xa := raw.Stats("Read", "allocs/row", append(p, "impl=cqlseqx")...).Median
				xb := raw.Stats("Read", "B/row", append(p, "impl=cqlseqx")...).Median
				w("| %s | %s | %s%s | %s%s | %s | %s%s | %s | %.3f | %.3f | %.0f | %.0f |\n", set, f, rowsPerSec(g.Median), pm(g),
					rowsPerSec(s.Median), pm(s), fmtRatio(r1, n1), rowsPerSec(x.Median), pm(x), fmtRatio(r2, n2), ga, xa, gb, xb)
			} else {
				w("| %s | %s | %s%s | %s%s | %s | %.3f | %.0f |\n", set, f, rowsPerSec(g.Median), pm(g), rowsPerSec(s.Median), pm(s), fmtRatio(r1, n1), ga, gb)
			}
		}
	}
	w("\n")
}

// versusPython compares Stream with the Python peers (peers/peers.py).
func versusPython(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	measured := false
	for _, p := range pythonPeers {
		measured = measured || len(raw.Match("Read", "impl="+p)) > 0
	}
	if !measured && raw.Config["python-peers"] == "" {
		return
	}
	w("## cqlseq against the Python peers\n\n")
	if !measured {
		w("Not measured in this run: the Python peers were %s.\n\n", raw.Config["python-peers"])
		return
	}
	w("`bench/peers/peers.py` reads the same tables, columns and fetch sizes in a Python process of its own, in every round: after the Go benchmarks in odd rounds, before them in even rounds. ")
	w("async-cassandra: `execute_stream` with the fetch size in its `StreamConfig`, rows taken with `async for`; cassandra-driver: `for row in` the `ResultSet` of the query, the driver's own paging. ")
	w("Both hand each row as the driver's named tuple, every column decoded, and request the next page only when a page is used up (no prefetching). ")
	w("Their figures are rows/s, pages and first row; allocations and heap are the Go runtime's figures and have no Python counterpart here.\n\n")
	w("| set | fetch | async-cassandra rows/s | cassandra-driver rows/s | Stream rows/s | Stream ÷ async-cassandra | Stream ÷ cassandra-driver | first row (ms): async-cassandra | cassandra-driver | Stream |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, set := range raw.Values("Read", "set") {
		for _, f := range raw.Values("Read", "fetch") {
			p := []string{"set=" + set, "fetch=" + f}
			a := raw.Stats("Read", "rows/s", append(p, "impl=async-cassandra")...)
			d := raw.Stats("Read", "rows/s", append(p, "impl=cassandra-driver")...)
			s := raw.Stats("Read", "rows/s", append(p, "impl=stream")...)
			if a.N == 0 && d.N == 0 {
				continue
			}
			r1, n1 := ratio(s, a)
			r2, n2 := ratio(s, d)
			w("| %s | %s | %s%s | %s%s | %s%s | %s | %s | %s | %s | %s |\n", set, f,
				rowsPerSec(a.Median), pm(a), rowsPerSec(d.Median), pm(d), rowsPerSec(s.Median), pm(s), fmtRatio(r1, n1), fmtRatio(r2, n2),
				ms(raw.Stats("Read", "first-row-ns", append(p, "impl=async-cassandra")...).Median),
				ms(raw.Stats("Read", "first-row-ns", append(p, "impl=cassandra-driver")...).Median),
				ms(raw.Stats("Read", "first-row-ns", append(p, "impl=stream")...).Median))
		}
	}
	w("\n")
}

type slowCase struct {
	impl, prefetch string
	t              float64 // ns, median
	stat           Stat
	overlap        float64 // (sum - t) / (sum - max): 0 none, 1 full
}

type slowSummary struct {
	work, fetch   string
	workT, fetchT Stat
	sum, max      float64
	cases         []slowCase
}

func slowFigures(raw *Raw) *slowSummary {
	works := raw.Values("SlowConsumer", "work")
	if len(works) == 0 {
		return nil
	}
	sc := &slowSummary{work: works[0]}
	sc.workT = raw.Stats("SlowConsumer", "ns/op", "impl=work-only")
	sc.fetchT = raw.Stats("SlowConsumer", "ns/op", "impl=fetch-only")
	if f := raw.Match("SlowConsumer", "impl=fetch-only"); len(f) > 0 {
		sc.fetch = f[0].Params["fetch"]
	}
	sc.sum = sc.workT.Median + sc.fetchT.Median
	sc.max = math.Max(sc.workT.Median, sc.fetchT.Median)
	for _, impl := range raw.Values("SlowConsumer", "impl") {
		if impl == "work-only" || impl == "fetch-only" {
			continue
		}
		for _, p := range raw.Values("SlowConsumer", "prefetch") {
			st := raw.Stats("SlowConsumer", "ns/op", "impl="+impl, "prefetch="+p)
			if st.N == 0 {
				continue
			}
			sc.cases = append(sc.cases, slowCase{impl: impl, prefetch: p, t: st.Median, stat: st,
				overlap: (sc.sum - st.Median) / (sc.sum - sc.max)})
		}
	}
	return sc
}

func slowConsumer(b *strings.Builder, raw *Raw) {
	sc := slowFigures(raw)
	if sc == nil {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	rows := raw.Stats("SlowConsumer", "rows/s", "impl=work-only").Median * sc.workT.Median / 1e9
	w("## Slow consumer: prefetching overlaps fetching with work\n\n")
	w("The small set (%s rows) read at fetch size %s with fixed CPU work per row (%s per row: a calibrated busy loop). ",
		thousands(strconv.FormatFloat(math.Round(rows), 'f', 0, 64)), orDash(sc.fetch), perRow(strings.TrimPrefix(sc.work, "work=")))
	w("*fetch* is the read alone with prefetching off (%.2f s%s); *work* is the work alone, no reading (%.2f s%s). ",
		sc.fetchT.Median/1e9, pm(sc.fetchT), sc.workT.Median/1e9, pm(sc.workT))
	w("Without overlap a read with work takes their sum, %.2f s; with perfect overlap the larger, %.2f s. ", sc.sum/1e9, sc.max/1e9)
	w("Overlap = (sum − time) ÷ (sum − max): 0%% none, 100%% all the smaller part hidden. ")
	w("The driver rows are the hand-written loop with the driver's own prefetching (0.25 is its default, 0 turns it off). ")
	w("On 2 cores the busy loop holds one core, and the node and the driver's reader share the other.\n\n")
	w("| impl | prefetch | time (s) | ÷ max(fetch, work) | ÷ (fetch + work) | overlap |\n|---|---:|---:|---:|---:|---:|\n")
	for _, c := range sc.cases {
		w("| %s | %s | %.2f%s | %.2f | %.2f | %.0f%% |\n", c.impl, c.prefetch, c.t/1e9, pm(c.stat), c.t/sc.max, c.t/sc.sum, c.overlap*100)
	}
	w("\n")
}

func memoryScaling(b *strings.Builder, raw *Raw) {
	rows := raw.Values("Memory", "rows")
	if len(rows) != 2 {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	fetch := ""
	if m := raw.Match("Memory"); len(m) > 0 {
		fetch = m[0].Params["fetch"]
	}
	w("## Memory: %s rows against %s\n\n", thousands(rows[1]), thousands(rows[0]))
	w("Small rows at fetch size %s, from the same table (the first %s rows with LIMIT). Peak heap: the most heap in objects (live and garbage not yet swept) seen by a 1 ms sampler during the read, in MiB, from a collected heap; ", fetch, thousands(rows[0]))
	w("peak live: the most live heap any GC cycle during the read marked. Both include the sessions' own buffers.\n\n")
	r0, r1 := thousands(rows[0]), thousands(rows[1])
	w("| impl | peak heap, %s rows | peak heap, %s rows | ratio | peak live, %s | peak live, %s | ratio | rows/s, %s | rows/s, %s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
		r0, r1, r0, r1, r0, r1)
	for _, impl := range raw.Values("Memory", "impl") {
		h0 := raw.Stats("Memory", "peak-heap-B", "rows="+rows[0], "impl="+impl)
		h1 := raw.Stats("Memory", "peak-heap-B", "rows="+rows[1], "impl="+impl)
		l0 := raw.Stats("Memory", "peak-live-B", "rows="+rows[0], "impl="+impl)
		l1 := raw.Stats("Memory", "peak-live-B", "rows="+rows[1], "impl="+impl)
		r0 := raw.Stats("Memory", "rows/s", "rows="+rows[0], "impl="+impl)
		r1 := raw.Stats("Memory", "rows/s", "rows="+rows[1], "impl="+impl)
		w("| %s | %s%s | %s%s | %.2f× | %s | %s | %.2f× | %s | %s |\n", impl, mib(h0.Median), pm(h0), mib(h1.Median), pm(h1), h1.Median/h0.Median,
			mib(l0.Median), mib(l1.Median), l1.Median/l0.Median, rowsPerSec(r0.Median), rowsPerSec(r1.Median))
	}
	w("\n")
}

// protocol compares Stream on the v2 driver's default protocol (v5 with
// Cassandra 5) with v4.
func protocol(b *strings.Builder, raw *Raw) {
	d := raw.Match("Protocol", "proto=default")
	if len(d) == 0 {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	set, fetch := d[0].Params["set"], d[0].Params["fetch"]
	w("## The v2 driver on protocol v5 and v4\n\n")
	settled, _, _ := strings.Cut(raw.Config["protocol"], " ") // "v5 (v2 driver), v4 (...)"
	w("Stream over the %s set at fetch size %s, on a v2 driver session with the protocol it settles on (%s) and on one held to v4 (`ClusterConfig.ProtoVersion = 4`). ", set, fetch, orDash(settled))
	w("Every figure but the protocol is the same; gocqlx's driver speaks v4.\n\n")
	w("| protocol | rows/s | B/row | allocs/row | ms/page | peak heap (MiB) |\n|---|---:|---:|---:|---:|---:|\n")
	var base Stat
	for _, p := range raw.Values("Protocol", "proto") {
		q := []string{"proto=" + p}
		r := raw.Stats("Protocol", "rows/s", q...)
		if p == "default" {
			base = r
		}
		w("| %s | %s%s | %.0f | %.3f | %s | %s |\n", p, rowsPerSec(r.Median), pm(r), raw.Stats("Protocol", "B/row", q...).Median,
			raw.Stats("Protocol", "allocs/row", q...).Median, ms(raw.Stats("Protocol", "ns/page", q...).Median), mib(raw.Stats("Protocol", "peak-heap-B", q...).Median))
	}
	if v4 := raw.Stats("Protocol", "rows/s", "proto=4"); v4.N > 0 && base.N > 0 {
		r, noise := ratio(v4, base)
		w("\nv4 ÷ default: %s rows/s.\n", fmtRatio(r, noise))
	}
	w("\n")
}

// coalesce shows Stream with the driver's write coalescing on (its default)
// and off.
func coalesce(b *strings.Builder, raw *Raw) {
	if len(raw.Match("Coalesce")) == 0 {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## The v2 driver's write coalescing\n\n")
	w("Stream over the small set on a v2 driver session with its default `WriteCoalesceWaitTime` (200 µs: a request waits that long for others to share its write) and on one with it 0. ")
	w("A stream's page requests go one after another, so each one waits.\n\n")
	w("| set | fetch | wait | rows/s | ms/page | first row (ms) |\n|---|---:|---|---:|---:|---:|\n")
	for _, set := range raw.Values("Coalesce", "set") {
		for _, f := range raw.Values("Coalesce", "fetch") {
			for _, wait := range raw.Values("Coalesce", "wait") {
				q := []string{"set=" + set, "fetch=" + f, "wait=" + wait}
				r := raw.Stats("Coalesce", "rows/s", q...)
				if r.N == 0 {
					continue
				}
				label := "0"
				if wait == "default" {
					label = "default (200 µs)"
				}
				w("| %s | %s | %s | %s%s | %s | %s |\n", set, f, label, rowsPerSec(r.Median), pm(r),
					ms(raw.Stats("Coalesce", "ns/page", q...).Median), ms(raw.Stats("Coalesce", "first-row-ns", q...).Median))
			}
			r, noise := ratio(raw.Stats("Coalesce", "rows/s", "set="+set, "fetch="+f, "wait=0"), raw.Stats("Coalesce", "rows/s", "set="+set, "fetch="+f, "wait=default"))
			if !math.IsNaN(r) {
				w("| | | 0 ÷ default | %s | | |\n", fmtRatio(r, noise))
			}
		}
	}
	w("\n")
}

// fetchGuide shows, for Stream, what each fetch size gives relative to the
// best one: the figures the README's fetch-size guide is drawn from.
func fetchGuide(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Fetch size, for Stream\n\n")
	w("rows/s as a share of the best fetch size of the same set; the cost of a larger page is its first-row latency and heap.\n\n")
	w("| set | fetch | rows/s | of best | ms per page request | first row (ms) | peak heap (MiB) |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, set := range raw.Values("Read", "set") {
		best := 0.0
		for _, f := range raw.Values("Read", "fetch") {
			best = math.Max(best, raw.Stats("Read", "rows/s", "set="+set, "fetch="+f, "impl=stream").Median)
		}
		for _, f := range raw.Values("Read", "fetch") {
			p := []string{"set=" + set, "fetch=" + f, "impl=stream"}
			r := raw.Stats("Read", "rows/s", p...).Median
			w("| %s | %s | %s | %.0f%% | %s | %s | %s |\n", set, f, rowsPerSec(r), r/best*100,
				ms(raw.Stats("Read", "ns/page", p...).Median), ms(raw.Stats("Read", "first-row-ns", p...).Median),
				mib(raw.Stats("Read", "peak-heap-B", p...).Median))
		}
	}
	w("\n")
}

func matrix(b *strings.Builder, raw *Raw) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Every contender, every fetch size\n\n")
	w("driver: hand-written v2 loop (baseline); mapscan: v2 `MapScan` into a new map per row; gocqlx: gocqlx v3 `Iterx.StructScan`; ")
	w("stream / pages: `cqlseq.Stream` / `cqlseq.Pages`; cqlseqx: `cqlseqx.Stream` over a gocqlx query; ")
	w("async-cassandra / cassandra-driver (Python, if measured): `execute_stream` / the Python driver's own paging. ")
	w("Each library's default prefetch: 0.25 for the v2 driver and gocqlx, %g for cqlseq and cqlseqx (cqlseq.DefaultPrefetch), none for the Python peers. ", cqlseq.DefaultPrefetch)
	w("B/row and allocs/row count the whole Go process during the read, driver goroutines included, as `-benchmem` does; they, ms/page and the heap are not measured for the Python peers (-). ")
	w("ms/page is the mean latency of a page request (request sent to response read), first row is from the call to the first row in hand.\n\n")
	w("| set | fetch | impl | rows/s | ns/row | B/row | allocs/row | pages | ms/page | first row (ms) | peak heap (MiB) | peak live (MiB) |\n")
	w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, set := range raw.Values("Read", "set") {
		for _, f := range raw.Values("Read", "fetch") {
			for _, impl := range raw.Values("Read", "impl") {
				p := []string{"set=" + set, "fetch=" + f, "impl=" + impl}
				r := raw.Stats("Read", "rows/s", p...)
				if r.N == 0 {
					continue
				}
				w("| %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |\n", set, f, impl, rowsPerSec(r.Median), pm(r),
					num(raw.Stats("Read", "ns/row", p...).Median, 0), num(raw.Stats("Read", "B/row", p...).Median, 0),
					num(raw.Stats("Read", "allocs/row", p...).Median, 3), num(raw.Stats("Read", "pages/op", p...).Median, 0),
					ms(raw.Stats("Read", "ns/page", p...).Median), ms(raw.Stats("Read", "first-row-ns", p...).Median),
					mib(raw.Stats("Read", "peak-heap-B", p...).Median), mib(raw.Stats("Read", "peak-live-B", p...).Median))
			}
		}
	}
	w("\n")
}
