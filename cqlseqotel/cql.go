package cqlseqotel

import (
	"iter"
	"strings"

	"github.com/cqlseq/cqlseq/internal/cql"
)

// lex yields the tokens of the CQL statement s, in order, without its
// comments and white space (see cql.Lex, the core's lexer, which cursors
// read statements with too).
func lex(s string) iter.Seq[cql.Token] {
	return func(yield func(cql.Token) bool) {
		for t := range cql.Lex(s) {
			if t.Kind != cql.Comment && !yield(t) {
				return
			}
		}
	}
}

// parameterized reports whether statement has a bind marker.
func parameterized(statement string) bool {
	for t := range lex(statement) {
		if t.Kind == cql.Marker {
			return true
		}
	}
	return false
}

// sanitize returns statement with every literal replaced by "?", the rest
// (comments and spacing too) as written.
func sanitize(statement string) string {
	var b strings.Builder
	last := 0
	for t := range lex(statement) {
		if t.Kind != cql.Literal {
			continue
		}
		b.WriteString(statement[last:t.Start])
		b.WriteByte('?')
		last = t.End
	}
	if last == 0 {
		return statement
	}
	b.WriteString(statement[last:])
	return b.String()
}
