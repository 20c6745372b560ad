package cqlseq

import (
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// A page's requests go to the range's replicas the driver takes to be up
// first, those that failed the page fewest times first, then in ring order,
// and with WithDataCenter to its replicas only; a request that could not be
// sent goes at once to the next target (the driver's own routing after the
// replicas up, then those down), and when every target was tried, a new
// round begins after a wait. After a page, the primary is first again.
func TestScanRouting(t *testing.T) {
	type step struct {
		pick string // the host expected
		sent bool   // the request to it failed after it was sent, or not
		now  bool   // another target may be tried at once
	}
	all := map[string]bool{"a": true, "b": true, "c": true}
	for _, tt := range []struct {
		name  string
		up    upHosts
		local map[string]bool
		steps []step
	}{
		{"all up: primary first, then the next replica after each failure, round and round", upHosts{"a": true, "b": true, "c": true}, all,
			[]step{{"a", true, false}, {"b", true, false}, {"c", true, false}, {"a", true, false}, {"b", true, false}}},
		{"the primary down: never tried while another is up", upHosts{"a": false, "b": true, "c": true}, all,
			[]step{{"b", true, false}, {"c", true, false}, {"b", true, false}, {"c", true, false}}},
		{"WithDataCenter: its replicas only", upHosts{"a": true, "b": true, "c": true}, map[string]bool{"b": true, "c": true},
			[]step{{"b", true, false}, {"c", true, false}, {"b", true, false}, {"c", false, true}, {"b", false, true}, {"", false, false}}},
		{"WithDataCenter, its replica down: the driver's routing, then that replica", upHosts{"a": true, "b": true, "c": false}, map[string]bool{"c": true},
			[]step{{"", true, false}, {"", false, true}, {"c", false, false}}},
		{"not sent: the next at once, the driver's routing, the replicas down, then a wait", upHosts{"a": true, "b": true, "c": false}, all,
			[]step{{"a", false, true}, {"b", false, true}, {"", false, true}, {"c", false, false}, {"", true, false}}},
		{"no replica known to the driver: its own routing", upHosts{}, all,
			[]step{{"", true, false}, {"", false, true}, {"a", false, true}, {"b", false, true}, {"c", false, false}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplicaRoute(newLiveness(tt.up), []string{"a", "b", "c"}, tt.local)
			for i, st := range tt.steps {
				if got := r.pick(); got != st.pick {
					t.Fatalf("request %d went to %q, want %q", i, got, st.pick)
				}
				if now := r.failed(st.pick, st.sent); now != st.now {
					t.Fatalf("request %d to %q failed (sent %v): at once %v, want %v", i, st.pick, st.sent, now, st.now)
				}
			}
			r.pageDone()
			// Hosts whose requests were not sent rank as down for a while,
			// so the check holds where every request was sent.
			sentAll := !slices.ContainsFunc(tt.steps, func(s step) bool { return !s.sent })
			if got, want := r.pick(), tt.steps[0].pick; got != want && sentAll {
				t.Fatalf("the next page's first request went to %q, want %q", got, want)
			}
		})
	}
}

// A scan's range routes each request of a page: the primary first; after
// a failure that reached a node, the replica that failed the page fewest
// times, after a wait; after one that was not sent, the next at once, for
// no attempt. The first request of the next page (a prefetch) goes to the
// primary again.
func TestRetryRoutesScanRequests(t *testing.T) {
	src := &fakeSource{pages: map[string]fakePage{
		"":  {rows: []int{1}, state: "a", fail: 1, unsent: 2},
		"a": {rows: []int{2}, unsent: 1},
	}}
	var infos []PageInfo
	cfg := testConfig(t, WithRetry(Retry{Attempts: 1, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}), WithPrefetch(1),
		WithPageCallback(func(p PageInfo) { infos = append(infos, p) }))
	rows, errs := drain(routedRows(src, cfg))
	if errs != nil || !gocmp.Equal(rows, []int{1, 2}) {
		t.Fatalf("got %v, %v; want both rows", rows, errs)
	}
	// Page 1: a fails (a wait, the one retry), b and c not sent (at once),
	// a again. Page 2 (prefetched): a not sent; b and c could not be sent
	// a moment ago either, so the driver's own routing ("").
	if want := []string{"a", "b", "c", "a", "a", ""}; !gocmp.Equal(src.hostIDs(), want) {
		t.Fatalf("requests went to %v, want %v", src.hostIDs(), want)
	}
	if infos[0].Retries != 1 || infos[1].Retries != 0 {
		t.Fatalf("retries %d and %d, want 1 and 0", infos[0].Retries, infos[1].Retries)
	}

	// With Retry{}, a request that was not sent still goes to the next
	// replica: that is routing, not retrying.
	src = &fakeSource{pages: map[string]fakePage{"": {rows: []int{1}, unsent: 3}}}
	cfg = testConfig(t, WithRetry(Retry{}))
	rows, errs = drain(routedRows(src, cfg))
	if errs != nil || !gocmp.Equal(rows, []int{1}) || !gocmp.Equal(src.hostIDs(), []string{"a", "b", "c", ""}) {
		t.Fatalf("Retry{}: got %v, %v after requests to %v; want the row from the driver's routing after the 3 replicas", rows, errs, src.hostIDs())
	}
}
