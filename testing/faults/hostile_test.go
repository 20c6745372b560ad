package faults_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
)

// Row types a caller may get wrong.
type (
	// hidden has only unexported fields: to cqlseq, as to gocqlx, it is
	// a value type like time.Time, scanned from one column.
	//lint:ignore U1000 never read: the fields are the point of the test, no column may write them
	hidden struct {
		id    int
		name  string
		score int64
	}
	// partlyHidden's name is unexported, so no column fills it.
	partlyHidden struct {
		ID   int
		name string
	}
	// twice maps two fields to column "id".
	twice struct {
		ID    int
		Other int `db:"id"`
		Name  string
	}
	// promoted has a field "name" of its own and one promoted from an
	// embedded struct.
	promoted struct {
		named
		ID   int
		Name string
	}
	named struct{ Name string }
	// narrow has a field the column's type cannot be decoded into.
	narrow struct {
		ID   int
		Name int
	}
)

// outcome is what a stream yielded.
type outcome struct {
	rows     int
	errs     []error
	panicked any
	requests int // page requests sent on a connection
}

func drain[T any](seq func(func(T, error) bool)) (o outcome) {
	defer func() { o.panicked = recover() }()
	for _, err := range seq {
		if err != nil {
			o.errs = append(o.errs, err)
			continue
		}
		o.rows++
	}
	return o
}

func streamOf[T any](ctx context.Context, s *gocql.Session, st cqlseq.Statement, opts ...cqlseq.StreamOption) outcome {
	return drain(cqlseq.Stream[T](ctx, s, st, opts...))
}

// cursors returns, for stmt with values, the cursor after the first page of
// 100 rows, unsigned and signed with key.
func cursors(t *testing.T, s *gocql.Session, key []byte, stmt string, values ...any) (plain, signed string) {
	t.Helper()
	for _, k := range [][]byte{nil, key} {
		var c string
		opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(100)}
		if k != nil {
			opts = append(opts, cqlseq.WithCursorKey(k)) // an empty key is an error
		}
		for p, err := range cqlseq.Pages[Row](context.Background(), s, cqlseq.CQL(stmt, values...), opts...) {
			if err != nil {
				t.Fatal(err)
			}
			c = p.Cursor
			break
		}
		if c == "" {
			t.Fatal("the first page has no cursor")
		}
		if k == nil {
			plain = c
		} else {
			signed = c
		}
	}
	return plain, signed
}

// alter returns cursor with byte i of its binary form (counted from the
// end if negative) flipped: damage, which its check catches.
func alter(t *testing.T, cursor string, i int) string {
	t.Helper()
	raw := decode(t, cursor)
	if i < 0 {
		i += len(raw)
	}
	raw[i] ^= 0x5a
	return base64.RawURLEncoding.EncodeToString(raw)
}

// cut returns cursor without the last n bytes of its binary form.
func cut(t *testing.T, cursor string, n int) string {
	t.Helper()
	raw := decode(t, cursor)
	return base64.RawURLEncoding.EncodeToString(raw[:len(raw)-n])
}

// forge returns an unsigned cursor with the header of cursor, the paging
// state edit(state) and a CRC-32C that matches, as anyone can compute it:
// a forgery on purpose, which only a signature catches.
func forge(t *testing.T, cursor string, edit func(state []byte) []byte) string {
	t.Helper()
	raw := decode(t, cursor)
	// version, flags, fingerprint (18 bytes), then the page size (uvarint).
	const crc = 4
	_, n := binary.Uvarint(raw[18:])
	header := 18 + n
	state := edit(bytes.Clone(raw[header : len(raw)-crc]))
	b := append(bytes.Clone(raw[:header]), state...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decode(t *testing.T, cursor string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Hostile input gets one clear error as the stream's first and only
// element: no panic, no rows, no hang; cqlseq's own checks (arguments,
// cursors) reject it before any request is sent. The exceptions are
// recorded too: a fetch size of MaxInt32 is valid, a struct field no column
// can reach stays empty without WithStrict, and an unsigned cursor forged on
// purpose (its CRC-32C recomputed) reaches Cassandra, which may take it for
// another position: only a signed cursor (WithCursorKey) is tamper-proof.
func TestHostileInput(t *testing.T) {
	n := need(t)
	want := fixture(t)
	s, obs, _ := direct(t, n)
	ctx := context.Background()
	key, otherKey := []byte("the service's key"), []byte("someone else's key")
	filtered := selectAll + " WHERE id >= ? ALLOW FILTERING"
	plain, signed := cursors(t, s, key, selectAll)
	otherPlain, _ := cursors(t, s, key, filtered, 0)
	flip := func(i int) func([]byte) []byte {
		return func(st []byte) []byte { st[i] ^= 0x5a; return st }
	}
	rows := func(opts ...cqlseq.StreamOption) func() outcome {
		return func() outcome { return streamOf[Row](ctx, s, cqlseq.CQL(selectAll), opts...) }
	}
	tests := []struct {
		name string
		run  func() outcome
		// With no error expected: the rows the stream yields in all, or
		// check, when the count cannot be known.
		rows  int
		check func(*testing.T, outcome)
		is    error  // errors.Is target
		as    any    // errors.As target, for the driver's errors
		start string // how the message starts
		has   string // the key part of cqlseq's message
		sent  bool   // whether requests may be sent
	}{
		{name: "string bound to an int column, with retries on",
			run: func() outcome {
				return streamOf[Row](ctx, s, cqlseq.CQL(selectAll+" WHERE id = ?", "seven"), cqlseq.WithRetry(cqlseq.Retry{Attempts: 3}))
			},
			as: new(gocql.MarshalError), start: "cqlseq: fetching page 1: ", sent: true},
		{name: "int bound to a text column",
			run: func() outcome {
				return streamOf[Row](ctx, s, cqlseq.CQL(selectAll+" WHERE id = ? AND name = ? ALLOW FILTERING", 0, 42))
			},
			as: new(gocql.MarshalError), start: "cqlseq: fetching page 1: ", sent: true},
		{name: "cursor of another statement", run: rows(cqlseq.WithCursor(otherPlain)),
			is: cqlseq.ErrInvalidCursor, has: "it was made for another statement or other bound values"},
		{name: "cursor of other bound values",
			run: func() outcome {
				return streamOf[Row](ctx, s, cqlseq.CQL(filtered, 1), cqlseq.WithCursor(otherPlain))
			},
			is: cqlseq.ErrInvalidCursor, has: "it was made for another statement or other bound values"},
		{name: "truncated cursor: header cut", run: rows(cqlseq.WithCursor(plain[:16])),
			is: cqlseq.ErrInvalidCursor, has: "truncated: 12 bytes, a cursor has at least 18"},
		{name: "truncated cursor: end cut, unsigned", run: rows(cqlseq.WithCursor(cut(t, plain, 3))),
			is: cqlseq.ErrInvalidCursor, has: "checksum does not match"},
		{name: "truncated cursor: end cut, signed", run: rows(cqlseq.WithCursor(cut(t, signed, 3)), cqlseq.WithCursorKey(key)),
			is: cqlseq.ErrInvalidCursor, has: "signature does not match"},
		{name: "damaged cursor: fingerprint byte, unsigned", run: rows(cqlseq.WithCursor(alter(t, plain, 5))),
			is: cqlseq.ErrInvalidCursor, has: "checksum does not match"},
		{name: "damaged cursor: paging state byte, unsigned", run: rows(cqlseq.WithCursor(alter(t, plain, 20))),
			is: cqlseq.ErrInvalidCursor, has: "checksum does not match"},
		{name: "damaged cursor: paging state byte, signed", run: rows(cqlseq.WithCursor(alter(t, signed, 20)), cqlseq.WithCursorKey(key)),
			is: cqlseq.ErrInvalidCursor, has: "signature does not match"},
		{name: "damaged cursor: signature byte", run: rows(cqlseq.WithCursor(alter(t, signed, -1)), cqlseq.WithCursorKey(key)),
			is: cqlseq.ErrInvalidCursor, has: "signature does not match"},
		{name: "forged cursor: paging state unreadable, CRC recomputed",
			run: rows(cqlseq.WithCursor(forge(t, plain, flip(0)))),
			as:  new(gocql.RequestError), start: "cqlseq: fetching page 1: ", sent: true},
		{name: "forged cursor: paging state cut in half, CRC recomputed",
			run: rows(cqlseq.WithCursor(forge(t, plain, func(st []byte) []byte { return st[:len(st)/2] }))),
			as:  new(gocql.RequestError), start: "cqlseq: fetching page 1: ", sent: true},
		{name: "forged cursor: paging state emptied, CRC recomputed",
			run: rows(cqlseq.WithCursor(forge(t, plain, func([]byte) []byte { return nil }))),
			is:  cqlseq.ErrInvalidCursor, has: "it holds no paging state"},
		{name: "forged cursor: partition key altered, CRC recomputed: another position, no error",
			run: rows(cqlseq.WithCursor(forge(t, plain, flip(1)))),
			check: func(t *testing.T, o outcome) {
				if len(o.errs) != 0 || o.panicked != nil || o.rows == 0 || o.rows == fixtureRows-100 {
					t.Errorf("got %d rows, errors %v, panic %v; want rows from another position than the cursor's (%d rows after it)",
						o.rows, o.errs, o.panicked, fixtureRows-100)
				}
			},
			sent: true},
		{name: "forged cursor: partition key altered, signed",
			run: rows(cqlseq.WithCursor(alter(t, signed, 19)), cqlseq.WithCursorKey(key)),
			is:  cqlseq.ErrInvalidCursor, has: "signature does not match"},
		{name: "cursor signed with another key", run: rows(cqlseq.WithCursor(signed), cqlseq.WithCursorKey(otherKey)),
			is: cqlseq.ErrInvalidCursor, has: "signature does not match: the cursor was altered or signed with another key"},
		{name: "signed cursor, no key", run: rows(cqlseq.WithCursor(signed)),
			is: cqlseq.ErrInvalidCursor, has: "it is signed, and no cursor key is configured to check it"},
		{name: "unsigned cursor, key configured", run: rows(cqlseq.WithCursor(plain), cqlseq.WithCursorKey(key)),
			is: cqlseq.ErrInvalidCursor, has: "it is not signed, and a cursor key is configured"},
		{name: "cursor that is not base64url", run: rows(cqlseq.WithCursor("AQ==" + plain)),
			is: cqlseq.ErrInvalidCursor, has: `not base64url text: byte 2 is '='`},
		{name: "cursor of an unknown version",
			run: rows(cqlseq.WithCursor(base64.RawURLEncoding.EncodeToString(append([]byte{9, 0}, make([]byte, 24)...)))),
			is:  cqlseq.ErrInvalidCursor, has: "unknown version 9"},
		{name: "cursor of 1 MiB and a byte", run: rows(cqlseq.WithCursor(strings.Repeat("A", 1<<20+1))),
			is: cqlseq.ErrInvalidCursor, has: "1048577 bytes long, more than a cursor can be"},
		{name: "cursor and paging state", run: rows(cqlseq.WithCursor(plain), cqlseq.WithPageState([]byte{1})),
			is: cqlseq.ErrInvalidArgument, has: "both a cursor and a paging state to resume from"},
		{name: "fetch size MaxInt32: valid, one page", run: rows(cqlseq.WithFetchSize(math.MaxInt32)),
			check: func(t *testing.T, o outcome) {
				if len(o.errs) != 0 || o.rows != fixtureRows || o.requests != 1 {
					t.Errorf("got %d rows in %d requests, errors %v; want all %d rows in one", o.rows, o.requests, o.errs, fixtureRows)
				}
			},
			sent: true},
		{name: "fetch size MaxInt32+1", run: rows(cqlseq.WithFetchSize(math.MaxInt32 + 1)),
			is: cqlseq.ErrInvalidArgument, has: "fetch size must be in [1, 2^31), got 2147483648"},
		{name: "fetch size MinInt", run: rows(cqlseq.WithFetchSize(math.MinInt)),
			is: cqlseq.ErrInvalidArgument, has: fmt.Sprintf("fetch size must be in [1, 2^31), got %d", math.MinInt)},
		{name: "struct with only unexported fields",
			run: func() outcome { return streamOf[hidden](ctx, s, cqlseq.CQL(selectAll)) },
			is:  cqlseq.ErrMapping, has: "row type faults_test.hidden holds one column, the query returns 3 (id, name, score)", sent: true},
		{name: "struct with an unexported field for a column, strict",
			run: func() outcome { return streamOf[partlyHidden](ctx, s, cqlseq.CQL(selectAll), cqlseq.WithStrict()) },
			is:  cqlseq.ErrMapping, has: `column "name" has no field in faults_test.partlyHidden (strict mapping)`, sent: true},
		{name: "struct with an unexported field for a column, lenient: the field stays empty",
			run: func() outcome {
				o := outcome{}
				for r, err := range cqlseq.Stream[partlyHidden](ctx, s, cqlseq.CQL(selectAll)) {
					if err != nil {
						o.errs = append(o.errs, err)
						continue
					}
					if o.rows++; r.name != "" || r.ID != want[o.rows-1].ID {
						o.errs = append(o.errs, fmt.Errorf("row %d is %+v", o.rows, r))
					}
				}
				return o
			},
			rows: fixtureRows, sent: true},
		{name: "two fields for one column",
			run: func() outcome { return streamOf[twice](ctx, s, cqlseq.CQL(selectAll)) },
			is:  cqlseq.ErrMapping, has: `column "id" maps to two fields of faults_test.twice, ID and Other`, sent: true},
		{name: "a field and a promoted field for one column",
			run: func() outcome { return streamOf[promoted](ctx, s, cqlseq.CQL(selectAll)) },
			is:  cqlseq.ErrMapping, has: `column "name" maps to two fields of faults_test.promoted, Name and named.Name`, sent: true},
		{name: "field of the wrong type",
			run: func() outcome { return streamOf[narrow](ctx, s, cqlseq.CQL(selectAll)) },
			is:  cqlseq.ErrMapping, as: new(gocql.UnmarshalError), has: `column "name" (varchar) cannot be scanned into narrow.Name (int)`, sent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			before := obs.total()
			o := tt.run()
			sent := obs.total() - before
			o.requests = sent
			var err error
			if len(o.errs) > 0 {
				err = o.errs[0]
			}
			t.Logf("%d rows, %d requests sent; error: %v", o.rows, sent, err)
			if sent > 0 && !tt.sent {
				t.Errorf("%d requests were sent; this input must be rejected before any", sent)
			}
			if o.panicked != nil {
				t.Fatalf("the stream panicked: %v", o.panicked)
			}
			switch {
			case tt.check != nil:
				tt.check(t, o)
				return
			case tt.is == nil && tt.as == nil:
				if len(o.errs) != 0 || o.rows != tt.rows {
					t.Fatalf("got %d rows and errors %v, want %d rows", o.rows, o.errs, tt.rows)
				}
				return
			}
			if len(o.errs) != 1 || o.rows != 0 {
				t.Fatalf("got %d rows and errors %v, want exactly one error", o.rows, o.errs)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v (%T) does not unwrap to the driver's %T", err, err, tt.as)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cqlseq: ") || !strings.HasPrefix(msg, tt.start) || !strings.Contains(msg, tt.has) {
				t.Errorf("message %q; want it to start with %q and hold %q", msg, max(tt.start, "cqlseq: "), tt.has)
			}
		})
	}
}
