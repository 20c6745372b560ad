package cqlseq

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
)

// The refusals the package documentation lists under "Invalid arguments"
// are the refusals the code makes: every message the argument and option
// checks can produce (found in the source, so that a new one cannot go
// unnoticed) is produced here, matches ErrInvalidArgument, and is listed in
// doc.go by the words of its case's doc field. Needs no Cassandra.
func TestRefusalsAreListed(t *testing.T) {
	ctx := context.Background()
	q := driver.Query{CQL: "SELECT v FROM t"}
	stream := func(opts ...StreamOption) error { _, err := resolveStream(opts, q); return err }
	scan := func(opts ...ScanOption) error { _, err := resolveScan(opts, q); return err }
	first := func(seq func(func(int, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	var nilCtx context.Context
	fp := cursor.NewFingerprint("", q.CQL, nil)
	tests := []struct {
		name string
		err  error
		doc  string // the words of doc.go's list that name it
	}{
		{"nil context", first(Stream[int](nilCtx, nil, CQL("SELECT v FROM t"))), "a nil context"},
		{"nil context in a scan", first(Scan[int](nilCtx, nil, "ks.t")), "a nil context"},
		{"nil session", first(Stream[int](ctx, nil, CQL("SELECT v FROM t"))), "session"},
		{"nil session in a scan", first(Scan[int](ctx, nil, "ks.t")), "session"},
		{"empty statement", first(Stream[int](ctx, nil, CQL(" "))), "an empty statement"},
		{"nil stream option", stream(nil), "option"},
		{"nil scan option", scan(nil), "option"},
		{"fetch size", stream(WithFetchSize(0)), "a fetch size outside [1, 2^31)"},
		{"max pages", stream(WithMaxPages(-1)), "negative max pages"},
		{"prefetch", stream(WithPrefetch(1.5)), "a prefetch outside\n//     [0, 1]"},
		{"consistency", stream(WithConsistency(LocalOne + 1)), "an unknown consistency"},
		{"negative retry", stream(WithRetry(Retry{Attempts: -1})), "negative retry attempts, backoffs or MaxElapsed"},
		{"MaxElapsed alone", stream(WithRetry(Retry{MaxElapsed: time.Second})), "a MaxElapsed without Attempts"},
		{"backoffs crossed", stream(WithRetry(Retry{Attempts: 1, MinBackoff: time.Second, MaxBackoff: time.Millisecond})), "a MinBackoff above\n//     MaxBackoff"},
		{"rate limit", stream(WithRateLimit(0)), "a rate limit that is not > 0"},
		{"cursor and paging state", stream(WithCursor(cursor.Encode(fp, DefaultFetchSize, []byte("x"), nil)), WithPageState([]byte("x"))), "both a cursor and a paging state"},
		{"empty cursor key", stream(WithCursorKey(nil)), "an empty cursor key"},
		{"cursor at another fetch size", stream(WithCursor(cursor.Encode(fp, 7, []byte("x"), nil)), WithFetchSize(8)), "a cursor made\n//     at another fetch size"},
		{"cursor that cannot be used", stream(WithCursor("nonsense")), "a cursor or\n//     checkpoint that cannot be used"},
		{"table name", first(Scan[int](ctx, nil, "t")), `a scan's table name that is not "keyspace.table"`},
		{"table name not CQL", first(Scan[int](ctx, nil, "ks.t t")), `a scan's table name that is not "keyspace.table"`},
		{"parallelism", scan(WithParallelism(0)), "a parallelism outside [1, 1024]"},
		{"data center", scan(WithDataCenter(" ")), "a WithDataCenter\n//     that names no data center"},
		{"no columns", scan(WithColumns()), "WithColumns that names no column"},
		{"not a column", scan(WithColumns("v; DROP TABLE t")), "a column that is not one"},
		{"marker in a column", scan(WithColumns("?")), "holds\n//     a bind marker"},
		{"not a condition", scan(WithFilter(" ")), "WithFilter that is not a condition"},
		{"clause in a filter", scan(WithFilter("v > 1 LIMIT 2")), "holds a clause the scan writes\n//     itself"},
		{"values for markers", scan(WithFilter("v > ?")), "has another count of values than markers"},
	}
	doc := invalidArgumentsSection(t)
	var messages []string
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrInvalidArgument) {
			t.Errorf("%s: %v; want ErrInvalidArgument", tt.name, tt.err)
			continue
		}
		if !strings.Contains(doc, tt.doc) {
			t.Errorf("%s: doc.go's \"Invalid arguments\" does not say %q", tt.name, tt.doc)
		}
		messages = append(messages, tt.err.Error())
	}
	// Refusals that need a cluster to happen, each produced by the test
	// named here (and listed in doc.go as the words say).
	elsewhere := map[string]string{
		"WithDataCenter(%q): the cluster has no node in that data center": "TestScanDataCenter",
	}
	for _, format := range refusalFormats(t) {
		if test, ok := elsewhere[format]; ok {
			if !testExists(t, test) {
				t.Errorf("refusal %q: its test %s is gone", format, test)
			}
			continue
		}
		re := formatPattern(format)
		if !slices.ContainsFunc(messages, re.MatchString) {
			t.Errorf("refusal %q: no case of this test produces it; add one, and list it in doc.go", format)
		}
	}
}

// invalidArgumentsSection returns doc.go's "Invalid arguments" section.
func invalidArgumentsSection(t *testing.T) string {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, "// # Invalid arguments")
	if i < 0 {
		t.Fatal(`doc.go has no "Invalid arguments" section`)
	}
	j := strings.Index(s[i+1:], "// # ")
	if j < 0 {
		return s[i:]
	}
	return s[i : i+1+j]
}

// refusalFormats returns the messages of the argument and option checks of
// the package's source: the format of every invalidf call and of every
// error appended to config.errs.
func refusalFormats(t *testing.T) []string {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var formats []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				if fn.Name == "invalidf" {
					formats = append(formats, literal(t, call.Args[0]))
				}
				if fn.Name == "append" && len(call.Args) == 2 && isErrs(call.Args[0]) {
					if inner, ok := call.Args[1].(*ast.CallExpr); ok && len(inner.Args) > 0 {
						formats = append(formats, literal(t, inner.Args[0]))
					}
				}
			}
			return true
		})
	}
	if len(formats) < 20 {
		t.Fatalf("found %d refusals in the source: the search is broken", len(formats))
	}
	return formats
}

func isErrs(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "errs"
}

func literal(t *testing.T, e ast.Expr) string {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("a refusal whose message is not a literal: %#v", e)
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// formatPattern turns a fmt format into a pattern its output matches.
func formatPattern(format string) *regexp.Regexp {
	verb := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)
	parts := verb.Split(format, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, `(?s:.*?)`))
}

// testExists reports whether a test function of that name is in the
// package's test files.
func testExists(t *testing.T, name string) bool {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "func "+name+"(t *testing.T)") {
			return true
		}
	}
	return false
}
