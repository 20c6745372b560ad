package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPeersReadTheSameCases checks that the Python peers (peers/peers.py)
// still read what BenchmarkRead reads: the same fetch sizes, and for each
// data set the same table, columns and row count. It reads the program's
// text: CI need not have Python.
func TestPeersReadTheSameCases(t *testing.T) {
	b, err := os.ReadFile("peers/peers.py")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	var sizes []string
	for _, f := range FetchSizes {
		sizes = append(sizes, fmt.Sprint(f))
	}
	wants := []string{"FETCH_SIZES = (" + strings.Join(sizes, ", ") + ")"}
	small, large := BenchSmall(), BenchLarge()
	for _, s := range []struct {
		name, table, cols string
		rows, partition   int
	}{
		{small.Name, small.Table, small.cols, small.Rows, small.partition},
		{large.Name, large.Table, large.cols, large.Rows, large.partition},
	} {
		// DataSet(name, table, cols, rows, partition, ...) with rows
		// written as Python writes 200_000.
		wants = append(wants, fmt.Sprintf("DataSet(%q, %q, %q, %s, %d,", s.name, s.table, s.cols, underscored(s.rows), s.partition))
	}
	for _, want := range wants {
		if !strings.Contains(src, want) {
			t.Errorf("peers/peers.py lacks %s", want)
		}
	}
	// The Select the Go contenders send is the one peers.py builds.
	if got := small.Select(0); got != "SELECT "+small.cols+" FROM "+small.Table {
		t.Errorf("Select = %q: peers.py builds SELECT cols FROM table", got)
	}
}

// underscored writes n with _ between thousands, as peers.py does.
func underscored(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return b.String()
}
