package mapping

import (
	"fmt"
	"reflect"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// fakeColumn is a column of type typ ("int", "text", "ts" or "udt"; a
// tuple of elems elements of that type if elems > 0) that accepts the
// destinations a driver would for its type: its Info checks them.
func fakeColumn(name, typ string, elems int) driver.Column {
	accepts := map[string][]reflect.Type{
		"int":  {reflect.TypeFor[int](), reflect.TypeFor[int64](), reflect.TypeFor[int32](), reflect.TypeFor[any]()},
		"text": {reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[any]()},
		"ts":   {reflect.TypeFor[time.Time](), reflect.TypeFor[int64](), reflect.TypeFor[any]()},
	}[typ]
	return driver.Column{Name: name, Type: typ, Elems: elems, UDT: typ == "udt",
		Info: func(dst any) error {
			t := reflect.TypeOf(dst).Elem()
			if typ == "udt" && t.Kind() == reflect.Struct {
				return nil
			}
			for _, a := range accepts {
				if t == a {
					return nil
				}
			}
			return fmt.Errorf("cannot decode %s into %T", typ, dst)
		}}
}

// planSource is the driver.Source of fake columns: it decodes through
// their checks, has no sample values, and binds fields' addresses as
// their destinations. It is the only front end plans are made with here.
type planSource struct{ driver.Source }

func (planSource) Scannable(reflect.Type) bool      { return false }
func (planSource) Dest(d *driver.Dest) any          { return d.Ptr }
func (planSource) Discard(*driver.Dest) any         { return new(int) }
func (planSource) Sample(driver.Column, int) []byte { return nil }

// Decode runs the fake column's check, kept in its Info.
func (planSource) Decode(c driver.Column, _ int, _ []byte, dst any) error {
	return c.Info.(func(any) error)(dst)
}
