package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m)))
}

var fixture = &sample.Fixture{Buckets: 2, PerBucket: 100}

// span is what the test reads of a span printed by the stdout exporter.
type span struct {
	Name        string
	SpanKind    int // 1 internal, 3 client
	SpanContext struct{ SpanID string }
	Parent      struct{ SpanID string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
}

func (s span) attr(key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

// Broken off after its second page, the stream prints its span (internal:
// 20 rows in 2 pages, ended by a break) and a child span for every page
// request (client, with db.system.name).
func TestTraceBrokenOff(t *testing.T) {
	table := fixture.Table(t)
	s := cqlseqtest.Session(t)
	var out bytes.Buffer
	if err := run(context.Background(), s, Config{Table: table, FetchSize: 10, Pages: 2}, &out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var stream span
	var pages []span
	for {
		var sp span
		if err := dec.Decode(&sp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if sp.SpanKind == 3 { // client: a page request
			pages = append(pages, sp)
		} else {
			stream = sp
		}
	}
	if stream.Name != "stream SELECT "+table || stream.attr("cqlseq.end_reason") != "break" ||
		stream.attr("db.response.returned_rows") != float64(20) || stream.attr("db.collection.name") != table {
		t.Fatalf("stream span %+v", stream)
	}
	if len(pages) < 2 {
		t.Fatalf("%d page spans", len(pages))
	}
	for _, p := range pages {
		if p.Parent.SpanID != stream.SpanContext.SpanID || p.Name != "SELECT "+table || p.attr("db.system.name") != "cassandra" {
			t.Fatalf("page span %+v is not the stream's child", p)
		}
	}
	t.Logf("stream span %q and %d page spans", stream.Name, len(pages))
}
