package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// The demo, smaller: it seeds (or reuses) a table and streams all of it.
func TestDemo(t *testing.T) {
	cqlseqtest.Session(t) // fails with the reason when Cassandra is unreachable
	defer cqlseqtest.Close()
	var out bytes.Buffer
	if err := run(context.Background(), &out, 20_000, 500); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "streamed 20000 rows") {
		t.Fatalf("output does not report the rows streamed:\n%s", out.String())
	}
	t.Log(strings.ReplaceAll(out.String(), "\r", "\n"))
}
