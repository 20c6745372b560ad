package cqlseqx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scylladb/gocqlx/v3"
	"gopkg.in/inf.v0"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// A row type that points to a gocqlx UDT type is refused before any query:
// gocqlx's Select allocates one per row and fills it by gocqlx's rules, a
// stream decodes into one fixed value, and the driver's rules would leave
// it empty.
func TestPointerToUDTRowIsRefused(t *testing.T) {
	s := session(t)
	q := s.Query("SELECT name FROM no_such_keyspace.no_such_table", nil)
	for name, err := range map[string]error{
		"Stream": first(cqlseqx.Stream[*FullNameUDT](context.Background(), q)),
		"Pages":  first(cqlseqx.Pages[*FullNameUDT](context.Background(), q)),
	} {
		var me *cqlseq.MappingError
		if !errors.As(err, &me) || !errors.Is(err, cqlseq.ErrMapping) || !strings.Contains(err.Error(), "embeds gocqlx.UDT") {
			t.Errorf("%s: %v; want a MappingError before any query (the table does not exist)", name, err)
		}
	}
}

func first[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}

// fullName is a UDT to gocqlx, bound as a value.
type fullName struct {
	gocqlx.UDT
	FirstName string
	LastName  string
}

// A cursor of a query whose bound value is a gocqlx UDT (which gocqlx wraps
// in reflect.Values) resumes a new query bound to an equal value.
func TestCursorWithUDTValue(t *testing.T) {
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	cqlseqtest.Exec(t, vs, "CREATE TYPE "+ks+".full_name (first_name text, last_name text)",
		"CREATE TABLE "+ks+".people (k frozen<full_name>, c int, PRIMARY KEY (k, c))")
	for c := range 20 {
		cqlseqtest.Exec(t, vs, fmt.Sprintf("INSERT INTO %s.people (k, c) VALUES ({first_name: 'Ann', last_name: 'Lee'}, %d)", ks, c))
	}
	s := session(t)
	stmt := "SELECT c FROM " + ks + ".people WHERE k = ?"
	key := func() fullName { return fullName{FirstName: strings.Clone("Ann"), LastName: strings.Clone("Lee")} }
	var cursor string
	for p, err := range cqlseqx.Pages[int](context.Background(), s.Query(stmt, []string{"k"}).Bind(key()), cqlseq.WithFetchSize(5)) {
		if err != nil {
			t.Fatal(err)
		}
		cursor = p.Cursor
		break
	}
	got := collect(t, cqlseqx.Stream[int](context.Background(), s.Query(stmt, []string{"k"}).Bind(key()), cqlseq.WithCursor(cursor)))
	if len(got) != 15 || got[0] != 5 {
		t.Fatalf("resumed: %v; want rows 5..19", got)
	}
}

// A NULL reads as gocqlx's Select reads it: a bigint NULL into a string, a
// decimal NULL into an inf.Dec (which the v2 driver refuses).
func TestNullsAsGocqlx(t *testing.T) {
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	cqlseqtest.Exec(t, vs, "CREATE TABLE "+ks+".n (id int PRIMARY KEY, b bigint, d decimal)",
		"INSERT INTO "+ks+".n (id, b, d) VALUES (1, 7, 1.5)", "INSERT INTO "+ks+".n (id) VALUES (2)")
	s := session(t)
	type asText struct {
		ID int
		B  string
	}
	var want []asText
	if err := s.Query("SELECT id, b FROM "+ks+".n WHERE id IN (1, 2)", nil).Select(&want); err != nil {
		t.Fatal(err)
	}
	got := collect(t, cqlseqx.Stream[asText](context.Background(), s.Query("SELECT id, b FROM "+ks+".n WHERE id IN (1, 2)", nil)))
	if fmt.Sprintf("%q", want) != fmt.Sprintf("%q", got) || len(got) != 2 {
		t.Fatalf("bigint into string: gocqlx %q, cqlseqx %q; want the same", want, got)
	}
	type dec struct {
		ID int
		D  inf.Dec
	}
	var sel []dec
	if err := s.Query("SELECT id, d FROM "+ks+".n WHERE id = 2", nil).Select(&sel); err != nil {
		t.Fatal(err)
	}
	rows := collect(t, cqlseqx.Stream[dec](context.Background(), s.Query("SELECT id, d FROM "+ks+".n WHERE id = 2", nil)))
	if len(rows) != 1 || len(sel) != 1 || rows[0].D.Cmp(&sel[0].D) != 0 || rows[0].D.Cmp(new(inf.Dec)) != 0 {
		t.Fatalf("decimal NULL into inf.Dec: cqlseqx %v, gocqlx %v; want one row with zero in both", rows, sel)
	}
}
