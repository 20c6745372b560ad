package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Raw is the raw output of the benchmark rounds: Go's benchmark format, with
// configuration lines ("key: value") that name the machine and comment
// lines ("# load: ...") that record the load before each round.
type Raw struct {
	Config  map[string]string // the first value of each configuration key
	Keys    []string          // configuration keys in order of appearance
	Load    []string          // the "# load:" lines, without the prefix
	Elapsed string            // the "# elapsed:" line: how long the run took
	Results []Result
}

// Result is one line of benchmark output.
type Result struct {
	Name    string            // full name without the -GOMAXPROCS suffix
	Top     string            // the top-level benchmark: "Read", "SlowConsumer", "Memory"
	Params  map[string]string // the key=value parts of the name
	Iters   int
	Metrics map[string]float64 // by unit, as the benchmark reported it
}

var (
	configLine = regexp.MustCompile(`^([a-z][^\s:]*):\s*(.*)$`)
	procSuffix = regexp.MustCompile(`-\d+$`)
)

// Parse reads raw benchmark output.
func Parse(r io.Reader) (*Raw, error) {
	raw := &Raw{Config: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(text, "# load:"):
			raw.Load = append(raw.Load, strings.TrimSpace(strings.TrimPrefix(text, "# load:")))
		case strings.HasPrefix(text, "# elapsed:"):
			raw.Elapsed = strings.TrimSpace(strings.TrimPrefix(text, "# elapsed:"))
		case strings.HasPrefix(text, "Benchmark"):
			res, err := parseResult(text)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if res != nil {
				raw.Results = append(raw.Results, *res)
			}
		default:
			if m := configLine.FindStringSubmatch(text); m != nil {
				if _, seen := raw.Config[m[1]]; !seen {
					raw.Config[m[1]] = m[2]
					raw.Keys = append(raw.Keys, m[1])
				}
			}
		}
	}
	return raw, sc.Err()
}

// parseResult parses "BenchmarkX/a=b-2  1  123 ns/op  4.5 rows/s ...". A
// line without figures (a benchmark that printed its name and failed)
// gives nil.
func parseResult(line string) (*Result, error) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return nil, nil
	}
	iters, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, nil // not a result line (a log line that starts with Benchmark)
	}
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("odd number of fields in %q", line)
	}
	name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
	parts := strings.Split(name, "/")
	res := &Result{Name: name, Top: parts[0], Params: map[string]string{}, Iters: iters, Metrics: map[string]float64{}}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			res.Params[k] = v
		}
	}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, fmt.Errorf("value %q of %s: %w", f[i], f[i+1], err)
		}
		res.Metrics[f[i+1]] = v
	}
	return res, nil
}

// Stat summarizes the runs of one benchmark in one unit.
type Stat struct {
	Values            []float64 // the runs, sorted
	N                 int
	Median, Min, Max  float64
	HalfRangePercents float64 // (max - min) / 2 as a percentage of the median
}

func summarize(vs []float64) Stat {
	if len(vs) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	st := Stat{Values: s, N: len(s), Median: med, Min: s[0], Max: s[len(s)-1]}
	if med != 0 {
		st.HalfRangePercents = (st.Max - st.Min) / 2 / math.Abs(med) * 100
	}
	return st
}

// Alpha is the significance level below which two stats differ, as in
// benchstat.
const Alpha = 0.05

// Differs reports whether the runs of s and o differ significantly: a
// two-sided Mann-Whitney U test, benchstat's, gives p < Alpha.
func (s Stat) Differs(o Stat) bool { return mannWhitneyP(s.Values, o.Values) < Alpha }

// mannWhitneyP is the two-sided p-value of the Mann-Whitney U test of a
// against b, from the exact distribution of U (ties count one half, which
// the exact distribution ignores: timings seldom tie).
func mannWhitneyP(a, b []float64) float64 {
	m, n := len(a), len(b)
	if m == 0 || n == 0 {
		return 1
	}
	u := 0.0
	for _, x := range a {
		for _, y := range b {
			switch {
			case x > y:
				u++
			case x == y:
				u += 0.5
			}
		}
	}
	// count[k] = the orderings of m and n values whose U is k, built up
	// one value at a time: f(i, j, k) = f(i-1, j, k-j) + f(i, j-1, k).
	count := make([][]float64, n+1)
	for j := range count {
		count[j] = make([]float64, m*n+1)
		count[j][0] = 1
	}
	for i := 1; i <= m; i++ {
		next := make([][]float64, n+1)
		for j := 0; j <= n; j++ {
			next[j] = make([]float64, m*n+1)
			for k := 0; k <= m*n; k++ {
				if k >= j {
					next[j][k] += count[j][k-j]
				}
				if j > 0 {
					next[j][k] += next[j-1][k]
				}
			}
		}
		count = next
	}
	var total, low, high float64
	for k, c := range count[n] {
		total += c
		if float64(k) <= u {
			low += c
		}
		if float64(k) >= u {
			high += c
		}
	}
	return math.Min(1, 2*math.Min(low, high)/total)
}

// Stats returns the summary of unit over the results whose top-level name
// is top and whose parameters include every key=value of params.
func (r *Raw) Stats(top, unit string, params ...string) Stat {
	var vs []float64
	for _, res := range r.Match(top, params...) {
		if v, ok := res.Metrics[unit]; ok {
			vs = append(vs, v)
		}
	}
	return summarize(vs)
}

// Match returns the results of top whose parameters include every
// key=value of params.
func (r *Raw) Match(top string, params ...string) []Result {
	var out []Result
next:
	for _, res := range r.Results {
		if res.Top != top {
			continue
		}
		for _, p := range params {
			k, v, _ := strings.Cut(p, "=")
			if res.Params[k] != v {
				continue next
			}
		}
		out = append(out, res)
	}
	return out
}

// Values returns the distinct values of parameter key among the results of
// top, in order of first appearance.
func (r *Raw) Values(top, key string) []string {
	var out []string
	for _, res := range r.Results {
		if v, ok := res.Params[key]; ok && res.Top == top && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
