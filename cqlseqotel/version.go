package cqlseqotel

// ScopeName is the name of the instrumentation scope of the spans and
// metrics: the tracer and the meter are made with it, with [Version] and
// the schema URL of the semantic conventions followed
// (go.opentelemetry.io/otel/semconv/v1.39.0).
const ScopeName = "github.com/cqlseq/cqlseq/cqlseqotel"

// Version is the version of this module, the instrumentation scope's
// version. It is the one CHANGELOG.md names last: a test holds them equal.
const Version = "0.1.0"
