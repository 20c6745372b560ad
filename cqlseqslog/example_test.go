package cqlseqslog_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqslog"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// A stream logged at DEBUG: its start, its page, its end. The handler
// leaves out what differs from run to run (the time, durations, the node),
// so that the output can be checked.
func Example() {
	ctx := context.Background()
	session, err := cqlseqtest.Connect(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer session.Close()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, cqlseqslog.KeyDuration, cqlseqslog.KeyLatency, cqlseqslog.KeyHost:
				return slog.Attr{}
			}
			return a
		},
	}))
	tracer := cqlseqslog.NewTracer(logger)

	q := cqlseq.CQL("SELECT cluster_name FROM system.local WHERE key = ?", "local")
	for _, err := range cqlseq.Stream[string](ctx, session, q, cqlseq.WithTracer(tracer)) {
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// level=DEBUG msg="cqlseq: stream started" stream=1 statement="SELECT cluster_name FROM system.local WHERE key = ?" fetch_size=5000
	// level=DEBUG msg="cqlseq: page" stream=1 page=1 attempt=0 rows=1
	// level=INFO msg="cqlseq: stream ended" stream=1 statement="SELECT cluster_name FROM system.local WHERE key = ?" rows=1 pages=1 reason=complete
}
