package cqlseq_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// exampleTable connects to the test node and creates a table of ten users.
// Examples print what a reader would see; the table is dropped afterwards.
// An Example prints an error it meets and returns: its output then differs
// from the one wanted and it fails, saying why, as log.Fatal would not (it
// ends the test binary). Under go test -short the Examples do not run (see
// TestMain).
func exampleTable() (*gocql.Session, string, func(), error) {
	ctx := context.Background()
	s, err := cqlseqtest.Connect(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	ks, err := cqlseqtest.CreateKeyspace(ctx, s, "example")
	if err != nil {
		s.Close()
		return nil, "", nil, err
	}
	done := func() { cqlseqtest.DropKeyspace(ctx, s, ks); s.Close() }
	stmts := []string{"CREATE TABLE " + ks + ".users (team text, id int, name text, email text, PRIMARY KEY (team, id))"}
	for i := 1; i <= 10; i++ {
		email := fmt.Sprintf("'user%d@example.com'", i)
		if i%4 == 0 {
			email = "null"
		}
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.users (team, id, name, email) VALUES ('core', %d, 'user %d', %s)", ks, i, i, email))
	}
	for _, st := range stmts {
		if err := s.Query(st).Exec(); err != nil {
			done()
			return nil, "", nil, err
		}
	}
	return s, ks + ".users", done, nil
}

func ExampleStream() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type User struct {
		ID    int
		Name  string
		Email *string // nil for NULL
	}
	ctx := context.Background()
	stmt := cqlseq.CQL("SELECT id, name, email FROM "+users+" WHERE team = ?", "core")
	for u, err := range cqlseq.Stream[User](ctx, session, stmt, cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if u.Email == nil {
			fmt.Println(u.ID, u.Name, "(no email)")
			continue
		}
		fmt.Println(u.ID, u.Name, *u.Email)
		if u.ID == 5 {
			break // the stream closes itself
		}
	}
	// Output:
	// 1 user 1 user1@example.com
	// 2 user 2 user2@example.com
	// 3 user 3 user3@example.com
	// 4 user 4 (no email)
	// 5 user 5 user5@example.com
}

func ExamplePages() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	ctx := context.Background()
	stmt := cqlseq.CQL("SELECT name FROM "+users+" WHERE team = ?", "core")
	var resume []byte
	for page, err := range cqlseq.Pages[string](ctx, session, stmt, cqlseq.WithFetchSize(4), cqlseq.WithMaxPages(2)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("page %d: %s (%d rows so far)\n", page.Number, strings.Join(page.Rows, ", "), page.TotalRows)
		resume = page.PageState
	}
	// Later, perhaps in another process: continue after the last page read.
	for page, err := range cqlseq.Pages[string](ctx, session, stmt, cqlseq.WithFetchSize(4), cqlseq.WithPageState(resume)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("resumed page %d: %s, last: %v\n", page.Number, strings.Join(page.Rows, ", "), page.PageState == nil)
	}
	// Output:
	// page 1: user 1, user 2, user 3, user 4 (4 rows so far)
	// page 2: user 5, user 6, user 7, user 8 (8 rows so far)
	// resumed page 1: user 9, user 10, last: true
}

func ExampleWithPageCallback() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	progress := cqlseq.WithPageCallback(func(p cqlseq.PageInfo) {
		fmt.Printf("page %d: %d rows, %d in all\n", p.Number, p.RowCount, p.TotalRows)
	})
	n := 0
	for _, err := range cqlseq.Stream[int](context.Background(), session, cqlseq.CQL("SELECT id FROM "+users),
		cqlseq.WithFetchSize(4), progress) {
		if err != nil {
			fmt.Println(err)
			return
		}
		n++
	}
	fmt.Println(n, "ids")
	// Output:
	// page 1: 4 rows, 4 in all
	// page 2: 4 rows, 8 in all
	// page 3: 2 rows, 10 in all
	// 10 ids
}

func ExampleFromQuery() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// A query with driver settings of its own; cqlseq copies it and never
	// changes it.
	q := session.Query("SELECT id, name FROM "+users+" WHERE team = ? AND id < ?", "core", 3).
		Consistency(gocql.One).Idempotent(true)
	for row, err := range cqlseq.Stream[map[string]any](context.Background(), nil, cqlseq.FromQuery(q)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(row["id"], row["name"])
	}
	// Output:
	// 1 user 1
	// 2 user 2
}

func ExampleWithCursor() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// An API hands out a cursor with each page and resumes from it on the
	// next request; signed, a client cannot alter it.
	ctx := context.Background()
	key := cqlseq.WithCursorKey([]byte("a secret of the service"))
	stmt := cqlseq.CQL("SELECT id FROM "+users+" WHERE team = ?", "core")
	cursor := ""
	for request := 1; ; request++ {
		var page cqlseq.Page[int]
		for p, err := range cqlseq.Pages[int](ctx, session, stmt, cqlseq.WithFetchSize(4), cqlseq.WithMaxPages(1), key, cqlseq.WithCursor(cursor)) {
			if err != nil {
				fmt.Println(err)
				return
			}
			page = p
		}
		fmt.Println("request", request, page.Rows)
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	// A cursor made for other bound values is refused before any query.
	other := cqlseq.CQL("SELECT id FROM "+users+" WHERE team = ?", "ops")
	for _, err := range cqlseq.Stream[int](ctx, session, other, key, cqlseq.WithCursor(firstCursor(session, users, key))) {
		fmt.Println(errors.Is(err, cqlseq.ErrInvalidCursor))
	}
	// Output:
	// request 1 [1 2 3 4]
	// request 2 [5 6 7 8]
	// request 3 [9 10]
	// true
}

// firstCursor returns the cursor after the first page of core's ids.
func firstCursor(session *gocql.Session, users string, key cqlseq.StreamOption) string {
	stmt := cqlseq.CQL("SELECT id FROM "+users+" WHERE team = ?", "core")
	for p, err := range cqlseq.Pages[int](context.Background(), session, stmt, cqlseq.WithFetchSize(4), key) {
		if err != nil {
			fmt.Println(err)
		}
		return p.Cursor
	}
	return ""
}

func ExampleMappingError() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	type Row struct {
		ID   int
		Name int // text does not decode into an int
	}
	for _, err := range cqlseq.Stream[Row](context.Background(), session, cqlseq.CQL("SELECT id, name FROM "+users)) {
		var me *cqlseq.MappingError
		if errors.As(err, &me) {
			fmt.Printf("before any row: column %q into %s (matches ErrMapping: %v)\n", me.Column, me.Field, errors.Is(err, cqlseq.ErrMapping))
		}
	}
	// Output:
	// before any row: column "name" into Row.Name (matches ErrMapping: true)
}

func ExampleDecodeError() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// A write time (microseconds since 1970) does not fit an int8: the
	// stream ends at the first row that holds one.
	type Row struct {
		ID      int
		Written int8 `db:"writetime(name)"`
	}
	stmt := cqlseq.CQL("SELECT id, writetime(name) FROM " + users)
	for _, err := range cqlseq.Stream[Row](context.Background(), session, stmt) {
		var se *cqlseq.DecodeError
		if errors.As(err, &se) {
			fmt.Printf("row %d of page %d: column %q into %s\n", se.Row, se.Page, se.Column, se.Field)
		}
	}
	// Output:
	// row 1 of page 1: column "writetime(name)" into Row.Written
}

func ExampleScan() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// Every row of the table, read by token range, four ranges at a time;
	// rows of different ranges interleave, so sort what order matters for.
	var ids []int
	for id, err := range cqlseq.Scan[int](context.Background(), session, users, cqlseq.WithColumns("id"), cqlseq.WithParallelism(4)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Println(ids)
	// Output:
	// [1 2 3 4 5 6 7 8 9 10]
}

func ExampleScanPages() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// A job that saves each page's checkpoint resumes where it stopped.
	ctx := context.Background()
	checkpoint, read := "", 0
	for page, err := range cqlseq.ScanPages[string](ctx, session, users, cqlseq.WithColumns("name"), cqlseq.WithFetchSize(3)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		read += len(page.Rows)
		checkpoint = page.Cursor // save it with the work done
		break                    // the job stops after one page
	}
	for page, err := range cqlseq.ScanPages[string](ctx, session, users, cqlseq.WithColumns("name"), cqlseq.WithFetchSize(3), cqlseq.WithCursor(checkpoint)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		read += len(page.Rows)
	}
	fmt.Println(read, "rows, each once")
	// Output:
	// 10 rows, each once
}
