package bench

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		shared.env.Close()
	}
	for _, e := range []*Env{proto4.env, noWait.env} {
		if e != nil && e.V2 != nil {
			e.V2.Close()
		}
	}
	if code == 0 {
		// The benchmarks' sessions are closed above; the tests' are closed
		// by each test. No goroutine may outlive them.
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// TestContenders runs every contender of the benchmarks once over small
// data sets of its own keyspace, with several pages and with prefetching
// off, on and at its maximum, and checks that each returns exactly the
// seeded rows. It keeps the benchmark code working in CI, where the
// benchmarks themselves do not run; it measures nothing.
func TestContenders(t *testing.T) {
	cqlseqtest.NeedCassandra(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ks, err := cqlseqtest.CreateKeyspace(ctx, env.V2, "bench")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cqlseqtest.DropKeyspace(context.Background(), env.V2, ks); err != nil {
			t.Error(err)
		}
	}()

	small, large := SmallSet(ks, 2500), LargeSet(ks, 300)
	for _, seed := range []func() (bool, error){
		func() (bool, error) { return small.Ensure(ctx, env.V2, testWriter{t}) },
		func() (bool, error) { return large.Ensure(ctx, env.V2, testWriter{t}) },
		// A second Ensure finds the sets complete and writes nothing.
		func() (bool, error) { return small.Ensure(ctx, env.V2, testWriter{t}) },
	} {
		if _, err := seed(); err != nil {
			t.Fatal(err)
		}
	}
	if seeded, err := small.Ensure(ctx, env.V2, testWriter{t}); err != nil || seeded {
		t.Fatalf("Ensure of a complete set: seeded %v, %v; want false, nil", seeded, err)
	}

	runs := []Run{
		{Fetch: 1000, Prefetch: -1},
		{Fetch: 700, Prefetch: 0},
		{Fetch: 1000, Prefetch: 1},
	}
	t.Run("set=small", func(t *testing.T) { checkContenders(t, env, small, runs) })
	t.Run("set=large", func(t *testing.T) {
		checkContenders(t, env, large, []Run{{Fetch: 100, Prefetch: -1}, {Fetch: 64, Prefetch: 0}})
	})
	t.Run("limit", func(t *testing.T) {
		for _, c := range Contenders[Small]() {
			st, err := Measure(ctx, env, small, c, Run{Fetch: 300, Prefetch: -1, Limit: 1000}, 0)
			if err != nil || st.Rows != 1000 {
				t.Errorf("%s with LIMIT 1000: %d rows, %v", c.Name, st.Rows, err)
			}
		}
	})
	t.Run("slow consumer", func(t *testing.T) {
		stream, _ := ContenderNamed[Small]("stream")
		st, err := Measure(ctx, env, small, stream, Run{Fetch: 500, Prefetch: 0.25}, CalibrateSpin(time.Microsecond))
		if err != nil || st.Rows != int64(small.Rows) {
			t.Errorf("with work per row: %d rows, %v", st.Rows, err)
		}
	})
}

// checkContenders reads set with every contender and every run: each must
// return exactly the seeded rows, in the same order as the baseline, with
// the figures Measure reports filled in.
func checkContenders[R any](t *testing.T, env *Env, set *Set[R], runs []Run) {
	ctx := context.Background()
	want := make([]R, set.Rows)
	for i := range want {
		want[i] = set.Row(i)
	}
	byKey := func(a, b R) int { return set.Key(a) - set.Key(b) }
	var order []R // the baseline's row order
	cs := Contenders[R]()
	if cs[0].Name != "driver" {
		t.Fatalf("the first contender is %q, want the baseline (driver)", cs[0].Name)
	}
	names := []string{"driver", "mapscan", "gocqlx", "stream", "pages", "cqlseqx"}
	var got []string
	for _, c := range cs {
		got = append(got, c.Name)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("contenders (-want +got):\n%s", diff)
	}
	for _, run := range runs {
		for _, c := range cs {
			var rows []R
			err := c.Read(ctx, env, set, run, new(Pages), func(r R) { rows = append(rows, r) })
			if err != nil {
				t.Fatalf("%s, %+v: %v", c.Name, run, err)
			}
			if order == nil {
				order = slices.Clone(rows)
			} else if diff := cmp.Diff(order, rows); diff != "" {
				t.Errorf("%s, %+v: rows in another order than the baseline's (-driver +%s):\n%s", c.Name, run, c.Name, diff)
			}
			slices.SortFunc(rows, byKey)
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("%s, %+v: rows (-want +got):\n%s", c.Name, run, diff)
			}

			st, err := Measure(ctx, env, set, c, run, 0)
			if err != nil {
				t.Fatal(err)
			}
			wr, wk, wb := set.Want()
			if st.Rows != wr || st.KeySum != wk || st.Bytes != wb {
				t.Errorf("%s, %+v: Measure counted %d rows, key sum %d, %d bytes; want %d, %d, %d",
					c.Name, run, st.Rows, st.KeySum, st.Bytes, wr, wk, wb)
			}
			// Every page is one request; the last full page may be followed
			// by a request that finds no more rows.
			full := (set.Rows + run.Fetch - 1) / run.Fetch
			if st.Pages < int64(full) || st.Pages > int64(full+1) {
				t.Errorf("%s, %+v: %d page requests, want %d or %d", c.Name, run, st.Pages, full, full+1)
			}
			if st.FirstRow <= 0 || st.FirstRow > st.Elapsed || st.PeakHeap == 0 || st.Allocs == 0 || st.PageTime <= 0 {
				t.Errorf("%s, %+v: figures not filled in: %+v", c.Name, run, st)
			}
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
