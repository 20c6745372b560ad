package mapping

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// driver.Column lists that a separator-joined text would run together get
// distinct cache keys: quoted identifiers may hold any character.
func TestPlanSignatureIsUnambiguous(t *testing.T) {
	a := []driver.Column{{Name: "a int,b", Type: "text"}}
	b := []driver.Column{{Name: "a", Type: "int"}, {Name: "b", Type: "text"}}
	c := []driver.Column{{Name: "a", Type: "int,b text"}}
	d := []driver.Column{{Name: "a", Type: "int", Elems: 2}}
	e := []driver.Column{{Name: "a", Type: "int", UDT: true}}
	sigs := map[string]bool{}
	for _, cols := range [][]driver.Column{a, b, c, d, e, nil} {
		sigs[signature(cols)] = true
	}
	if len(sigs) != 6 {
		t.Fatalf("%d distinct signatures for 6 column lists", len(sigs))
	}
}

// The plan cache stays bounded however many column sets a program streams.
func TestPlanCacheIsBounded(t *testing.T) {
	type row struct{ ID int }
	for i := range maxPlans + 100 {
		cols := []driver.Column{fakeColumn("id", "int", 0), fakeColumn(fmt.Sprint("c", i), "int", 0)}
		if _, err := For(planSource{}, reflect.TypeFor[row](), cols, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	plans.Range(func(any, any) bool { n++; return true })
	if n > maxPlans {
		t.Fatalf("%d plans cached, bound %d", n, maxPlans)
	}
}
