package cqlseqotel

import (
	"strings"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/internal/cql"
)

// description is what the conventions ask to know of a stream's statement.
type description struct {
	// operation is the statement's first keyword as written (SELECT);
	// namespace the keyspace it reads; collection its table as written,
	// with the keyspace if the statement names it (ks.users), unquoted;
	// summary "operation collection", "" without both.
	operation, namespace, collection, summary string
}

// describe describes the stream of d: from its statement, else, for a
// scan, from its keyspace and table.
func describe(d cqlseq.TraceStreamStartData) description {
	var s description
	keyspace := d.Keyspace
	s.namespace = keyspace
	var ks, table string
	s.operation, ks, table = target(d.Statement)
	switch {
	case d.Table != "": // a scan: the table given, "keyspace.table"
		s.collection = keyspace + "." + d.Table
		if s.operation == "" {
			s.operation = "SELECT"
		}
	case table != "" && ks != "":
		s.namespace, s.collection = ks, ks+"."+table
	case table != "":
		s.collection = table
	}
	if s.operation != "" && s.collection != "" {
		s.summary = s.operation + " " + s.collection
	}
	return s
}

// target returns the first keyword of a statement, and the keyspace (if
// named) and table it reads or writes: what follows FROM in a SELECT or a
// DELETE, INTO in an INSERT, UPDATE in an UPDATE.
func target(statement string) (operation, keyspace, table string) {
	var parts []string // the target's names: the table, or the keyspace and the table
	state := 0         // 0: the first token; 1: before the target; 2: in it, a name next; 3: in it, a point next
	var into string
loop:
	for t := range lex(statement) {
		text := statement[t.Start:t.End]
		switch state {
		case 0:
			if t.Kind != cql.Ident {
				break loop
			}
			operation = text
			switch {
			case strings.EqualFold(text, "SELECT"), strings.EqualFold(text, "DELETE"):
				into, state = "FROM", 1
			case strings.EqualFold(text, "INSERT"):
				into, state = "INTO", 1
			case strings.EqualFold(text, "UPDATE"):
				state = 2
			default:
				break loop
			}
		case 1:
			if t.Kind == cql.Ident && strings.EqualFold(text, into) {
				state = 2
			}
		case 2:
			switch t.Kind {
			case cql.Ident:
				parts = append(parts, text)
			case cql.Quoted:
				parts = append(parts, strings.ReplaceAll(text[1:max(1, len(text)-1)], `""`, `"`))
			default:
				break loop
			}
			state = 3
		case 3:
			if t.Kind != cql.Punct || text != "." || len(parts) == 2 {
				break loop
			}
			state = 2
		}
	}
	switch len(parts) {
	case 1:
		table = parts[0]
	case 2:
		keyspace, table = parts[0], parts[1]
	}
	return operation, keyspace, table
}

// names are a stream's span names.
type names struct{ stream, rng, page string }

// spanNames returns the span names of the stream of d, described by s:
// the page's by the conventions' rule ("{db.query.summary}", else
// "{db.operation.name} {db.namespace}", else the operation, else
// "cassandra"); the stream's "stream " (or for a scan "scan ") and a
// range's "range " before it. f, if not nil, renames them.
func spanNames(d cqlseq.TraceStreamStartData, s description, f SpanNameFormatter) names {
	page := s.summary
	switch {
	case page != "":
	case s.operation != "" && s.namespace != "":
		page = s.operation + " " + s.namespace
	case s.operation != "":
		page = s.operation
	default:
		page = "cassandra"
	}
	n := names{stream: "stream " + page, rng: "range " + page, page: page}
	if d.Parallelism > 0 {
		n.stream = "scan " + page
	}
	if f != nil {
		rename := func(t SpanType, name *string) {
			if v := f(t, *name, d); v != "" {
				*name = v
			}
		}
		rename(StreamSpan, &n.stream)
		rename(PageSpan, &n.page)
		if d.Parallelism > 0 {
			rename(RangeSpan, &n.rng)
		}
	}
	return n
}
