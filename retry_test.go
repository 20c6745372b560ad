package cqlseq

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
	"github.com/google/go-cmp/cmp"
)

// A failed page request that may pass is sent again from the same state:
// every row arrives once, and the page reports its retries.
func TestRetryResumesFromTheSameState(t *testing.T) {
	for _, prefetch := range []float64{0, 1} {
		src := &fakeSource{pages: map[string]fakePage{
			"":  {rows: []int{1, 2}, state: "a", fail: 2},
			"a": {rows: []int{3, 4}, state: "b", fail: 3},
			"b": {rows: []int{5}},
		}}
		var infos []PageInfo
		cfg := testConfig(t, retrying(3), WithPrefetch(prefetch), WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))
		rows, errs := drain(streamRows[int](context.Background(), src, cfg))
		if errs != nil || !cmp.Equal(rows, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("prefetch %v: got %v, %v; want each row once", prefetch, rows, errs)
		}
		if got := []int{infos[0].Retries, infos[1].Retries, infos[2].Retries}; !cmp.Equal(got, []int{2, 3, 0}) {
			t.Fatalf("prefetch %v: retries per page %v, want [2 3 0]", prefetch, got)
		}
		if src.open.Load() != 0 {
			t.Fatal("pages left open")
		}
	}
}

// With Retry.MaxElapsed, a request that was never sent spends no attempt:
// the stream waits and sends it again within MaxElapsed, then gives up with
// every request listed. Without it, such a request counts as an attempt.
func TestRetryUnsentSpendsNothing(t *testing.T) {
	within := func(attempts int, elapsed time.Duration) Option {
		return WithRetry(Retry{Attempts: attempts, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxElapsed: elapsed})
	}
	src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, state: "a", unsent: 10}, "a": {rows: []int{2}, fail: 1, unsent: 3}}}
	var infos []PageInfo
	rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t, within(1, time.Minute), WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))))
	if errs != nil || !cmp.Equal(rows, []int{1, 2}) {
		t.Fatalf("10 requests not sent, 1 attempt: got %v, %v; want both rows", rows, errs)
	}
	if got := src.fetches.Load(); got != 16 || infos[0].Retries != 0 || infos[1].Retries != 1 {
		t.Fatalf("%d requests, retries %d and %d; want 11 + 5, retries 0 and 1", got, infos[0].Retries, infos[1].Retries)
	}

	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: 10}}}
	_, errs = drain(streamRows[int](context.Background(), src, testConfig(t, within(3, 0))))
	if len(errs) != 1 || !errors.Is(errs[0], errUnsent) || src.fetches.Load() != 4 {
		t.Fatalf("without MaxElapsed: %v after %d requests; want the error after 1 + 3", errs, src.fetches.Load())
	}

	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: math.MaxInt}}}
	_, errs = drain(streamRows[int](context.Background(), src, testConfig(t, within(1, 30*time.Millisecond))))
	var pe *PageError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Retries != 0 || pe.Failed < 3 || len(pe.Requests) != min(pe.Failed, maxFailedKept) ||
		pe.Requests[0].Sent || !errors.Is(pe, errUnsent) {
		t.Fatalf("never sent: %v; want a PageError of 0 retries listing several requests not sent", errs)
	}
	if !strings.Contains(pe.Error(), "fake:9042 not sent") {
		t.Fatalf("%q does not say the requests were not sent", pe)
	}
	t.Logf("never sent, 30 ms: %v", pe)

	// A context that ends while a page fails: its error, and the page's.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: math.MaxInt}}}
	_, errs = drain(streamRows[int](ctx, src, testConfig(t, within(1, time.Hour))))
	if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) || !errors.As(errs[0], &pe) || pe.Failed == 0 {
		t.Fatalf("deadline while failing: %v; want the deadline and the PageError", errs)
	}
}

func TestRetryGivesUp(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a"},
		"a": {rows: []int{2}, fail: 5},
	}}
	rows, errs := drain(streamRows[int](context.Background(), src, testConfig(t, retrying(2))))
	if !cmp.Equal(rows, []int{1}) || len(errs) != 1 || !errors.Is(errs[0], errTransient) {
		t.Fatalf("got %v, %v; want row 1, then the transient error", rows, errs)
	}
	if got := src.fetches.Load(); got != 4 {
		t.Fatalf("%d requests, want 1 + 1 + 2 retries", got)
	}
	var pe *PageError
	msg := regexp.MustCompile(`^cqlseq: fetching page 2, 2 retries: fetching "a": transient \(3 failed requests over \S+: fake:9042 3x at \+0s to \+\S+: fetching "a": transient\)$`)
	if !errors.As(errs[0], &pe) || pe.Page != 2 || pe.Retries != 2 || !msg.MatchString(errs[0].Error()) {
		t.Fatalf("error %q: PageError %+v, want page 2 after 2 retries: %q", errs[0], pe, msg)
	}
	if pe.Failed != 3 || len(pe.Requests) != 3 || !pe.Requests[2].Sent || pe.Requests[2].Host != "fake:9042" || !errors.Is(pe.Requests[0].Err, errTransient) {
		t.Fatalf("failed requests %+v, want the 3 requests sent to fake:9042", pe.Requests)
	}

	// An error the source does not call retryable ends the stream at once.
	final := errors.New("syntax error")
	src = &fakeSource{pages: map[string]fakePage{"": {err: final}}}
	if _, errs := drain(streamRows[int](context.Background(), src, testConfig(t, retrying(5)))); len(errs) != 1 || !errors.Is(errs[0], final) || src.fetches.Load() != 1 {
		t.Fatalf("got %v after %d requests; want the error after 1", errs, src.fetches.Load())
	}
}

// A cancelled context ends the wait between retries at once.
func TestRetryBackoffHonoursContext(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, fail: 100}}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	cfg := testConfig(t, WithRetry(Retry{Attempts: 100, MinBackoff: time.Hour}))
	_, errs := drain(streamRows[int](ctx, src, cfg))
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", errs)
	}
}

// A failure that may have reached Cassandra is retried only for statements
// that may run twice; one that cannot have reached it, always.
func TestRetryOnlyWhatIsSafe(t *testing.T) {
	for _, tt := range []struct {
		idempotent bool
		fails      int
		want       int // requests
	}{
		{true, 2, 3},
		{false, 2, 1},
	} {
		src := &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, fail: tt.fails}}}
		cfg, err := resolveStream([]StreamOption{retrying(5)}, driver.Query{CQL: "x", Idempotent: tt.idempotent})
		if err != nil {
			t.Fatal(err)
		}
		rows, errs := drain(streamRows[int](context.Background(), src, cfg))
		if got := int(src.fetches.Load()); got != tt.want {
			t.Errorf("idempotent %v: %d requests (rows %v, errors %v), want %d", tt.idempotent, got, rows, errs, tt.want)
		}
		if !tt.idempotent && (len(errs) != 1 || !errors.Is(errs[0], errTransient)) {
			t.Errorf("not idempotent: errors %v, want the transient error", errs)
		}
	}
}
