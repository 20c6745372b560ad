package cqlseqx

import (
	"reflect"
	"testing"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v3"

	"github.com/cqlseq/cqlseq/internal/driver/drivertest"
)

// The generic destinations are the fork's Unmarshalers only if Codec is
// instantiated with the fork's TypeInfo: nothing but this test would notice
// otherwise.
func TestCodecDestinationsAreUnmarshalers(t *testing.T) {
	drivertest.Destinations(t, codec, reflect.TypeFor[gocql.Unmarshaler]())
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
