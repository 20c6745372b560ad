package cqlseq_test

import (
	"reflect"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
)

// The generic destinations are the driver's Unmarshalers only if Codec is
// instantiated with the driver's TypeInfo: nothing but this test would
// notice otherwise.
func TestCodecDestinationsAreUnmarshalers(t *testing.T) {
	drivertest.Destinations(t, cqlseq.V2Codec, reflect.TypeFor[gocql.Unmarshaler]())
	if !cqlseq.V2Codec.Scannable(reflect.TypeFor[gocql.Duration]()) || cqlseq.V2Codec.Scannable(reflect.TypeFor[struct{ A int }]()) {
		t.Error("Scannable: want gocql.Duration, not a plain struct")
	}
}

// A vector of a type the driver does not know has no sample, and no panic.
func TestSampleOfUnknownVector(t *testing.T) {
	if got := cqlseq.V2Sample(gocql.VectorType{SubType: gocql.NewNativeType(5, gocql.Type(0x7777), ""), Dimensions: 2}); got != nil {
		t.Fatalf("sample = %x, want nil", got)
	}
}
