package cqlseqslog

// An Option configures a [Tracer]: pass them to [NewTracer].
type Option interface {
	apply(*Tracer)
}

type optionFunc func(*Tracer)

func (f optionFunc) apply(t *Tracer) { f(t) }

// WithQueryText sets whether the records of a stream's start and end, and
// of a failed request, hold its statement (KeyStatement). They do by
// default, as written.
func WithQueryText(log bool) Option {
	return optionFunc(func(t *Tracer) { t.queryText = log })
}

// WithQuerySanitizer logs f(statement) instead of the statement: to
// replace the literals of statements that hold secrets, say. f is called
// once per stream, when it starts; an empty result logs no statement. nil
// logs the statement as written. WithQueryText(false) overrides it.
func WithQuerySanitizer(f func(statement string) string) Option {
	return optionFunc(func(t *Tracer) { t.sanitize = f })
}
