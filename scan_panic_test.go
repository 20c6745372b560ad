package cqlseq

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// rangeEndPanics is a RangeTracer whose TraceRangeEnd panics.
type rangeEndPanics struct{ nopTracer }

func (rangeEndPanics) TraceRangeStart(ctx context.Context, _ TraceRangeStartData) context.Context {
	return ctx
}
func (rangeEndPanics) TraceRangeEnd(context.Context, TraceRangeEndData) { panic("TraceRangeEnd") }

// A tracer's panic on a worker reaches the caller however the scan ends:
// handed to the loop while it runs, raised once the workers have returned
// when the loop had stopped (a break, a cancelled context).
func TestScanTracerPanicReachesCaller(t *testing.T) {
	s := cqlseqtest.Session(t)
	table, _ := scanFixture(t, s, 200)
	for _, tt := range []struct {
		name string
		loop func(ctx context.Context, cancel context.CancelFunc)
	}{
		{"read to the end", func(ctx context.Context, _ context.CancelFunc) {
			for _, err := range Scan[scanRow](ctx, s, table, WithTracer(rangeEndPanics{}), WithParallelism(4)) {
				if err != nil {
					t.Errorf("error before the panic: %v", err)
				}
			}
		}},
		{"broken off", func(ctx context.Context, _ context.CancelFunc) {
			for _, err := range Scan[scanRow](ctx, s, table, WithTracer(rangeEndPanics{}), WithParallelism(4)) {
				if err != nil {
					t.Errorf("error before the panic: %v", err)
				}
				break
			}
		}},
		{"pages broken off", func(ctx context.Context, _ context.CancelFunc) {
			for _, err := range ScanPages[scanRow](ctx, s, table, WithTracer(rangeEndPanics{}), WithParallelism(4)) {
				if err != nil {
					t.Errorf("error before the panic: %v", err)
				}
				break
			}
		}},
		{"cancelled", func(ctx context.Context, cancel context.CancelFunc) {
			for range Scan[scanRow](ctx, s, table, WithTracer(rangeEndPanics{}), WithParallelism(4)) {
				cancel()
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := func() (v any) {
				defer func() { v = recover() }()
				tt.loop(ctx, cancel)
				return nil
			}()
			if got != "TraceRangeEnd" {
				t.Fatalf("recovered %v, want the tracer's panic", got)
			}
		})
	}
}
