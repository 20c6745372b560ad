// Command seed creates and fills the benchmark data sets in the keyspace
// cqlseq_bench, unless an earlier run did. It prints "seeded" when it wrote
// rows (bench/run.sh then compacts the tables) and "reused" when it did not.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/cqlseq/cqlseq/bench"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := cqlseqtest.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	defer s.Close()
	seeded, err := bench.EnsureAll(ctx, s, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
	if seeded {
		fmt.Println("seeded")
	} else {
		fmt.Println("reused")
	}
}
