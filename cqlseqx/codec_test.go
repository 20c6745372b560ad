package cqlseqx

import (
	"reflect"
	"testing"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq/driver"
)

// The generic destinations are the fork's Unmarshalers only if Codec is
// instantiated with the fork's TypeInfo: nothing but this test would notice
// otherwise.
func TestCodecDestinationsAreUnmarshalers(t *testing.T) {
	var at, v int
	var a any
	for name, d := range map[string]any{
		"Dest":        codec.Dest(&driver.Dest{Ptr: &v, At: &at}),
		"Dest of any": codec.Dest(&driver.Dest{Ptr: &a, Any: &a, At: &at}),
		"Discard":     codec.Discard(&driver.Dest{At: &at}),
	} {
		if _, ok := d.(gocql.Unmarshaler); !ok {
			t.Errorf("%s returns %T, which is not a gocql.Unmarshaler", name, d)
		}
	}
	if !codec.Scannable(reflect.TypeFor[gocql.Duration]()) || !codec.Scannable(reflect.TypeFor[nameUDT]()) ||
		codec.Scannable(reflect.TypeFor[struct{ A int }]()) {
		t.Error("Scannable: want gocql.Duration and a gocqlx.UDT type, not a plain struct")
	}
}

// nameUDT embeds gocqlx.UDT.
type nameUDT struct {
	gocqlx.UDT
	First string
}
