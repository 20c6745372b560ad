package drivertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// Tests that a row arrives in the right fields, exactly once, or the stream
// says why: schema changes between pages, skipped composite columns, NULLs
// into interfaces, cursors of LIMIT queries, and the edges of a stream.

// SchemaRow is read with SELECT * from a table whose columns change
// between pages.
type SchemaRow struct {
	ID      int
	A, B, C string
}

// SkipRow maps the scalar columns of a table whose tuple and UDT columns
// it has no field for.
type SkipRow struct {
	ID   int
	A, B string
}

// AnyRow has empty-interface fields of several CQL types, NULLs included.
type AnyRow struct {
	ID  int
	V   any    // text
	Tup [2]any // tuple<int, text>
	U   any    // a UDT
	Ts  any    // timestamp
	ID2 any    `db:"uid"` // uuid
}

func integrityTests() []test {
	return []test{
		{"SchemaChangeBetweenPages", schemaChange},
		{"SchemaChangeStrict", schemaChangeStrict},
		{"SkippedCompositeColumns", skippedComposites},
		{"NullIntoInterface", nullIntoInterface},
		{"CursorOfLimitQuery", cursorOfLimit},
		{"CursorAtAnotherFetchSize", cursorAtAnotherFetchSize},
		{"CancelAfterLastRow", cancelAfterLastRow},
		{"DecodeErrorNamesColumn", decodeErrorNamesColumn},
	}
}

type test struct {
	name string
	fn   func(*testing.T, FrontEnd)
}

// schemaTable creates a table of 100 rows (id, a, b, c) for a schema change.
func schemaTable(t *testing.T) (string, func(stmt string)) {
	s, _ := Fixture(t)
	ks := cqlseqtest.Keyspace(t, s)
	table := ks + ".evolving"
	exec(t, s, "CREATE TABLE "+table+" (id int PRIMARY KEY, a text, b text, c text)")
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+table+" (id, a, b, c) VALUES (?, ?, ?, ?)", 100, 8, func(i int) []any {
		return []any{i, fmt.Sprint("a-", i), fmt.Sprint("b-", i), fmt.Sprint("c-", i)}
	}); err != nil {
		t.Fatal(err)
	}
	return table, func(stmt string) { exec(t, s, strings.ReplaceAll(stmt, "$t", table)) }
}

// A SELECT * stream whose table loses a column and gains another between
// pages goes on by name: the dropped column's field stays zero, the new
// column is ignored, and no value lands in another column's field. Checked
// for Stream and Pages, with the change after the first page (prefetch
// off) and after the second (the third page prefetched under the old
// schema).
func schemaChange(t *testing.T, fe FrontEnd) {
	for _, tc := range []struct {
		name     string
		pages    bool
		prefetch float64
		alterAt  int // page after which the schema changes
	}{
		{"Stream", false, 0, 1},
		{"StreamPrefetch", false, 1, 2},
		{"Pages", true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table, alter := schemaTable(t)
			finished := 0
			changed := -1 // the first page requested after the change
			opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(tc.prefetch),
				cqlseq.WithPageCallback(func(p cqlseq.PageInfo) {
					finished = p.Number
					if p.Number == tc.alterAt {
						alter("ALTER TABLE $t DROP a")
						alter("ALTER TABLE $t ADD z text")
						alter("UPDATE $t SET z = 'z' WHERE id = 1")
						// Another client prepares the statement again: the
						// server then runs the stream's next page with the
						// new columns, whatever the stream's driver cached.
						alter("SELECT * FROM $t")
						changed = p.Number + 1
						if tc.prefetch > 0 {
							changed++ // already requested
						}
					}
				})}
			q := Q("SELECT * FROM " + table)
			type seen struct {
				row  SchemaRow
				page int
			}
			var got []seen
			if tc.pages {
				for p, err := range fe.SchemaPages(context.Background(), q, opts...) {
					if err != nil {
						t.Fatalf("after %d rows: %v", len(got), err)
					}
					for _, r := range p.Rows {
						got = append(got, seen{r, p.Number})
					}
				}
			} else {
				for r, err := range fe.Schema(context.Background(), q, opts...) {
					if err != nil {
						t.Fatalf("after %d rows: %v", len(got), err)
					}
					got = append(got, seen{r, finished + 1})
				}
			}
			if len(got) != 100 {
				t.Fatalf("%d rows, want 100", len(got))
			}
			newSchema := 0
			for _, g := range got {
				want := SchemaRow{ID: g.row.ID, A: fmt.Sprint("a-", g.row.ID), B: fmt.Sprint("b-", g.row.ID), C: fmt.Sprint("c-", g.row.ID)}
				if g.page >= changed {
					want.A = "" // dropped
					newSchema++
				}
				if g.row != want {
					t.Fatalf("page %d (schema changed from page %d): got %+v, want %+v", g.page, changed, g.row, want)
				}
			}
			if newSchema < 50 {
				t.Fatalf("only %d rows read after the change; the test proves little", newSchema)
			}
			t.Logf("%d rows before the change, %d after, each in its own fields", 100-newSchema, newSchema)
		})
	}
}

// With WithStrict, a column added mid-stream that no field takes ends the
// stream with a MappingError that names it and the page, after the rows of
// the pages before.
func schemaChangeStrict(t *testing.T, fe FrontEnd) {
	table, alter := schemaTable(t)
	n := 0
	var got error
	for r, err := range fe.Schema(context.Background(), Q("SELECT * FROM "+table), cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(0), cqlseq.WithStrict(),
		cqlseq.WithPageCallback(func(p cqlseq.PageInfo) {
			if p.Number == 1 {
				alter("ALTER TABLE $t ADD z text")
				alter("SELECT * FROM $t") // prepared again by another client
			}
		})) {
		if err != nil {
			got = err
			continue
		}
		if r.A != fmt.Sprint("a-", r.ID) {
			t.Fatalf("row %+v", r)
		}
		n++
	}
	var me *cqlseq.MappingError
	if n != 10 || !errors.Is(got, cqlseq.ErrMapping) || !errors.As(got, &me) || me.Column != "z" || me.Page != 2 {
		t.Fatalf("%d rows, then %v (%+v); want 10 rows, then a MappingError for column z at page 2", n, got, me)
	}
	if !strings.Contains(got.Error(), `added "z"`) {
		t.Fatalf("error %q does not say what changed", got)
	}
	t.Logf("after %d rows: %v", n, got)
}

// Columns without a field are skipped whatever their type: a tuple (NULL
// or not), a nested tuple, a UDT; the columns after them land in their
// own fields.
func skippedComposites(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TYPE {ks}.pt (x int, y text)",
		"CREATE TABLE {ks}.comp (id int PRIMARY KEY, tup tuple<int, text>, a text, nest tuple<int, tuple<text, int>, frozen<pt>>, u frozen<pt>, b text)")
	want := map[int]SkipRow{}
	for i := range 40 {
		if i%3 == 0 {
			exec(t, s, "INSERT INTO "+ks+".comp (id, a, b) VALUES (?, ?, ?)", i, fmt.Sprint("a", i), fmt.Sprint("b", i))
		} else {
			exec(t, s, "INSERT INTO "+ks+".comp (id, tup, a, nest, u, b) VALUES (?, (?, ?), ?, (1, ('n', 2), {x: 3, y: 'z'}), {x: 1, y: 'y'}, ?)",
				i, i, "t", fmt.Sprint("a", i), fmt.Sprint("b", i))
		}
		want[i] = SkipRow{ID: i, A: fmt.Sprint("a", i), B: fmt.Sprint("b", i)}
	}
	for _, stmt := range []string{
		"SELECT id, tup, a, b FROM " + ks + ".comp",
		"SELECT tup, id, nest, a, u, b FROM " + ks + ".comp",
		"SELECT * FROM " + ks + ".comp",
	} {
		got := map[int]SkipRow{}
		for r, err := range fe.Skips(context.Background(), Q(stmt), cqlseq.WithFetchSize(7)) {
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			got[r.ID] = r
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", stmt, diff)
		}
	}
}

// A NULL into an empty-interface field gives nil, of any type, also in a
// tuple element; a value gives the driver's default Go type.
func nullIntoInterface(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TYPE {ks}.pt (x int, y text)",
		"CREATE TABLE {ks}.anys (id int PRIMARY KEY, v text, tup tuple<int, text>, u frozen<pt>, ts timestamp, uid uuid)")
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		switch i % 3 {
		case 0: // every column NULL
			exec(t, s, "INSERT INTO "+ks+".anys (id) VALUES (?)", i)
		case 1:
			exec(t, s, "INSERT INTO "+ks+".anys (id, v, tup, u, ts, uid) VALUES (?, 'v', (7, 's'), {x: 1, y: 'y'}, ?, 5bd4e3a6-7c1d-4f10-9b9e-2d3a8f1c2b11)", i, at)
		case 2: // a tuple with a NULL element
			exec(t, s, "INSERT INTO "+ks+".anys (id, tup) VALUES (?, (null, 's'))", i)
		}
	}
	n := 0
	for r, err := range fe.Anys(context.Background(), Q("SELECT id, v, tup, u, ts, uid FROM "+ks+".anys"), cqlseq.WithFetchSize(3)) {
		if err != nil {
			t.Fatalf("after %d rows: %v", n, err)
		}
		n++
		switch r.ID % 3 {
		case 0:
			if r.V != nil || r.Tup != [2]any{} || r.U != nil || r.Ts != nil || r.ID2 != nil {
				t.Fatalf("all-NULL row %d: %#v", r.ID, r)
			}
		case 1:
			ts, ok := r.Ts.(time.Time)
			if text(r.V) != "v" || fmt.Sprint(r.Tup[0]) != "7" || text(r.Tup[1]) != "s" || r.U == nil || !ok || !ts.Equal(at) || r.ID2 == nil {
				t.Fatalf("row %d: %#v", r.ID, r)
			}
		case 2:
			if r.Tup[0] != nil || text(r.Tup[1]) != "s" || r.V != nil {
				t.Fatalf("row %d: %#v", r.ID, r)
			}
		}
	}
	if n != 20 {
		t.Fatalf("%d rows, want 20", n)
	}
}

// text returns the text in v: the v2 driver decodes text into an interface
// as a string, the gocql fork (and so gocqlx) as a []byte.
func text(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	s, _ := v.(string)
	return s
}

// A cursor of a LIMIT query resumes exactly: the cursor carries the page
// size it was made at, the resumed stream uses it, and asking for another
// page size is refused before any query is sent. (Cassandra ignores a
// paging state when the page size reaches the LIMIT.)
func cursorOfLimit(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TABLE {ks}.lim (p int, c int, PRIMARY KEY (p, c))")
	for i := range 100 {
		exec(t, s, "INSERT INTO "+ks+".lim (p, c) VALUES (0, ?)", i)
	}
	stmt := "SELECT c FROM " + ks + ".lim WHERE p = 0 LIMIT 35"
	var cursor string
	var state []byte
	for p, err := range fe.IntPages(context.Background(), Q(stmt), cqlseq.WithFetchSize(10)) {
		if err != nil {
			t.Fatal(err)
		}
		cursor, state = p.Cursor, p.PageState
		break
	}
	read := func(q Query, opts ...cqlseq.StreamOption) ([]int, error) {
		var got []int
		for v, err := range fe.Ints(context.Background(), q, opts...) {
			if err != nil {
				return got, err
			}
			got = append(got, v)
		}
		return got, nil
	}
	want := make([]int, 25)
	for i := range want {
		want[i] = 10 + i
	}
	got, err := read(Q(stmt), cqlseq.WithCursor(cursor))
	if err != nil || !cmp.Equal(want, got) {
		t.Fatalf("resumed from the cursor: %v, %v; want rows 10..34", got, err)
	}
	got, err = read(Q(stmt), cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(10))
	if err != nil || !cmp.Equal(want, got) {
		t.Fatalf("resumed from the cursor at its own fetch size: %v, %v; want rows 10..34", got, err)
	}
	q := Q(stmt)
	got, refused := read(q, cqlseq.WithCursor(cursor), cqlseq.WithFetchSize(35))
	if !errors.Is(refused, cqlseq.ErrInvalidCursor) || len(got) != 0 || q.Requests.Load() != 0 || !strings.Contains(refused.Error(), "fetch size 10") {
		t.Fatalf("another fetch size: %v rows, %v, %d requests; want ErrInvalidCursor naming fetch size 10 before any request", got, refused, q.Requests.Load())
	}
	got, err = read(Q(stmt), cqlseq.WithPageState(state), cqlseq.WithFetchSize(10))
	if err != nil || !cmp.Equal(want, got) {
		t.Fatalf("resumed from the paging state at the same fetch size: %v, %v", got, err)
	}
	t.Logf("another fetch size: %v", refused)
}

// A cursor of a statement without a LIMIT resumes at the fetch size
// WithFetchSize asks for, smaller or larger than its own, and at its own
// without WithFetchSize: Cassandra resumes such a paging state exactly at
// any page size.
func cursorAtAnotherFetchSize(t *testing.T, fe FrontEnd) {
	s, table := Fixture(t)
	all := Ordered(t, s, table)
	var cursor string
	for p, err := range fe.Pages(context.Background(), selectAll(table), cqlseq.WithFetchSize(100)) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Number == 3 {
			cursor = p.Cursor
			break
		}
	}
	for _, size := range []int{0, 7, 100, 2500} { // 0: no WithFetchSize
		t.Run(fmt.Sprint("fetch size ", size), func(t *testing.T) {
			opts := []cqlseq.StreamOption{cqlseq.WithCursor(cursor), cqlseq.WithMaxPages(3)}
			want := size
			if size > 0 {
				opts = append(opts, cqlseq.WithFetchSize(size))
			} else {
				want = 100
			}
			var got []Row
			for p, err := range fe.Pages(context.Background(), selectAll(table), opts...) {
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Rows) != want {
					t.Fatalf("page %d of the resumed stream has %d rows, want %d", p.Number, len(p.Rows), want)
				}
				got = append(got, p.Rows...)
			}
			if diff := cmp.Diff(all[300:300+3*want], got); diff != "" {
				t.Fatalf("resumed rows (-want +got):\n%s", diff)
			}
		})
	}
}

// Cancelling the context in the body of the last row does not turn a
// complete read into an error.
func cancelAfterLastRow(t *testing.T, fe FrontEnd) {
	_, table := Fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for _, err := range fe.Rows(ctx, Q("SELECT id, name, score FROM "+table+" WHERE id IN (1, 2, 3)")) {
		if err != nil {
			t.Fatalf("after %d rows: %v", n, err)
		}
		if n++; n == 3 {
			cancel()
		}
	}
	if n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
}

// A value that does not fit its field ends the stream with a DecodeError
// that names the column, the field, the page and the row, and unwraps to
// the driver's error.
func decodeErrorNamesColumn(t *testing.T, fe FrontEnd) {
	s, ks := setup(t,
		"CREATE TABLE {ks}.small (p int, id int, v bigint, PRIMARY KEY (p, id))")
	for i := range 30 {
		v := int64(i)
		if i == 17 {
			v = 1 << 40 // does not fit Small.V, an int8
		}
		exec(t, s, "INSERT INTO "+ks+".small (p, id, v) VALUES (0, ?, ?)", i, v)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n := 0
	var got error
	for _, err := range fe.Smalls(context.Background(), Q("SELECT id, v FROM "+ks+".small WHERE p = 0"), cqlseq.WithFetchSize(5)) {
		if err != nil {
			got = err
			continue
		}
		n++
	}
	var se *cqlseq.DecodeError
	if !errors.As(got, &se) || se.Column != "v" || se.Field != "Small.V" || se.Page != 4 || se.Row != 18 || n != 17 {
		t.Fatalf("%d rows, then %v (%+v); want 17 rows, then a DecodeError for column v, field Small.V, page 4, row 18", n, got, se)
	}
	if !errors.Is(got, cqlseq.ErrMapping) || !fe.IsDecodeError(got) {
		t.Fatalf("%v matches ErrMapping %v and the driver's decoding error %v; want both", got, errors.Is(got, cqlseq.ErrMapping), fe.IsDecodeError(got))
	}
	t.Logf("%v", got)
}
