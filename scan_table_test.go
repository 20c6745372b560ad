package cqlseq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// requestLog records the requests of a session: each one's statement,
// bound values and consistency.
type requestLog struct {
	mu   sync.Mutex
	reqs []loggedRequest
}

type loggedRequest struct {
	stmt   string
	values []any
	cons   gocql.Consistency
	err    error
}

func (l *requestLog) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	r := loggedRequest{stmt: q.Statement, values: slices.Clone(q.Values), err: q.Err}
	if q.Query != nil {
		r.cons = q.Query.GetConsistency()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

// take returns the requests logged since the last call and forgets them.
func (l *requestLog) take() []loggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.reqs
	l.reqs = nil
	return r
}

// rangeRequests counts the requests of rs that read a token range with
// rows in it: a scan's range statements, whose first two values bound the
// range (start, end]; (max, max] is empty.
func rangeRequests(rs []loggedRequest) int {
	n := 0
	for _, r := range rs {
		if !strings.Contains(r.stmt, "token(") || len(r.values) < 2 {
			continue
		}
		start, ok1 := r.values[0].(int64)
		end, ok2 := r.values[1].(int64)
		if !ok1 || !ok2 || start < end || start == math.MinInt64 && end == math.MinInt64 {
			n++
		}
	}
	return n
}

// loggedSession opens a session to the node with the settings set gives
// it, whose requests log records; it is closed when the test ends.
func loggedSession(t *testing.T, set func(*gocql.ClusterConfig)) (*gocql.Session, *requestLog) {
	t.Helper()
	cqlseqtest.NeedCassandra(t)
	log := new(requestLog)
	c := cqlseqtest.Cluster()
	set(c)
	c.QueryObserver = log
	s, err := c.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, log
}

// The scan's own reads of system_schema depend on none of the session's
// settings: a default consistency that cannot read (ANY) or that asks for
// every replica, a page size of 1. They go out at ONE, each read in one
// page (one request that succeeded), and the scan reads what a SELECT
// reads.
func TestScanMetadataIgnoresSessionSettings(t *testing.T) {
	table, want := scanFixture(t, cqlseqtest.Session(t), 100)
	for _, tt := range []struct {
		name string
		set  func(*gocql.ClusterConfig)
		opts []ScanOption
	}{
		// A write-only default: the scan reads at the level it asks for.
		{"consistency ANY, page size 1", func(c *gocql.ClusterConfig) { c.Consistency, c.PageSize = gocql.Any, 1 }, []ScanOption{WithConsistency(One)}},
		{"consistency ALL", func(c *gocql.ClusterConfig) { c.Consistency = gocql.All }, nil},
		{"consistency EACH_QUORUM, page size 1", func(c *gocql.ClusterConfig) { c.Consistency, c.PageSize = gocql.EachQuorum, 1 }, nil},
		{"consistency SERIAL", func(c *gocql.ClusterConfig) { c.Consistency = gocql.Serial }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, log := loggedSession(t, tt.set)
			got := scanAll(t, Scan[scanRow](context.Background(), s, table, append(tt.opts, WithFetchSize(50))...), compareScanRows)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Fatalf("Scan differs from SELECT (-want +got):\n%s", diff)
			}
			perStatement := map[string]int{}
			for _, r := range log.take() {
				if !strings.Contains(r.stmt, "system_schema.") {
					continue
				}
				if r.err == nil {
					perStatement[r.stmt]++ // a request that failed may be sent again
				}
				if r.cons != gocql.One {
					t.Errorf("%s: read at %v, want ONE", r.stmt, r.cons)
				}
			}
			if len(perStatement) == 0 {
				t.Fatal("no request read system_schema")
			}
			for stmt, n := range perStatement {
				if n != 1 {
					t.Errorf("%s: %d pages, want 1", stmt, n)
				}
			}
		})
	}
}

// WithColumns and WithFilter are checked before any range is read: a
// column the table does not have, markers and values that do not pair, a
// statement Cassandra refuses, values the driver cannot bind. Each is an
// ErrInvalidArgument that names the option, with one "cqlseq: " prefix,
// after no request for a range with rows in it.
func TestScanChecksOptionsFirst(t *testing.T) {
	s, log := loggedSession(t, func(*gocql.ClusterConfig) {})
	ks := cqlseqtest.Keyspace(t, s)
	table := ks + ".people"
	cqlseqtest.Exec(t, s, "CREATE TABLE "+table+` (id int, c int, age int, v text, m map<text, int>, "UserId" int, PRIMARY KEY (id, c))`)
	for i := range 20 {
		if err := s.Query("INSERT INTO "+table+` (id, c, age, v, "UserId") VALUES (?, 0, ?, ?, ?)`, i, i, fmt.Sprint("v", i%3), 100+i).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name    string
		opts    []ScanOption
		option  string // the option the error names
		atOnce  bool   // refused before any request at all
		message string // what else the error says, if anything
	}{
		{"a column the table lacks", []ScanOption{WithColumns("id", "nosuch")}, "WithColumns", false, `no column "nosuch"`},
		{"a quoted column the table lacks", []ScanOption{WithColumns(`"Age"`)}, "WithColumns", false, `no column "Age"`},
		{"a column with capitals, unquoted", []ScanOption{WithColumns("UserId")}, "WithColumns", false, `"\"UserId\""`},
		{"an alias of a column the table lacks", []ScanOption{WithColumns("nosuch AS x")}, "WithColumns", false, `no column "nosuch"`},
		{"a function of a column the table lacks", []ScanOption{WithColumns("writetime(nosuch)")}, "WithColumns", false, ""},
		{"writetime of a key column", []ScanOption{WithColumns("writetime(id)")}, "WithColumns", false, ""},
		{"not an expression", []ScanOption{WithColumns("id AS")}, "WithColumns", false, ""},
		{"a bind marker in a column", []ScanOption{WithColumns("id", "?")}, "WithColumns", true, ""},
		{"a marker without its value", []ScanOption{WithFilter("age > ?")}, "WithFilter", true, "1 bind marker"},
		{"a value without its marker", []ScanOption{WithFilter("age > 3", 4)}, "WithFilter", true, "1 value"},
		{"named markers, one value", []ScanOption{WithFilter("age > :lo AND age < :hi", 3)}, "WithFilter", true, "2 bind markers"},
		{"a marker in a literal is none", []ScanOption{WithFilter("v = 'a?' AND age > ?")}, "WithFilter", true, "1 bind marker"},
		{"a LIMIT", []ScanOption{WithFilter("age > ? LIMIT 1", 3)}, "WithFilter", true, "LIMIT"},
		{"ALLOW FILTERING", []ScanOption{WithFilter("age > ? ALLOW FILTERING", 3)}, "WithFilter", true, "ALLOW FILTERING"},
		{"a column the table lacks in the filter", []ScanOption{WithFilter("nosuch > ?", 3)}, "WithFilter", false, ""},
		{"a syntax error", []ScanOption{WithFilter("age >> ?", 3)}, "WithFilter", false, ""},
		{"OR", []ScanOption{WithFilter("age > ? OR age < ?", 3, 1)}, "WithFilter", false, ""},
		{"a value of the wrong type", []ScanOption{WithFilter("age > ?", "three")}, "WithFilter", false, ""},
		{"a null value", []ScanOption{WithFilter("v = ?", nil)}, "WithFilter", false, ""},
		{"a second token restriction", []ScanOption{WithFilter("token(id) > 0")}, "WithFilter", false, ""},
		{"both options", []ScanOption{WithColumns("id"), WithFilter("nosuch = 1")}, "WithColumns(\"id\") and WithFilter", false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log.take()
			n := 0
			for _, err := range Scan[map[string]any](context.Background(), s, table, append(tt.opts, WithParallelism(2))...) {
				n++
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("%v, want an ErrInvalidArgument", err)
				}
				msg := err.Error()
				if strings.Count(msg, "cqlseq:") != 1 || !strings.Contains(msg, tt.option) || !strings.Contains(msg, tt.message) {
					t.Fatalf("%q: want one \"cqlseq:\" and %q and %q", msg, tt.option, tt.message)
				}
				t.Log(msg)
			}
			if n != 1 {
				t.Fatalf("%d elements, want 1", n)
			}
			reqs := log.take()
			if r := rangeRequests(reqs); r != 0 {
				t.Fatalf("%d requests for ranges with rows, want 0", r)
			}
			if tt.atOnce && len(reqs) != 0 {
				t.Fatalf("%d requests (the first %q), want none: the option is wrong whatever the table", len(reqs), reqs[0].stmt)
			}
		})
	}
	// What the checks must let through reads what it says.
	type row struct {
		ID     int
		UserID int `db:"UserId"`
		Age    int `db:"a"`
		W      int64
	}
	var want []row
	for i := range 20 {
		if i > 3 && i < 8 && i%3 == 1 {
			want = append(want, row{ID: i, UserID: 100 + i, Age: i})
		}
	}
	got := scanAll(t, Scan[row](context.Background(), s, table,
		WithColumns("id", `"UserId"`, "age AS a", "writetime(age) AS w"), WithFilter("age > :lo AND age < :hi AND v IN ('v1', '?:x')", 3, 8)),
		func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	for i := range got {
		if got[i].W <= 0 {
			t.Fatalf("row %d: writetime %d", got[i].ID, got[i].W)
		}
		got[i].W = 0
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// A table that cannot be scanned is named for what it is, before any range
// is read: a virtual table (one node's state), a keyspace or table that
// does not exist, a name whose capitals needed quotes.
func TestScanNamesWhatItCannotScan(t *testing.T) {
	s, log := loggedSession(t, func(*gocql.ClusterConfig) {})
	ks := cqlseqtest.Keyspace(t, s)
	cqlseqtest.Exec(t, s, "CREATE TABLE "+ks+`."Users" (id int PRIMARY KEY)`)
	for _, tt := range []struct {
		table string
		says  []string
	}{
		{"system_views.settings", []string{"virtual", "Stream"}},
		{"system_views.nosuch", []string{"virtual keyspace system_views", "no table nosuch"}},
		{"nosuch_keyspace.t", []string{"no keyspace nosuch_keyspace"}},
		{ks + ".nosuch", []string{"no table nosuch"}},
		{ks + ".users", []string{`"Users"`}},
		{ks + ".Users", []string{`"Users"`}},
		{"system.local", []string{"LocalStrategy", "Stream"}},
	} {
		t.Run(tt.table, func(t *testing.T) {
			log.take()
			n := 0
			for _, err := range Scan[map[string]any](context.Background(), s, tt.table) {
				n++
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("%v, want an ErrInvalidArgument", err)
				}
				msg := err.Error()
				if strings.Count(msg, "cqlseq:") != 1 {
					t.Fatalf("%q: want one \"cqlseq:\"", msg)
				}
				for _, w := range tt.says {
					if !strings.Contains(msg, w) {
						t.Fatalf("%q: want %q", msg, w)
					}
				}
				t.Log(msg)
			}
			if n != 1 {
				t.Fatalf("%d elements, want 1", n)
			}
			if r := rangeRequests(log.take()); r != 0 {
				t.Fatalf("%d requests for ranges, want 0", r)
			}
		})
	}
	n := 0
	for _, err := range Scan[map[string]any](context.Background(), s, ks+`."Users"`) {
		if err != nil {
			t.Fatalf(`%s."Users": %v`, ks, err)
		}
		n++
	}
	if n != 0 {
		t.Fatalf(`%s."Users": %d rows, want 0`, ks, n)
	}
}

func TestParseTable(t *testing.T) {
	for _, tt := range []struct{ in, ks, table, err string }{
		{"ks.t", "ks", "t", ""},
		{"Ks.T", "ks", "t", ""},
		{` "Ks" . "T" `, "Ks", "T", ""},
		{`"a""b".c`, `a"b`, "c", ""},
		{`"a.b".c`, "a.b", "c", ""},
		{"t", "", "", "name it keyspace.table"},
		{"a.b.c", "", "", "name it keyspace.table"},
		{"ks.", "", "", `"" is not a CQL name`},
		{`"ks.t`, "", "", "name it keyspace.table"},
		{"ks.t x", "", "", `"t x" is not a CQL name`},
	} {
		ks, table, err := parseTable(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTable(%q): %v, want an error saying %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || ks != tt.ks || table != tt.table {
			t.Errorf("parseTable(%q) = %q, %q, %v; want %q, %q", tt.in, ks, table, err, tt.ks, tt.table)
		}
	}
}

// WithFilter's bind markers are counted outside literals and quoted names,
// and a colon in a collection or user-defined type literal separates a
// key from its value unless a term begins there.
func TestLexFragment(t *testing.T) {
	for _, tt := range []struct {
		in      string
		markers int
		words   []string
		ok      bool
	}{
		{"age > ?", 1, []string{"AGE"}, true},
		{"age > :lo AND age < :lo", 2, []string{"AGE", "AND", "AGE"}, true},
		{`n < :limit AND m > :"Order"`, 2, []string{"N", "AND", "M"}, true},
		{`v = 'it''s ?' AND "odd?:x" = ?`, 1, []string{"V", "AND"}, true},
		{"v = $$a ? :b$$", 0, []string{"V"}, true},
		{"m = {'a': 1, 'b': :x}", 1, []string{"M", "1"}, true},
		{"u = {f: ?, g:h}", 1, []string{"U", "F", "G", "H"}, true},
		{"m = {:k : 1}", 1, []string{"M", "1"}, true},
		{"t = (?, :y)", 2, []string{"T"}, true},
		{"v = 'open", 0, []string{"V"}, false},
		{`"open = ?`, 0, nil, false},
		{"age > 3 limit 1", 0, []string{"AGE", "3", "LIMIT", "1"}, true},
	} {
		markers, words, ok := lexFragment(tt.in)
		if markers != tt.markers || ok != tt.ok || !slices.Equal(words, tt.words) {
			t.Errorf("lexFragment(%q) = %d, %q, %v; want %d, %q, %v", tt.in, markers, words, ok, tt.markers, tt.words, tt.ok)
		}
	}
}
