package cqlseq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// A table read page by page with ReadPage, each from the cursor of the page
// before, is the table a plain read gives, at every fetch size: one
// request per page, nothing prefetched, the last page known by its empty
// cursor, nothing left running.
func TestReadPageOnTheNode(t *testing.T) {
	s := cqlseqtest.Session(t)
	const n = 60
	ks := newTable(t, s, "CREATE TABLE %s.t (id int PRIMARY KEY, name text)")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+ks+".t (id, name) VALUES (?, ?)", n, 0,
		func(i int) []any { return []any{i, fmt.Sprint("name-", i)} }); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID   int
		Name string
	}
	stmt := "SELECT id, name FROM " + ks + ".t"
	want, err := collect(t, cqlseq.Stream[row](context.Background(), s, cqlseq.CQL(stmt)))
	if err != nil || len(want) != n {
		t.Fatalf("plain read: %d rows, %v", len(want), err)
	}
	for _, size := range []int{1, 7, 20, 59, 60, 61, 1000} {
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			reqs, q := observed(s, stmt)
			var got []row
			cursor, pages := "", 0
			for {
				page, err := cqlseq.ReadPage[row](context.Background(), nil, cqlseq.FromQuery(q), cqlseq.WithFetchSize(size), cqlseq.WithCursor(cursor))
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				if r := reqs.Load(); r != int64(pages) {
					t.Fatalf("%d requests after %d pages: a page was prefetched", r, pages)
				}
				if page.RowCount != len(page.Rows) || len(page.Rows) > size {
					t.Fatalf("page %d: %d rows, RowCount %d, fetch size %d", pages, len(page.Rows), page.RowCount, size)
				}
				if len(page.Rows) == 0 {
					// Only after a full last page, whose cursor Cassandra
					// could not know leads nowhere.
					if len(got) != n || len(got)%size != 0 || page.Cursor != "" || page.Number != 0 {
						t.Fatalf("page %d without rows after %d rows: %+v", pages, len(got), page)
					}
					t.Logf("the last full page carried a cursor; it read no rows")
					break
				}
				if page.Number != 1 || page.TotalRows != int64(len(page.Rows)) {
					t.Fatalf("page %d: Number %d, TotalRows %d; a read from a cursor counts from 1", pages, page.Number, page.TotalRows)
				}
				got = append(got, page.Rows...)
				if cursor = page.Cursor; cursor == "" {
					if page.PageState != nil {
						t.Fatalf("page %d: no cursor, paging state %x", pages, page.PageState)
					}
					break
				}
				if pages > n+1 {
					t.Fatalf("%d pages for %d rows", pages, n)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("rows (-plain read +ReadPage's):\n%s", diff)
			}
			if wantPages := (n + size - 1) / size; pages < wantPages || pages > wantPages+1 {
				t.Fatalf("%d pages, want %d (or one more without rows)", pages, wantPages)
			}
		})
	}
}

// ReadPage refuses what Pages refuses, with the same error, before any
// request.
func TestReadPageRefusals(t *testing.T) {
	s, table := fixture(t)
	good := "SELECT id, name, score FROM " + table
	var nilCtx context.Context
	reqs, q := observed(s, good)
	other := "" // a cursor made for another statement
	for p, err := range cqlseq.Pages[int](context.Background(), s, cqlseq.CQL("SELECT id FROM "+table), cqlseq.WithFetchSize(5)) {
		if err != nil {
			t.Fatal(err)
		}
		other = p.Cursor
		break
	}
	tests := []struct {
		name    string
		ctx     context.Context
		session *gocql.Session
		stmt    cqlseq.Statement
		opts    []cqlseq.StreamOption
	}{
		{name: "nil session", stmt: cqlseq.CQL(good)},
		{name: "nil context", ctx: nilCtx, stmt: cqlseq.FromQuery(q)},
		{name: "empty statement", session: s, stmt: cqlseq.CQL(" ")},
		{name: "zero statement", session: s},
		{name: "fetch size", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(0)}},
		{name: "huge fetch size", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithFetchSize(math.MaxInt32 + 1)}},
		{name: "max pages", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithMaxPages(-1)}},
		{name: "prefetch", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithPrefetch(1.5)}},
		{name: "consistency", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithConsistency(99)}},
		{name: "retry", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithRetry(cqlseq.Retry{Attempts: -1})}},
		{name: "rate limit", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithRateLimit(0)}},
		{name: "nil option", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{nil}},
		{name: "empty cursor key", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithCursorKey(nil)}},
		{name: "cursor that is not one", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithCursor("nonsense")}},
		{name: "cursor of another statement", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithCursor(other), cqlseq.WithFetchSize(5)}},
		{name: "cursor and paging state", stmt: cqlseq.FromQuery(q), opts: []cqlseq.StreamOption{cqlseq.WithCursor(other), cqlseq.WithPageState([]byte("x"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil && tt.name != "nil context" {
				ctx = context.Background()
			}
			var want error
			for _, err := range cqlseq.Pages[Row](ctx, tt.session, tt.stmt, tt.opts...) {
				want = err
			}
			if !errors.Is(want, cqlseq.ErrInvalidArgument) {
				t.Fatalf("Pages: %v; the case is no refusal", want)
			}
			page, err := cqlseq.ReadPage[Row](ctx, tt.session, tt.stmt, tt.opts...)
			if !errors.Is(err, cqlseq.ErrInvalidArgument) || err.Error() != want.Error() {
				t.Errorf("ReadPage: %v; want Pages' %v", err, want)
			}
			if page.Rows != nil || page.Number != 0 {
				t.Errorf("ReadPage returned a page with its error: %+v", page)
			}
			if errors.Is(want, cqlseq.ErrInvalidCursor) != errors.Is(err, cqlseq.ErrInvalidCursor) {
				t.Errorf("ReadPage: %v; matches ErrInvalidCursor unlike Pages' %v", err, want)
			}
		})
	}
	if n := reqs.Load(); n != 0 {
		t.Fatalf("%d requests sent for refused arguments", n)
	}
}

func ExampleReadPage() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// A handler serves a page of names per request, with the cursor of the
	// next page; signed, a client cannot alter it.
	key := cqlseq.WithCursorKey([]byte("a secret of the service"))
	stmt := cqlseq.CQL("SELECT name FROM "+users+" WHERE team = ?", "core")
	type response struct {
		Names []string `json:"names"`
		Next  string   `json:"next,omitempty"` // none on the last page
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		page, err := cqlseq.ReadPage[string](r.Context(), session, stmt, key,
			cqlseq.WithFetchSize(4), cqlseq.WithCursor(r.FormValue("cursor")))
		switch {
		case errors.Is(err, cqlseq.ErrInvalidCursor):
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(response{Names: page.Rows, Next: page.Cursor})
	}

	// A client follows the cursors to the last page.
	get := func(cursor string) (int, response) {
		w := httptest.NewRecorder()
		handler(w, httptest.NewRequest("GET", "/names?cursor="+url.QueryEscape(cursor), nil))
		var resp response
		json.Unmarshal(w.Body.Bytes(), &resp)
		return w.Code, resp
	}
	cursor := ""
	for {
		code, resp := get(cursor)
		fmt.Println(code, strings.Join(resp.Names, ", "))
		if cursor = resp.Next; cursor == "" {
			break
		}
	}
	code, _ := get("forged")
	fmt.Println(code)
	// Output:
	// 200 user 1, user 2, user 3, user 4
	// 200 user 5, user 6, user 7, user 8
	// 200 user 9, user 10
	// 400
}
