package cqlseq

import (
	"reflect"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq/driver"
)

// The generic destinations are the driver's Unmarshalers only if Codec is
// instantiated with the driver's TypeInfo: nothing but this test would
// notice otherwise.
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
	if !codec.Scannable(reflect.TypeFor[gocql.Duration]()) || codec.Scannable(reflect.TypeFor[struct{ A int }]()) {
		t.Error("Scannable: want gocql.Duration, not a plain struct")
	}
}

// A vector of a type the driver does not know has no sample, and no panic.
func TestSampleOfUnknownVector(t *testing.T) {
	if got := sample(gocql.VectorType{SubType: gocql.NewNativeType(5, gocql.Type(0x7777), ""), Dimensions: 2}); got != nil {
		t.Fatalf("sample = %x, want nil", got)
	}
}
