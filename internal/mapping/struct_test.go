package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq/internal/driver"
)

func TestDuplicateAndUnexportedFields(t *testing.T) {
	type Base struct{ Name string }
	type Dup struct {
		Name  string
		Other string `db:"name"`
	}
	type Promoted struct {
		Base
		FullName string `db:"name"`
	}
	type Hidden struct {
		ID int
		//lint:ignore U1000 never read: the test shows that no column writes it
		name string
	}
	cols := []driver.Column{fakeColumn("id", "int", 0), fakeColumn("name", "text", 0)}
	for _, tt := range []struct {
		t   reflect.Type
		msg string
	}{
		{reflect.TypeFor[Dup](), `column "name" maps to two fields of mapping.Dup, Name and Other`},
		{reflect.TypeFor[Promoted](), `column "name" maps to two fields of mapping.Promoted`},
	} {
		_, err := build(planSource{}, defaultMapper, tt.t, cols, 0)
		var me *Error
		if !errors.As(err, &me) || me.Column != "name" || !strings.Contains(me.Msg, tt.msg) {
			t.Errorf("%v: got %v, want an *Error for column name with %q", tt.t, err, tt.msg)
		}
	}
	// An unexported field is never written, even when a column has its name;
	// in strict mode that column is an error.
	pl, err := build(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, 0)
	if err != nil || !pl.slots[1].skip {
		t.Fatalf("unexported field: plan %+v, %v; want column name skipped", pl, err)
	}
	_, err = build(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, StrictColumns)
	var me *Error
	if !errors.As(err, &me) || me.Column != "name" || me.Msg != `column "name" has no field in mapping.Hidden (strict mapping)` {
		t.Fatalf("unexported field, strict: %v", err)
	}
}

// With StrictFields a field of the row that no column fills is refused,
// naming it, the column it would take and the columns there are: the
// struct's own fields and those of the structs it embeds, not the members
// of a struct field (its UDT or tuple column fills them), nor fields
// tagged db:"-" or unexported. StrictColumns alone, gocqlx's strict mode,
// and no strictness leave such fields zero, as before.
func TestStrictFields(t *testing.T) {
	type Addr struct {
		Street string
		Zip    int
	}
	type Base struct {
		ID      int
		Created int
	}
	type Deeper struct{ Base }
	type Typo struct {
		ID   int
		Nmae string
	}
	type Embeds struct {
		Base
		Name string
	}
	type EmbedsDeeper struct {
		Deeper
		Name string
	}
	type EmbedsPointer struct {
		*Base
		Name string
	}
	type UDT struct {
		ID int
		Ad Addr
	}
	type Tuple struct {
		ID   int
		Pair struct{ A, B int }
	}
	type Skipped struct {
		ID   int
		Note string `db:"-"`
		//lint:ignore U1000 never read: the test shows that no column need fill it
		cache string
	}
	type Two struct {
		ID    int
		Name  string
		Score int
	}
	id, name, created := fakeColumn("id", "int", 0), fakeColumn("name", "text", 0), fakeColumn("created", "int", 0)
	ad, pair := fakeColumn("ad", "udt", 0), fakeColumn("pair", "int", 2)
	both := StrictColumns | StrictFields
	tests := []struct {
		name  string
		t     reflect.Type
		cols  []driver.Column
		field string // "" if the plan is made
		col   string
		msg   string
	}{
		{"every field filled", reflect.TypeFor[Typo](), []driver.Column{id, fakeColumn("nmae", "text", 0)}, "", "", ""},
		{"a field without a column", reflect.TypeFor[Typo](), []driver.Column{id}, "Typo.Nmae", "",
			`field Typo.Nmae ("nmae") has no column in the result (strict mapping), whose columns are id`},
		{"a misspelt field", reflect.TypeFor[Typo](), []driver.Column{id, name}, "", "name",
			`column "name" has no field in mapping.Typo (strict mapping), and field Typo.Nmae ("nmae") has no column`},
		{"two fields without a column", reflect.TypeFor[Two](), []driver.Column{id}, "Two.Name", "",
			`fields Two.Name ("name"), Two.Score ("score") have no column in the result (strict mapping), whose columns are id`},
		{"embedded struct filled", reflect.TypeFor[Embeds](), []driver.Column{id, created, name}, "", "", ""},
		{"embedded struct's field without a column", reflect.TypeFor[Embeds](), []driver.Column{id, name}, "Embeds.Base.Created", "",
			`field Embeds.Base.Created ("created") has no column in the result (strict mapping), whose columns are id, name`},
		{"embedded two deep", reflect.TypeFor[EmbedsDeeper](), []driver.Column{name, created}, "EmbedsDeeper.Deeper.Base.ID", "",
			`field EmbedsDeeper.Deeper.Base.ID ("id") has no column in the result (strict mapping), whose columns are name, created`},
		{"embedded pointer's fields", reflect.TypeFor[EmbedsPointer](), []driver.Column{name}, "EmbedsPointer.Base.ID", "",
			`fields EmbedsPointer.Base.ID ("id"), EmbedsPointer.Base.Created ("created") have no column in the result (strict mapping), whose columns are name`},
		{"UDT field filled", reflect.TypeFor[UDT](), []driver.Column{id, ad}, "", "", ""},
		{"UDT field without a column", reflect.TypeFor[UDT](), []driver.Column{id}, "UDT.Ad", "",
			`field UDT.Ad ("ad") has no column in the result (strict mapping), whose columns are id`},
		{"UDT field's member by its path", reflect.TypeFor[UDT](), []driver.Column{id, fakeColumn("ad.street", "text", 0)}, "", "", ""},
		{"tuple field filled", reflect.TypeFor[Tuple](), []driver.Column{id, pair}, "", "", ""},
		{"tuple field without a column", reflect.TypeFor[Tuple](), []driver.Column{id}, "Tuple.Pair", "",
			`field Tuple.Pair ("pair") has no column in the result (strict mapping), whose columns are id`},
		{"db:\"-\" and unexported", reflect.TypeFor[Skipped](), []driver.Column{id}, "", "", ""},
		{"a scalar", reflect.TypeFor[int](), []driver.Column{id}, "", "", ""},
		{"a struct for a UDT column", reflect.TypeFor[Addr](), []driver.Column{ad}, "", "", ""},
		{"a map", reflect.TypeFor[map[string]any](), []driver.Column{id}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(planSource{}, defaultMapper, tt.t, tt.cols, both)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("strict: %v, want a plan", err)
				}
			} else {
				var me *Error
				if !errors.As(err, &me) || me.Field != tt.field || me.Column != tt.col || me.Msg != tt.msg {
					t.Fatalf("strict: %#v\nwant an *Error for column %q, field %q:\n%s", me, tt.col, tt.field, tt.msg)
				}
			}
			// Without StrictFields, the fields are left zero as ever; a
			// misspelt field's column is refused under StrictColumns,
			// with no word of fields.
			if _, err := build(planSource{}, defaultMapper, tt.t, tt.cols, 0); err != nil {
				t.Errorf("not strict: %v", err)
			}
			_, err = build(planSource{}, defaultMapper, tt.t, tt.cols, StrictColumns)
			if tt.col == "" && err != nil {
				t.Errorf("StrictColumns: %v", err)
			}
			if want := `column "name" has no field in mapping.Typo (strict mapping)`; tt.col != "" && fmt.Sprint(err) != want {
				t.Errorf("StrictColumns: %v, want %s", err, want)
			}
		})
	}
}
