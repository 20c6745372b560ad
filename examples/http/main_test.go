package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m)))
}

const buckets, perBucket = 10, 500

// fixture is the table the tests serve, filled once.
var fixture = &sample.Fixture{Buckets: buckets, PerBucket: perBucket}

var key = []byte("the cursor key of the tests")

func table(t *testing.T) string {
	t.Helper()
	return fixture.Table(t) // fails with the reason when Cassandra is unreachable
}

// The client follows the cursors to the end and gets every row once.
func TestWalk(t *testing.T) {
	table := table(t)
	srv := httptest.NewServer(Handler(cqlseqtest.Session(t), table, key))
	defer srv.Close()
	want := sample.Rows(buckets, perBucket)

	for _, limit := range []int{137, 500, 1000} { // 500 and 1000 end at a page boundary
		var got []sample.Event
		pages, err := Walk(context.Background(), srv.Client(), srv.URL+"/events", limit, func(e Event) {
			got = append(got, sample.Event(e))
		})
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		seen := map[[2]int]bool{}
		for _, e := range got {
			if k := [2]int{e.Bucket, e.ID}; seen[k] {
				t.Errorf("limit %d: row %v served twice", limit, k)
			} else {
				seen[k] = true
			}
		}
		slices.SortFunc(got, func(a, b sample.Event) int {
			return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.ID, b.ID))
		})
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: rows (-want +got):\n%s", limit, diff)
		}
		full := (len(want) + limit - 1) / limit
		if pages != full && pages != full+1 { // +1: an empty last page after a full one
			t.Errorf("limit %d: %d pages, want %d (or %d)", limit, pages, full, full+1)
		}
		t.Logf("limit %d: %d rows in %d pages", limit, len(got), pages)
	}
}

// A client that changes its limit from one page to the next gets pages of
// the limit it asks for, and every row once: the cursor of a page resumes
// at any fetch size.
func TestChangingLimit(t *testing.T) {
	table := table(t)
	srv := httptest.NewServer(Handler(cqlseqtest.Session(t), table, key))
	defer srv.Close()
	want := sample.Rows(buckets, perBucket)

	limits := []int{700, 50, 1, 1000, 3, 137, 999, 500}
	var got []sample.Event
	cursor := ""
	for page := 0; ; page++ {
		limit := limits[page%len(limits)]
		query := url.Values{"limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			query.Set("cursor", cursor)
		}
		var resp Response
		getJSON(t, srv, query.Encode(), http.StatusOK, &resp)
		if len(resp.Rows) > limit || resp.Next != "" && len(resp.Rows) != limit {
			t.Fatalf("page %d at limit %d: %d rows, next %q", page+1, limit, len(resp.Rows), resp.Next)
		}
		for _, e := range resp.Rows {
			got = append(got, sample.Event(e))
		}
		if resp.Next == "" {
			t.Logf("%d rows in %d pages at limits %v, in turn", len(got), page+1, limits)
			break
		}
		cursor = resp.Next
	}
	slices.SortFunc(got, func(a, b sample.Event) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.ID, b.ID))
	})
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// Bad input gets a 400 that says what is wrong.
func TestBadRequests(t *testing.T) {
	table := table(t)
	srv := httptest.NewServer(Handler(cqlseqtest.Session(t), table, key))
	defer srv.Close()

	// A real cursor, to show that it works where the bad ones do not.
	var first Response
	getJSON(t, srv, "limit=2", http.StatusOK, &first)
	if len(first.Rows) != 2 || first.Next == "" {
		t.Fatalf("first page: %+v", first)
	}
	var second Response
	getJSON(t, srv, "limit=2&cursor="+first.Next, http.StatusOK, &second)
	if len(second.Rows) != 2 || second.Rows[0] == first.Rows[0] {
		t.Fatalf("second page: %+v after %+v", second, first)
	}

	// The same listing served with another key, and another listing.
	otherKey := httptest.NewServer(Handler(cqlseqtest.Session(t), table, []byte("another key")))
	defer otherKey.Close()
	var foreign Response
	getJSON(t, otherKey, "limit=2", http.StatusOK, &foreign)
	other := fixture.Keyspace(t) + ".other"
	if err := sample.Fill(context.Background(), cqlseqtest.Session(t), other, 1, 10); err != nil {
		t.Fatal(err)
	}
	otherTable := httptest.NewServer(Handler(cqlseqtest.Session(t), other, key))
	defer otherTable.Close()
	var elsewhere Response
	getJSON(t, otherTable, "limit=2", http.StatusOK, &elsewhere)

	altered := []byte(first.Next)
	altered[len(altered)/2] ^= 'A' ^ 'B'

	for _, tc := range []struct{ name, query, message string }{
		{"not base64", "cursor=" + url.QueryEscape("not base64!"), "not base64url"},
		{"padded", "cursor=" + first.Next + "%3D%3D", "not base64url"}, // cursors have no padding
		{"too short", "cursor=aGVsbG8", "truncated"},                   // base64 of "hello"
		{"altered", "cursor=" + string(altered), "signature does not match"},
		{"another key", "cursor=" + foreign.Next, "signature does not match"},
		{"another table", "cursor=" + elsewhere.Next, "another statement"},
		{"limit 0", "limit=0", "want a whole number from 1 to 1000"},
		{"limit too large", "limit=1001", "want a whole number from 1 to 1000"},
		{"limit not a number", "limit=ten", "want a whole number from 1 to 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e ErrorResponse
			getJSON(t, srv, tc.query, http.StatusBadRequest, &e)
			if !strings.Contains(e.Error, tc.message) {
				t.Errorf("error %q, want it to say %q", e.Error, tc.message)
			}
		})
	}
}

func getJSON(t *testing.T, srv *httptest.Server, query string, code int, into any) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + "/events?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != code {
		t.Errorf("GET ?%s: %s, want %d", query, res.Status, code)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET ?%s: Content-Type %q", query, ct)
	}
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatalf("GET ?%s: %v", query, err)
	}
}

// The program as run from the command line: serve, walk, stop.
func TestRun(t *testing.T) {
	table := table(t)
	var out bytes.Buffer
	n, err := run(context.Background(), cqlseqtest.Session(t), Config{Table: table, Addr: "127.0.0.1:0", Limit: 700, Key: key}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil || n != buckets*perBucket {
		t.Fatalf("run: %d rows, %v; want %d rows", n, err, buckets*perBucket)
	}
}
