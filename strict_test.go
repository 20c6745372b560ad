package cqlseq_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// WithStrict on the node: a field without a column is a MappingError that
// names it, before any row, as a column without a field is; the members
// of a UDT field are its column's; without WithStrict the field stays
// zero. The same for a scan.
func TestStrictFieldsOnTheNode(t *testing.T) {
	s, table := fixture(t)
	ctx := context.Background()
	stmt := cqlseq.CQL("SELECT id, name, score FROM " + table + " WHERE id = 1")
	type Wide struct {
		ID    int
		Name  string
		Score int64
		Email string
	}
	rows, err := cqlseq.Collect(cqlseq.Stream[Wide](ctx, s, stmt))
	if err != nil || len(rows) != 1 || rows[0] != (Wide{1, "name-1", 10, ""}) {
		t.Fatalf("not strict: %v, %v; want the row, Email zero", rows, err)
	}
	rows, err = cqlseq.Collect(cqlseq.Stream[Wide](ctx, s, stmt, cqlseq.WithStrict()))
	var me *cqlseq.MappingError
	if !errors.As(err, &me) || me.Field != "Wide.Email" || me.Column != "" || me.Page != 1 || len(rows) != 0 ||
		me.Error() != `cqlseq: field Wide.Email ("email") has no column in the result (strict mapping), whose columns are id, name, score` {
		t.Fatalf("strict: %d rows, %v (%+v); want a MappingError for field Wide.Email before any row", len(rows), err, me)
	}

	type Typo struct {
		ID    int
		Nmae  string
		Score int64
	}
	_, err = cqlseq.Collect(cqlseq.Stream[Typo](ctx, s, stmt, cqlseq.WithStrict()))
	if !errors.As(err, &me) || me.Column != "name" || !strings.Contains(err.Error(), `and field Typo.Nmae ("nmae") has no column`) {
		t.Fatalf("strict, a misspelt field: %v; want a MappingError for column name that names field Typo.Nmae", err)
	}

	ks := newTable(t, s, "CREATE TYPE %s.addr (street text, zip int)")
	execCQL(t, s, "CREATE TABLE "+ks+".people (id int PRIMARY KEY, ad frozen<addr>)")
	execCQL(t, s, "INSERT INTO "+ks+".people (id, ad) VALUES (1, {street: 'Main', zip: 7})")
	type Addr struct {
		Street string `cql:"street"`
		Zip    int    `cql:"zip"`
	}
	type Person struct {
		ID int
		Ad Addr
	}
	people, err := cqlseq.Collect(cqlseq.Stream[Person](ctx, s, cqlseq.CQL("SELECT id, ad FROM "+ks+".people"), cqlseq.WithStrict()))
	if err != nil || len(people) != 1 || people[0] != (Person{1, Addr{"Main", 7}}) {
		t.Fatalf("strict, a UDT field: %v, %v; want the row", people, err)
	}

	for _, err := range cqlseq.Scan[Wide](ctx, s, table, cqlseq.WithStrict()) {
		if !errors.As(err, &me) || me.Field != "Wide.Email" {
			t.Fatalf("strict scan: %v; want a MappingError for field Wide.Email", err)
		}
		break
	}
}

// With WithStrict, a column dropped mid-stream leaves its field without a
// column: the stream ends with a MappingError that names the field and
// what changed, after the rows of the pages before.
func TestStrictColumnDropped(t *testing.T) {
	s := cqlseqtest.Session(t)
	ks := newTable(t, s, "CREATE TABLE %s.evolving (id int PRIMARY KEY, a text, b text, c text)")
	table := ks + ".evolving"
	if err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+table+" (id, a, b, c) VALUES (?, ?, ?, ?)", 40, 8, func(i int) []any {
		return []any{i, fmt.Sprint("a-", i), fmt.Sprint("b-", i), fmt.Sprint("c-", i)}
	}); err != nil {
		t.Fatal(err)
	}
	type Row struct {
		ID      int
		A, B, C string
	}
	n := 0
	var got error
	for r, err := range cqlseq.Stream[Row](context.Background(), s, cqlseq.CQL("SELECT * FROM "+table), cqlseq.WithFetchSize(10), cqlseq.WithPrefetch(0), cqlseq.WithStrict(),
		cqlseq.WithPageCallback(func(p cqlseq.PageInfo) {
			if p.Number == 1 {
				execCQL(t, s, "ALTER TABLE "+table+" DROP c")
				execCQL(t, s, "SELECT * FROM "+table) // prepared again by another client
			}
		})) {
		if err != nil {
			got = err
			continue
		}
		if r.C != fmt.Sprint("c-", r.ID) {
			t.Fatalf("row %+v", r)
		}
		n++
	}
	var me *cqlseq.MappingError
	if n != 10 || !errors.As(got, &me) || me.Field != "Row.C" || me.Page != 2 || !strings.Contains(got.Error(), `dropped "c"`) {
		t.Fatalf("%d rows, then %v (%+v); want 10 rows, then a MappingError for field Row.C at page 2 that says c was dropped", n, got, me)
	}
	t.Logf("after %d rows: %v", n, got)
}
