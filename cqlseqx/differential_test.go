package cqlseqx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gocql/gocql"
	"github.com/google/go-cmp/cmp"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqx"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The struct shapes below are those of gocqlx's own tests (iterx_test.go:
// FullName, FullNameUDT, FullNamePtrUDT, TestIterxUDT's Full/Part/Extra),
// and the other ways a gocqlx program writes UDTs: snake_case names and db
// tags, nested UDTs, pointers, collections, tuples, NULLs.

// FullName decodes itself from text "first last" (gocqlx's iterx_test.go).
type FullName struct {
	FirstName string
	LastName  string
}

func (n FullName) MarshalCQL(gocql.TypeInfo) ([]byte, error) {
	return []byte(n.FirstName + " " + n.LastName), nil
}

func (n *FullName) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	n.FirstName, n.LastName, _ = strings.Cut(string(data), " ")
	return nil
}

// FullNameUDT is a UDT to gocqlx, and has FullName's UnmarshalCQL promoted.
type FullNameUDT struct {
	gocqlx.UDT
	FullName
}

// FullNamePtrUDT reaches its fields through an embedded pointer.
type FullNamePtrUDT struct {
	gocqlx.UDT
	*FullName
}

type Full struct{ First, Second string }
type Part struct{ First string }
type Extra struct{ First, Second, Third string }
type FullUDT struct {
	gocqlx.UDT
	Full
}
type PartUDT struct {
	gocqlx.UDT
	Part
}
type ExtraUDT struct {
	gocqlx.UDT
	Extra
}
type FullUDTPtr struct {
	gocqlx.UDT
	*Full
}
type PartUDTPtr struct {
	gocqlx.UDT
	*Part
}
type ExtraUDTPtr struct {
	gocqlx.UDT
	*Extra
}

// Address is matched by gocqlx's mapper: snake_case names and db tags.
type Address struct {
	gocqlx.UDT
	Street  string
	ZipCode int
	Phone   *string `db:"home_phone"`
	Tags    map[string]string
	Ignored string `db:"-"`
}

// TaggedAddress is matched by the driver's rules: cql tags.
type TaggedAddress struct {
	Street  string            `cql:"street"`
	ZipCode int               `cql:"zip_code"`
	Phone   *string           `cql:"home_phone"`
	Tags    map[string]string `cql:"tags"`
}

// Person nests a UDT: gocqlx decodes Home by the driver's rules.
type Person struct {
	gocqlx.UDT
	Nick string
	Home Address
}

type TaggedPerson struct {
	gocqlx.UDT
	Nick string
	Home TaggedAddress
}

type Pair struct {
	N int
	S *string
}

type Spot struct {
	N int
	A Address
}

type TaggedSpot struct {
	N int
	A TaggedAddress
}

type Inner struct{ V string }

type (
	structTable struct {
		ID      int
		Custom  FullName
		Name    FullNameUDT
		PtrName FullNamePtrUDT
	}
	iterxUDT struct {
		ID       int
		Full     FullUDT
		Part     PartUDT
		Extra    ExtraUDT
		FullPtr  FullUDTPtr
		PartPtr  PartUDTPtr
		ExtraPtr ExtraUDTPtr
	}
	addressRow struct {
		ID   int
		Addr Address `db:"addr"`
	}
	nestedRow struct {
		ID     int
		Person Person
		Tagged TaggedPerson
	}
	pointerRow struct {
		ID     int
		Addr   *Address
		Tagged *TaggedAddress
	}
	collectionRow struct {
		ID     int
		Addrs  []Address
		Tagged []TaggedAddress
		Book   map[string]TaggedAddress
	}
	tupleRow struct {
		ID         int
		Pair       Pair
		Spot       Spot
		TaggedSpot TaggedSpot
	}
	idV struct {
		ID int
		V  string
	}
	udtForText struct {
		ID int
		V  FullUDT
	}
	embeddedPtr struct {
		ID int
		*Inner
	}
	namedPtr struct {
		ID int
		In *Inner
	}
)

// outcome is what a shape must give.
type outcome int

const (
	same    outcome = iota // cqlseqx yields exactly gocqlx's rows
	refused                // cqlseqx refuses with a MappingError before the first row
	failed                 // gocqlx fails, and cqlseqx yields ErrMapping before any row
)

type shapeCase struct {
	name string
	run  func(t *testing.T, s gocqlx.Session, table string)
}

// shape compares gocqlx's Select into []T with cqlseqx's Stream and Pages
// of T, on the same statement, with the Queryx strict or not.
func shape[T any](name, cols string, strict bool, want outcome) shapeCase {
	return shapeBy[T](name, cols, strict, want, func(q *gocqlx.Queryx) (rows []T, err error) {
		return rows, q.Select(&rows)
	})
}

// shapeBy is shape with gocqlx's rows read by read instead of Select.
func shapeBy[T any](name, cols string, strict bool, want outcome, read func(*gocqlx.Queryx) ([]T, error)) shapeCase {
	return shapeCase{name, func(t *testing.T, s gocqlx.Session, table string) {
		stmt := "SELECT " + cols + " FROM " + table
		// Queryx.Strict has no getter: cqlseqx is made strict with
		// cqlseq.WithStrict, as its documentation says.
		strictly := func(opts ...cqlseq.StreamOption) []cqlseq.StreamOption {
			if strict {
				opts = append(opts, cqlseq.WithStrict())
			}
			return opts
		}
		query := func() *gocqlx.Queryx {
			q := s.Query(stmt, nil)
			if strict {
				q = q.Strict()
			}
			return q
		}
		var gx []T
		gxErr := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("gocqlx panicked: %v", r)
				}
			}()
			gx, err = read(query())
			return err
		}()
		if gxErr != nil {
			t.Logf("gocqlx Select: %v", gxErr)
		}

		check := func(how string, rows []T, err error, before bool) {
			t.Helper()
			switch want {
			case same:
				if gxErr != nil {
					t.Fatalf("gocqlx Select failed: %v", gxErr)
				}
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if len(gx) != 3 {
					t.Fatalf("gocqlx read %d rows, want 3", len(gx))
				}
				if diff := cmp.Diff(gx, rows); diff != "" {
					t.Errorf("%s differs from gocqlx's Select (-gocqlx +cqlseqx):\n%s", how, diff)
				}
			case refused, failed:
				if want == failed && gxErr == nil {
					t.Fatalf("gocqlx Select succeeded, want it to fail")
				}
				t.Logf("%s: %v", how, err)
				if !errors.Is(err, cqlseq.ErrMapping) || !before {
					t.Fatalf("%s: got %d rows, then %v; want ErrMapping before the first row", how, len(rows), err)
				}
				var me *cqlseq.MappingError
				if want == refused && !errors.As(err, &me) {
					t.Fatalf("%s: %v is not a MappingError", how, err)
				}
			}
		}

		var rows []T
		var err error
		for r, e := range cqlseqx.Stream[T](context.Background(), query(), strictly(cqlseq.WithFetchSize(1))...) {
			if e != nil {
				err = e
				break
			}
			rows = append(rows, r)
		}
		check("Stream", rows, err, len(rows) == 0)

		rows, err = nil, nil
		pages := 0
		for p, e := range cqlseqx.Pages[T](context.Background(), query(), strictly(cqlseq.WithFetchSize(2))...) {
			if e != nil {
				err = e
				break
			}
			pages++
			rows = append(rows, p.Rows...)
		}
		check("Pages", rows, err, pages == 0)

		if strict {
			// cqlseq.WithStrict on a Queryx that is not strict does what
			// Queryx.Strict does, UDT elements included.
			rows, err = nil, nil
			for r, e := range cqlseqx.Stream[T](context.Background(), s.Query(stmt, nil), cqlseq.WithStrict(), cqlseq.WithFetchSize(1)) {
				if e != nil {
					err = e
					break
				}
				rows = append(rows, r)
			}
			check("Stream with WithStrict", rows, err, len(rows) == 0)
		}
	}}
}

// A struct written for gocqlx scans through cqlseqx as through gocqlx's
// Select, or is refused before the first row with a reason.
func TestSameAsGocqlx(t *testing.T) {
	s := session(t)
	vs := cqlseqtest.Session(t)
	ks := cqlseqtest.Keyspace(t, vs)
	table := ks + ".shapes"
	cqlseqtest.Exec(t, vs,
		"CREATE TYPE "+ks+".full_name (first_name text, last_name text)",
		"CREATE TYPE "+ks+".udt_full (first text, second text)",
		"CREATE TYPE "+ks+".address (street text, zip_code int, home_phone text, tags map<text, text>)",
		"CREATE TYPE "+ks+".person (nick text, home frozen<address>)",
		`CREATE TABLE `+table+` (id int PRIMARY KEY, custom text, name frozen<full_name>, ptr_name frozen<full_name>,
			complete frozen<udt_full>, addr frozen<address>, person frozen<person>,
			addrs list<frozen<address>>, book map<text, frozen<address>>,
			pair tuple<int, text>, spot tuple<int, frozen<address>>, v text, "in.v" text)`,
		// Every column set.
		`INSERT INTO `+table+` (id, custom, name, ptr_name, complete, addr, person, addrs, book, pair, spot, v, "in.v") VALUES (1, 'John Doe',
			{first_name: 'John', last_name: 'Doe'}, {first_name: 'Jane', last_name: 'Roe'}, {first: 'One', second: 'Two'},
			{street: 'Main St', zip_code: 12345, home_phone: '555-1234', tags: {'door': 'red'}},
			{nick: 'jd', home: {street: 'Elm St', zip_code: 2, home_phone: '555-0000', tags: {'a': 'b'}}},
			[{street: 'First', zip_code: 1}, {street: 'Second', home_phone: '2'}],
			{'home': {street: 'Home St', zip_code: 9}},
			(7, 'seven'), (8, {street: 'Spot St', zip_code: 8}), 'v1', 'in1')`,
		// Nothing but the key (and the text FullName decodes: gocqlx's
		// UnmarshalCQL panics on a NULL).
		`INSERT INTO `+table+` (id, custom) VALUES (2, 'No Body')`,
		// UDTs and tuples with NULL elements.
		`INSERT INTO `+table+` (id, custom, name, ptr_name, complete, addr, person, addrs, book, pair, spot, v, "in.v") VALUES (3, 'Ann Lee',
			{first_name: 'Solo'}, {last_name: 'Last'}, {second: 'Only'},
			{street: 'Side St'}, {nick: 'n'}, [{zip_code: 3}], {'x': {street: null}}, (3, null), (null, {home_phone: '3'}), 'v3', 'in3')`,
	)

	for _, c := range []shapeCase{
		shape[structTable]("GocqlxStructTable", "id, custom, name, ptr_name", false, same),
		shape[iterxUDT]("GocqlxIterxUDT", `id, complete AS "full", complete AS part, complete AS extra, complete AS full_ptr, complete AS part_ptr, complete AS extra_ptr`, false, same),
		shape[iterxUDT]("GocqlxIterxUDTStrict", `id, complete AS "full", complete AS part, complete AS extra, complete AS full_ptr, complete AS part_ptr, complete AS extra_ptr`, true, failed),
		shape[FullUDT]("SingleUDT", "complete", false, same),
		shape[FullNamePtrUDT]("SingleUDTEmbeddedPtr", "name", false, same),
		shape[addressRow]("SnakeCaseAndDBTags", "id, addr", false, same),
		shape[addressRow]("SnakeCaseAndDBTagsStrict", "id, addr", true, same),
		shape[Address]("SingleUDTSnakeCase", "addr", false, same),
		shape[nestedRow]("NestedUDT", "id, person, person AS tagged", false, same),
		shape[pointerRow]("UDTPointers", "id, addr, addr AS tagged", false, same),
		shape[collectionRow]("CollectionsOfUDTs", "id, addrs, addrs AS tagged, book", false, same),
		// gocqlx's Select cannot scan a tuple column into a field (the
		// driver wants one destination per element), but its Iterx.Scan
		// takes the elements one by one, and applies its UDT rules to them.
		shapeBy("Tuples", "id, pair, spot, spot AS tagged_spot", false, same, func(q *gocqlx.Queryx) ([]tupleRow, error) {
			var rows []tupleRow
			it := q.Iter()
			for {
				var r tupleRow
				if !it.Scan(&r.ID, &r.Pair.N, &r.Pair.S, &r.Spot.N, &r.Spot.A, &r.TaggedSpot.N, &r.TaggedSpot.A) {
					break
				}
				rows = append(rows, r)
			}
			return rows, it.Close()
		}),
		shape[idV]("NotStrict", "id, v, custom", false, same),
		shape[idV]("Strict", "id, v, custom", true, refused),
		shape[udtForText]("UDTTypeForText", "id, v", false, failed),
		shape[embeddedPtr]("EmbeddedPointerToStruct", "id, v", false, refused),
		shape[namedPtr]("PointerFieldToStruct", `id, "in.v"`, false, refused),
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, s, table) })
	}
}
