package cqlseq

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/crc32"
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
	"github.com/cqlseq/cqlseq/internal/ring"
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
	// limited resumes stmt's stream from a cursor made at fetch size made.
	limited := func(stmt string, made int, opts ...StreamOption) error {
		text := cursor.Encode(cursor.NewFingerprint("", stmt, nil), made, []byte("x"), nil)
		_, err := resolveStream(append(opts, WithCursor(text)), driver.Query{CQL: stmt})
		return err
	}
	type refusal struct {
		name string
		err  error
		doc  string // the words of doc.go's list that name it
	}
	tests := []refusal{
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
		{"cursor of a LIMIT at another fetch size", limited("SELECT v FROM t LIMIT 10", 7, WithFetchSize(8)),
			"a cursor made\n//     at another fetch size than WithFetchSize asks for a statement with a\n//     LIMIT"},
		{"cursor of an unterminated string at another fetch size", limited("SELECT v FROM t WHERE k = 'x", 7, WithFetchSize(8)),
			"or one left inside a string, quoted name or comment"},
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
		{"LIMIT glued to a number in a filter", scan(WithFilter("v > 1LIMIT 2")), "holds a clause the scan writes\n//     itself"},
		{"values for markers", scan(WithFilter("v > ?")), "has another count of values than markers"},
	}
	// Every refusal of a cursor (by Stream and Pages) and of a checkpoint
	// (by Scan and ScanPages, from decodeCheckpoint once it has read the
	// table) that package cursor can make: each matches ErrInvalidCursor
	// too, and says which it refused.
	unusable := func(name string, err error, prefix string) refusal {
		if !errors.Is(err, ErrInvalidCursor) || !strings.HasPrefix(fmt.Sprint(err), prefix) {
			t.Errorf("%s: %v; want ErrInvalidCursor, and the message to begin with %q", name, err, prefix)
		}
		return refusal{name, err, "a cursor or\n//     checkpoint that cannot be used"}
	}
	for _, c := range hostileCursors(t, fp) {
		tests = append(tests, unusable("cursor: "+c.name, stream(append(c.opts, WithCursor(c.text))...), "cqlseq: invalid cursor: "))
	}
	for _, c := range hostileCheckpoints(t, fp) {
		_, _, err := decodeCheckpoint(c.text, fp, c.key)
		tests = append(tests, unusable("checkpoint: "+c.name, err, "cqlseq: invalid scan checkpoint: "))
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
	// Refusals that need a cluster to happen, or a checkpoint of hundreds
	// of megabytes, each produced by the test named here (and listed in
	// doc.go as the words say).
	elsewhere := map[string]string{
		"WithDataCenter(%q): the cluster has no node in that data center": "TestScanDataCenter",
		"%d bytes long, more than a checkpoint can be":                    "TestCheckpointTooLong",
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

// refusalDirs are the directories of the source that refuses arguments:
// the package's, and package cursor's, which refuses cursors and
// checkpoints for it.
var refusalDirs = []string{".", "internal/cursor"}

// refusalFormats returns the messages of the argument and option checks of
// the package's source: the format of every invalidf and cursorRefusef
// call and of every error appended to config.errs, and the reason of every
// refusef call of package cursor (which decodeCursor and decodeCheckpoint
// make the package's errors).
func refusalFormats(t *testing.T) []string {
	fset := token.NewFileSet()
	var formats []string
	for _, dir := range refusalDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		before := len(formats)
		for _, name := range files {
			if !strings.HasSuffix(name, "_test.go") {
				formats = append(formats, fileRefusals(t, fset, name)...)
			}
		}
		if len(formats) == before {
			t.Fatalf("found no refusal in %s: the search is broken", dir)
		}
	}
	if len(formats) < 20 {
		t.Fatalf("found %d refusals in the source: the search is broken", len(formats))
	}
	return formats
}

// fileRefusals returns the refusals of one source file (see
// refusalFormats).
func fileRefusals(t *testing.T, fset *token.FileSet, name string) []string {
	f, err := parser.ParseFile(fset, name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var formats []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			if fn.Name == "invalidf" || fn.Name == "refusef" || fn.Name == "cursorRefusef" {
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
	return formats
}

func isErrs(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "errs"
}

// literal returns the string constant e, a literal or literals joined
// with +.
func literal(t *testing.T, e ast.Expr) string {
	if sum, ok := e.(*ast.BinaryExpr); ok && sum.Op == token.ADD {
		return literal(t, sum.X) + literal(t, sum.Y)
	}
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

// testExists reports whether a test function of that name is in the test
// files of refusalDirs.
func testExists(t *testing.T, name string) bool {
	var files []string
	for _, dir := range refusalDirs {
		in, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, in...)
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

// hostileCursor is a cursor WithCursor refuses, with the options it is
// given with.
type hostileCursor struct {
	name string
	text string
	opts []StreamOption
}

// hostileCursors returns a cursor for every refusal of cursor.Decode, for
// a statement whose fingerprint is fp.
func hostileCursors(t *testing.T, fp cursor.Fingerprint) []hostileCursor {
	b64 := base64.RawURLEncoding.EncodeToString
	raw := func(text string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	key, other := WithCursorKey([]byte("k1")), WithCursorKey([]byte("k2"))
	plain := raw(cursor.Encode(fp, DefaultFetchSize, []byte("state"), nil))
	signed := cursor.Encode(fp, DefaultFetchSize, []byte("state"), []byte("k1"))
	// A cursor whose checksum holds and whose page size does not.
	size := append(bytes.Clone(plain[:cursor.HeaderLen]), binary.AppendUvarint(nil, 1<<40)...)
	size = binary.BigEndian.AppendUint32(append(size, 's'), crc32.Checksum(append(size, 's'), crc32.MakeTable(crc32.Castagnoli)))
	// And one whose page size is 0, which would turn paging off.
	zero := append(bytes.Clone(plain[:cursor.HeaderLen]), binary.AppendUvarint(nil, 0)...)
	zero = binary.BigEndian.AppendUint32(append(zero, 's'), crc32.Checksum(append(zero, 's'), crc32.MakeTable(crc32.Castagnoli)))
	return []hostileCursor{
		{"too long", strings.Repeat("A", 1<<20+1), nil},
		{"not base64url", "!!!", nil},
		{"stray bits", "AB", nil},
		{"truncated", b64(plain[:10]), nil},
		{"earlier version", b64(with(plain, 0, 1)), nil},
		{"unknown version", b64(with(plain, 0, 9)), nil},
		{"unknown flags", b64(with(plain, 1, 0x80)), nil},
		{"signed, no key", signed, nil},
		{"unsigned, key", b64(plain), []StreamOption{key}},
		{"signature cut off", b64(raw(signed)[:30]), []StreamOption{key}},
		{"another key", signed, []StreamOption{other}},
		{"checksum cut off", b64(plain[:cursor.HeaderLen+1]), nil},
		{"damaged", b64(with(plain, len(plain)-5, 'x')), nil},
		{"another statement", cursor.Encode(cursor.NewFingerprint("", "SELECT w FROM t", nil), DefaultFetchSize, []byte("state"), nil), nil},
		{"page size", b64(size), nil},
		{"page size 0", b64(zero), nil},
		{"no paging state", cursor.Encode(fp, DefaultFetchSize, nil, nil), nil},
	}
}

// hostileCheckpoint is a checkpoint decodeCheckpoint refuses, with the key
// it is checked against.
type hostileCheckpoint struct {
	name string
	text string
	key  []byte
}

// hostileCheckpoints returns a checkpoint for every refusal of
// cursor.DecodeCheckpoint but the one of a text too long (hundreds of
// megabytes: see internal/cursor's TestCheckpointTooLong), for a scan
// whose fingerprint is fp.
func hostileCheckpoints(t *testing.T, fp cursor.Fingerprint) []hostileCheckpoint {
	b64 := base64.RawURLEncoding.EncodeToString
	ranges := []ring.Task{
		{Range: ring.Range{Start: ring.MinToken, End: 0}, Done: true},
		{Range: ring.Range{Start: 0, End: ring.MaxToken}, State: []byte("state")},
	}
	good := newCheckpointer(fp, 100, ranges, nil, nil).text()
	signed := newCheckpointer(fp, 100, ranges, nil, []byte("k1")).text()
	plain, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	header := plain[:cursor.HeaderLen]
	// made returns a checkpoint of the header, then parts, then a check of
	// zeros (wrong, but read after the parts).
	made := func(parts ...[]byte) string {
		b := bytes.Clone(header)
		for _, p := range parts {
			b = append(b, p...)
		}
		return b64(append(b, 0, 0, 0, 0))
	}
	with := func(i int, v byte) string {
		b := bytes.Clone(plain)
		b[i] = v
		return b64(b)
	}
	// encoded returns a checkpoint, rightly checked, of runs that end at
	// ends, all done.
	encoded := func(ends ...int64) string {
		e := cursor.NewCheckpointEncoder(fp, 100, nil)
		var runs []*cursor.Run
		for _, end := range ends {
			r := e.Run(&ring.Task{Range: ring.Range{End: end}, Done: true})
			runs = append(runs, &r)
		}
		return e.Text(runs)
	}
	oneRun := []byte{100, 1, 0} // page size 100, 1 run, a zero to fill the header
	return []hostileCheckpoint{
		{"not base64url", "!!!", nil},
		{"truncated", b64(plain[:10]), nil},
		{"earlier version", with(0, 't'), nil},
		{"a cursor", cursor.Encode(fp, 100, []byte("state"), nil), nil},
		{"unknown flags", with(1, 0x80), nil},
		{"signed, no key", signed, nil},
		{"unsigned, key", good, []byte("k1")},
		{"check cut off", b64(plain[:cursor.HeaderLen+1]), nil},
		{"page size", made(binary.AppendUvarint(nil, 1<<40)), nil},
		{"no runs", made([]byte{100, 0, 0}), nil},
		{"header not filled with zeros", made([]byte{100, 1, 0xff, 0, 0, 0}), nil},
		{"run cut short", made(oneRun, []byte{0x80, 0x80, 0x80}), nil},
		{"empty paging state", made(oneRun, []byte{0x0a, cursor.Open, 0}), nil},
		{"unknown status", made(oneRun, []byte{0x0a, 7, 0}), nil},
		{"run not filled with zeros", made(oneRun, []byte{0x0a, cursor.Pending, 5}), nil},
		{"bytes after the runs", made(oneRun, []byte{0x0a, cursor.Pending, 0}, []byte{0, 0, 0}), nil},
		{"another key", signed, []byte("k2")},
		{"damaged", with(5, plain[5]^1), nil},
		{"another scan", newCheckpointer(cursor.NewFingerprint("ks", "SCAN u", nil), 100, ranges, nil, nil).text(), nil},
		{"ranges out of order", encoded(5, 3), nil},
		{"ranges short of the ring's end", encoded(5), nil},
	}
}
