package cqlseq_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"iter"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
)

// yields returns a sequence that yields rows, then err if it is not nil,
// and records whether its consumer asked for more after the error.
func yields(rows []int, err error, more *bool) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			*more = yield(0, err)
		}
	}
}

func TestCollect(t *testing.T) {
	failed := errors.New("page 3 failed")
	tests := []struct {
		name string
		rows []int
		err  error
		want []int
	}{
		{"all rows", []int{1, 2, 3}, nil, []int{1, 2, 3}},
		{"error midway", []int{1, 2}, failed, []int{1, 2}},
		{"error first", nil, failed, nil},
		{"nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			more := false
			got, err := cqlseq.Collect(yields(tt.rows, tt.err, &more))
			if err != tt.err {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if tt.want == nil && got != nil {
				t.Errorf("got %#v, want a nil slice", got)
			}
			if more {
				t.Error("Collect asked for more after the error")
			}
		})
	}
	// A sequence that goes on after an error is not one of the package's;
	// Collect stops at the error all the same, and Go's range statement
	// reports the sequence's fault.
	defer func() {
		if r := recover(); r == nil {
			t.Error("a sequence that yields after Collect stopped did not panic")
		}
	}()
	cqlseq.Collect(func(yield func(int, error) bool) {
		yield(0, failed)
		yield(1, nil)
	})
}

func TestCollectOnTheNode(t *testing.T) {
	s, table := fixture(t)
	ctx := context.Background()
	stmt := cqlseq.CQL("SELECT id, name, score FROM " + table + " WHERE id IN (3, 1, 2)")
	rows, err := cqlseq.Collect(cqlseq.Stream[Row](ctx, s, stmt))
	if err != nil {
		t.Fatal(err)
	}
	want, err := collect(t, cqlseq.Stream[Row](ctx, s, stmt))
	if err != nil || len(want) != 3 {
		t.Fatalf("%d rows, %v", len(want), err)
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("Stream's rows (-range +Collect):\n%s", diff)
	}
	pages, err := cqlseq.Collect(cqlseq.Pages[Row](ctx, s, stmt, cqlseq.WithFetchSize(2)))
	if err != nil || len(pages) != 2 || !slices.Equal(append(pages[0].Rows, pages[1].Rows...), want) {
		t.Fatalf("Pages: %+v, %v; want two pages of the rows", pages, err)
	}
	rows, err = cqlseq.Collect(cqlseq.Stream[Row](ctx, s, cqlseq.CQL("SELECT id, name, score FROM "+table+"_missing")))
	var pe *cqlseq.PageError
	if !errors.As(err, &pe) || rows != nil {
		t.Fatalf("a table that does not exist: %v, %v; want no rows and a PageError", rows, err)
	}
}

func ExampleCollect() {
	session, users, done, err := exampleTable()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()

	// A result small enough to hold at once.
	stmt := cqlseq.CQL("SELECT name FROM "+users+" WHERE team = ? AND id <= ?", "core", 3)
	names, err := cqlseq.Collect(cqlseq.Stream[string](context.Background(), session, stmt))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(names)
	// Output:
	// [user 1 user 2 user 3]
}

// A range over a sequence of the package with one variable compiles and
// drops the errors: "for u := range Stream(...)" takes u for the row, and
// a failed query looks like an empty result. None is written in this
// repository (every module): not in its Go files, nor in its Markdown's Go
// blocks. The check is by syntax: a range over a call of a function named
// Stream, Pages, Scan or ScanPages (of any package, cqlseqx's too), not
// over a variable that holds a sequence.
func TestRangesKeepTheError(t *testing.T) {
	fset := token.NewFileSet()
	var found []string
	check := func(f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			r, ok := n.(*ast.RangeStmt)
			if ok && r.Key != nil && r.Value == nil && isSequenceCall(r.X) {
				found = append(found, fmt.Sprintf("%s: for %s := range %s(...)", fset.Position(r.Pos()), types.ExprString(r.Key), callName(r.X)))
			}
			return true
		})
	}
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "zz_readme_")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go":
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			check(f)
		case ".md":
			for i, code := range goBlocks(t, path) {
				src := "package p\n\nfunc _() {\n" + code + "\n}\n"
				if strings.HasPrefix(strings.TrimSpace(code), "package ") {
					src = code
				}
				f, err := parser.ParseFile(fset, fmt.Sprintf("%s, Go block %d", path, i+1), src, parser.SkipObjectResolution)
				if err != nil {
					continue // a fragment that is not a function body
				}
				check(f)
			}
		default:
			return nil
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("checked %d files: the walk is broken", files)
	}
	for _, f := range found {
		t.Errorf("%s: one variable drops the errors; write \"v, err :=\" and check err", f)
	}
}

// sequences are the functions whose results are an iter.Seq2[T, error],
// here and in cqlseqx.
var sequences = []string{"Stream", "Pages", "Scan", "ScanPages"}

// isSequenceCall reports whether e calls one of sequences, by name.
func isSequenceCall(e ast.Expr) bool {
	return slices.Contains(sequences, callName(e))
}

// callName returns the name of the function e calls, without its package
// and type arguments, or "".
func callName(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	fn := call.Fun
	switch x := fn.(type) {
	case *ast.IndexExpr:
		fn = x.X
	case *ast.IndexListExpr:
		fn = x.X
	}
	switch x := fn.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}
