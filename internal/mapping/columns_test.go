package mapping

import (
	"testing"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// A plan serves a page whose columns have the same names, types, tuple
// lengths and UDT-ness, in the same order; Changes says what differs.
func TestColumnsChanged(t *testing.T) {
	id, name := driver.Column{Name: "id", Type: "int"}, driver.Column{Name: "name", Type: "text"}
	pair := driver.Column{Name: "pair", Type: "tuple<int, int>", Elems: 2}
	tests := []struct {
		name          string
		before, after []driver.Column
		same          bool
		changes       string // "" if not checked
	}{
		{"same", []driver.Column{id, name}, []driver.Column{id, name}, true, "reordered: id, name"},
		{"added", []driver.Column{id}, []driver.Column{id, name}, false, `added "name" text`},
		{"dropped", []driver.Column{id, name}, []driver.Column{name}, false, `dropped "id"`},
		{"retyped", []driver.Column{id}, []driver.Column{{Name: "id", Type: "bigint"}}, false, `"id" changed from int to bigint`},
		{"reordered", []driver.Column{id, name}, []driver.Column{name, id}, false, "reordered: name, id"},
		// The shape alone (a type's name says it too in practice): Changes
		// is not checked.
		{"tuple grew", []driver.Column{pair}, []driver.Column{{Name: "pair", Type: "tuple<int, int>", Elems: 3}}, false, ""},
		{"now a UDT", []driver.Column{id}, []driver.Column{{Name: "id", Type: "int", UDT: true}}, false, ""},
		{"all at once", []driver.Column{id, name}, []driver.Column{{Name: "name", Type: "int"}, pair}, false,
			`"name" changed from text to int, added "pair" tuple<int, int>, dropped "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameColumns(tt.before, tt.after); got != tt.same {
				t.Errorf("SameColumns = %v, want %v", got, tt.same)
			}
			if got := Changes(tt.before, tt.after); tt.changes != "" && got != tt.changes {
				t.Errorf("Changes = %q, want %q", got, tt.changes)
			}
		})
	}
}
