package cqlseqotel

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/cqlseq/cqlseq"
)

// An Option configures a [Tracer]: pass them to [NewTracer].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is a Tracer's settings: the defaults, then the options in order.
type config struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	attrs    []attribute.KeyValue
	names    SpanNameFormatter
	filters  []Filter
	record   bool // db.query.text, unless WithQueryText(false)
	sanitize func(string) string
}

func newConfig(opts []Option) config {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider(), record: true}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithTracerProvider sets the provider of the tracer. Without it, or with
// nil, the global provider (otel.GetTracerProvider, when NewTracer runs).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithMeterProvider sets the provider of the meter. Without it, or with
// nil, the global provider (otel.GetMeterProvider, when NewTracer runs).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	})
}

// WithAttributes adds attrs to every span, at its start: the stream's, the
// ranges' and the page requests'. They are not added to the metrics. Given
// more than once, the attributes add up.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) {
		c.attrs = append(c.attrs, attrs...)
	})
}

// A SpanType says which of a stream's spans is named.
type SpanType uint8

const (
	// StreamSpan is the span of a stream or a scan (kind internal).
	StreamSpan SpanType = iota + 1
	// RangeSpan is the span of a scan's token range (kind internal).
	RangeSpan
	// PageSpan is the span of a page request (kind client).
	PageSpan
)

func (t SpanType) String() string {
	switch t {
	case StreamSpan:
		return "stream"
	case RangeSpan:
		return "range"
	case PageSpan:
		return "page"
	}
	return "unknown"
}

// A SpanNameFormatter names the spans of type t of the stream d describes;
// name is the name they have without it (see the package documentation).
// An empty result keeps that name.
type SpanNameFormatter func(t SpanType, name string, d cqlseq.TraceStreamStartData) string

// WithSpanNameFormatter names spans with f. It is called when a stream
// starts, once for each type of span the stream can have (a range only for
// a scan), not once per span. nil keeps the default names.
func WithSpanNameFormatter(f SpanNameFormatter) Option {
	return optionFunc(func(c *config) {
		c.names = f
	})
}

// A Filter reports whether the stream d describes, started with ctx, is
// traced.
type Filter func(ctx context.Context, d cqlseq.TraceStreamStartData) bool

// WithFilter traces only the streams f accepts: a stream f refuses has no
// spans, and its page requests are not measured. Given more than once, a
// stream is traced only if every filter accepts it; the filters run in the
// order given, when the stream starts. A nil f is ignored.
func WithFilter(f Filter) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.filters = append(c.filters, f)
		}
	})
}

// WithQueryText sets whether spans carry the statement (db.query.text).
// They do by default, as the conventions recommend: a statement with bind
// markers as written, one without them with its literals replaced by "?"
// (see [WithQuerySanitizer]). WithQueryText(false) records none.
func WithQueryText(record bool) Option {
	return optionFunc(func(c *config) {
		c.record = record
	})
}

// WithQuerySanitizer records f(statement) as db.query.text instead of the
// default, which records a statement with bind markers as written and
// replaces the literals of one without (strings, numbers, blobs, UUIDs,
// booleans, durations) with "?". f is called once per stream, when it
// starts; an empty result records no db.query.text. nil restores the
// default. WithQueryText(false) overrides it.
func WithQuerySanitizer(f func(statement string) string) Option {
	return optionFunc(func(c *config) {
		c.sanitize = f
	})
}

// queryText is the db.query.text of statement, "" for none.
func (c *config) queryText(statement string) string {
	switch {
	case !c.record || statement == "":
		return ""
	case c.sanitize != nil:
		return c.sanitize(statement)
	case parameterized(statement):
		return statement
	}
	return sanitize(statement)
}

// traced reports whether the filters accept the stream.
func (c *config) traced(ctx context.Context, d cqlseq.TraceStreamStartData) bool {
	for _, f := range c.filters {
		if !f(ctx, d) {
			return false
		}
	}
	return true
}
