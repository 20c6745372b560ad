package mapping

import (
	"errors"
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
		_, err := build(planSource{}, defaultMapper, tt.t, cols, false)
		var me *Error
		if !errors.As(err, &me) || me.Column != "name" || !strings.Contains(me.Msg, tt.msg) {
			t.Errorf("%v: got %v, want an *Error for column name with %q", tt.t, err, tt.msg)
		}
	}
	// An unexported field is never written, even when a column has its name;
	// in strict mode that column is an error.
	pl, err := build(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, false)
	if err != nil || !pl.slots[1].skip {
		t.Fatalf("unexported field: plan %+v, %v; want column name skipped", pl, err)
	}
	_, err = build(planSource{}, defaultMapper, reflect.TypeFor[Hidden](), cols, true)
	var me *Error
	if !errors.As(err, &me) || me.Column != "name" || me.Msg != `column "name" has no field in mapping.Hidden (strict mapping)` {
		t.Fatalf("unexported field, strict: %v", err)
	}
}
