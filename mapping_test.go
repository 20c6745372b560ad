package cqlseq_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/cqlseq/cqlseq"
)

// collect ranges over seq and returns its rows and its error.
func collect[T any](t *testing.T, seq func(func(T, error) bool)) ([]T, error) {
	t.Helper()
	var rows []T
	for r, err := range seq {
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

type Base struct {
	ID int `db:"id"`
}

// Tagged uses every gocqlx rule: an embedded struct, a db tag, a snake_case
// name, a skipped field and a field with no column.
type Tagged struct {
	Base
	FullName string `db:"name"`
	Score    int64
	Ignored  string `db:"-"`
	Extra    string
}

func TestGocqlxMappingRules(t *testing.T) {
	s, table := fixture(t)
	got, err := collect(t, cqlseq.Stream[Tagged](context.Background(), s,
		cqlseq.CQL("SELECT id, name, score, name AS ignored FROM "+table+" WHERE id IN (1, 2)")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Tagged{{Base{1}, "name-1", 10, "", ""}, {Base{2}, "name-2", 20, "", ""}}
	if diff := cmp.Diff(want, sortBy(got, func(r Tagged) int { return r.ID })); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func sortBy[T any](rows []T, key func(T) int) []T {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b T) int { return key(a) - key(b) })
	return out
}

func TestStrictMode(t *testing.T) {
	s, table := fixture(t)
	type Partial struct {
		ID   int
		Name string
	}
	stmt := cqlseq.CQL("SELECT id, name, score FROM " + table + " WHERE id = 1")
	got, err := collect(t, cqlseq.Stream[Partial](context.Background(), s, stmt))
	if err != nil || len(got) != 1 || got[0] != (Partial{1, "name-1"}) {
		t.Fatalf("lenient: got %v, %v; want the mapped columns and score ignored", got, err)
	}
	got, err = collect(t, cqlseq.Stream[Partial](context.Background(), s, stmt, cqlseq.WithStrict()))
	if !errors.Is(err, cqlseq.ErrMapping) || !strings.Contains(err.Error(), `"score"`) || len(got) != 0 {
		t.Fatalf("strict: got %v, %v; want no rows and an ErrMapping naming column \"score\"", got, err)
	}
}

// A T that cannot hold the result is reported before the first row, naming
// the column and the field.
func TestMappingErrors(t *testing.T) {
	s, table := fixture(t)
	ctx := context.Background()
	sel := func(cols string) cqlseq.Statement {
		return cqlseq.CQL("SELECT " + cols + " FROM " + table + " WHERE id IN (1, 2, 3)")
	}
	type WrongType struct {
		ID   int
		Name int
	}
	type Embedded struct {
		*Base
		Name string
	}
	type Tuple2 struct{ A, B int }
	tests := []struct {
		name   string
		run    func() error
		inMsg  []string
		driver bool // the error also unwraps to the driver's UnmarshalError
	}{
		{"scalar for three columns", func() error { _, err := collect(t, cqlseq.Stream[string](ctx, s, sel("id, name, score"))); return err },
			[]string{"string", "3", "id, name, score"}, false},
		{"text into an int field", func() error { _, err := collect(t, cqlseq.Stream[WrongType](ctx, s, sel("id, name"))); return err },
			[]string{`column "name" (varchar)`, "WrongType.Name", "int"}, true},
		{"scalar of the wrong type", func() error { _, err := collect(t, cqlseq.Stream[bool](ctx, s, sel("name"))); return err },
			[]string{`column "name"`, "bool"}, true},
		{"embedded pointer", func() error { _, err := collect(t, cqlseq.Stream[Embedded](ctx, s, sel("id, name"))); return err },
			[]string{"Embedded.Base.ID", "embedded pointer Base"}, false},
		{"pointer to struct", func() error { _, err := collect(t, cqlseq.Stream[*Row](ctx, s, sel("id, name, score"))); return err },
			[]string{"*drivertest.Row", "by value"}, false},
		{"map with the wrong value type", func() error {
			_, err := collect(t, cqlseq.Stream[map[string]string](ctx, s, sel("id, name")))
			return err
		}, []string{"map[string]string", "2"}, false},
		{"tuple into a struct of the wrong size", func() error {
			_, err := collect(t, cqlseq.Stream[Tuple2](ctx, s, cqlseq.CQL("SELECT (id, name, score) FROM "+table+" WHERE id = 1")))
			return err
		}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("%v", err)
			if tt.inMsg != nil && !errors.Is(err, cqlseq.ErrMapping) {
				t.Errorf("error %v does not match ErrMapping", err)
			}
			for _, want := range tt.inMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			var ue gocql.UnmarshalError
			if tt.driver && !errors.As(err, &ue) {
				t.Errorf("error %v does not unwrap to the driver's UnmarshalError", err)
			}
			if !strings.HasPrefix(err.Error(), "cqlseq: ") {
				t.Errorf("error %q does not start with cqlseq: ", err)
			}
		})
	}
}

// Upper decodes text upper-cased: a type with its own gocql.Unmarshaler.
type Upper string

func (u *Upper) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	*u = Upper(strings.ToUpper(string(data)))
	return nil
}

func TestSingleColumnTypes(t *testing.T) {
	s, table := fixture(t)
	ctx := context.Background()
	where := " FROM " + table + " WHERE id = 3"
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	str, err := collect(t, cqlseq.Stream[string](ctx, s, cqlseq.CQL("SELECT name"+where)))
	check("string", str, []string{"name-3"}, err)
	i64, err := collect(t, cqlseq.Stream[int64](ctx, s, cqlseq.CQL("SELECT score"+where)))
	check("int64", i64, []int64{30}, err)
	up, err := collect(t, cqlseq.Stream[Upper](ctx, s, cqlseq.CQL("SELECT name"+where)))
	check("Unmarshaler", up, []Upper{"NAME-3"}, err)
	ptr, err := collect(t, cqlseq.Stream[*string](ctx, s, cqlseq.CQL("SELECT name"+where)))
	if err != nil || len(ptr) != 1 || ptr[0] == nil || *ptr[0] != "name-3" {
		t.Errorf("*string: %v, %v", ptr, err)
	}
	bs, err := collect(t, cqlseq.Stream[[]byte](ctx, s, cqlseq.CQL("SELECT textAsBlob(name)"+where)))
	check("[]byte", bs, [][]byte{[]byte("name-3")}, err)
	ts, err := collect(t, cqlseq.Stream[time.Time](ctx, s, cqlseq.CQL("SELECT toTimestamp(toDate(0))"+where)))
	check("time.Time", ts, []time.Time{time.UnixMilli(0).UTC()}, err)
	uuids, err := collect(t, cqlseq.Stream[gocql.UUID](ctx, s, cqlseq.CQL("SELECT uuid()"+where)))
	if err != nil || len(uuids) != 1 || uuids[0] == (gocql.UUID{}) {
		t.Errorf("gocql.UUID: %v, %v", uuids, err)
	}
	type IDName struct {
		N int
		S string
	}
	tup, err := collect(t, cqlseq.Stream[IDName](ctx, s, cqlseq.CQL("SELECT (id, name)"+where)))
	check("tuple into struct", tup, []IDName{{3, "name-3"}}, err)
	arr, err := collect(t, cqlseq.Stream[[2]any](ctx, s, cqlseq.CQL("SELECT (id, name)"+where)))
	check("tuple into array", arr, [][2]any{{3, "name-3"}}, err)
	maps, err := collect(t, cqlseq.Stream[map[string]any](ctx, s, cqlseq.CQL("SELECT id, name, score"+where)))
	check("map[string]any", maps, []map[string]any{{"id": 3, "name": "name-3", "score": int64(30)}}, err)
}

func TestUDTAsRow(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TYPE %s.addr (street text, zip int)")
	execCQL(t, s, "CREATE TABLE "+ks+".homes (id int PRIMARY KEY, ad frozen<addr>)")
	execCQL(t, s, "INSERT INTO "+ks+".homes (id, ad) VALUES (1, {street: 'Elm', zip: 7})")
	got, err := collect(t, cqlseq.Stream[Addr](context.Background(), s, cqlseq.CQL("SELECT ad FROM "+ks+".homes")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Addr{{"Elm", 7}}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// Point decodes the addr UDT itself, through the driver's UDTUnmarshaler.
type Point struct {
	Street string
	Zip    int
	Fields []string // the UDT fields in the order the driver gave them
}

func (p *Point) UnmarshalUDT(name string, info gocql.TypeInfo, data []byte) error {
	p.Fields = append(p.Fields, name)
	switch name {
	case "street":
		return gocql.Unmarshal(info, data, &p.Street)
	case "zip":
		return gocql.Unmarshal(info, data, &p.Zip)
	}
	return nil
}

func TestUDTUnmarshaler(t *testing.T) {
	s, _ := fixture(t)
	ks := newTable(t, s, "CREATE TYPE %s.addr (street text, zip int)")
	execCQL(t, s, "CREATE TABLE "+ks+".homes (id int PRIMARY KEY, ad frozen<addr>)")
	execCQL(t, s, "INSERT INTO "+ks+".homes (id, ad) VALUES (1, {street: 'Elm', zip: 7})")
	want := Point{"Elm", 7, []string{"street", "zip"}}
	got, err := collect(t, cqlseq.Stream[Point](context.Background(), s, cqlseq.CQL("SELECT ad FROM "+ks+".homes")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Point{want}, got); diff != "" {
		t.Fatalf("as the row (-want +got):\n%s", diff)
	}
	type Home struct {
		ID int
		Ad Point
	}
	homes, err := collect(t, cqlseq.Stream[Home](context.Background(), s, cqlseq.CQL("SELECT id, ad FROM "+ks+".homes")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Home{{1, want}}, homes); diff != "" {
		t.Fatalf("as a field (-want +got):\n%s", diff)
	}
}
