package cqlseq

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cqlseq/cqlseq/internal/cql"
)

// maxParallelism bounds WithParallelism: a scan cuts the ring into 4
// ranges per worker at least.
const maxParallelism = 1024

// fragment reports whether s may be pasted into a scan's statement: no
// statement separator, no comment that could hide the rest of it.
func fragment(s string) bool {
	return !strings.Contains(s, ";") && !strings.Contains(s, "--") && !strings.Contains(s, "//") && !strings.Contains(s, "/*")
}

// WithParallelism sets how many token ranges a [Scan] reads at once: its
// workers, each with one page request in flight at most. The default is 4
// per node of the cluster; n must be in [1, 1024].
func WithParallelism(n int) ScanOption {
	return scanOption(func(c *config) { c.parallelism, c.parallelismSet = n, true })
}

// WithDataCenter makes a [Scan] send each range's requests to its replicas
// in data center dc only, as a DC-aware host policy keeps a program's
// requests in its own data center (a coordinator elsewhere would read at a
// LOCAL_* consistency from its own): a request that no replica in dc can
// take goes where the session's host selection policy sends it. Without
// it, a range's requests go to all its replicas, the primary first: a scan
// consults the session's policy only for a request no replica could take,
// so in a cluster of several data centers give WithDataCenter, or the scan
// reads from all of them. A data center with no node of the cluster is an
// error.
func WithDataCenter(dc string) ScanOption {
	return scanOption(func(c *config) { c.scanDC, c.scanDCSet = dc, true })
}

// WithColumns makes a [Scan] read these columns (or expressions) only,
// rather than all ("*"). They are CQL, written into the statement as given
// (quote a name with capitals: `"userId"`), so they must come from the
// program, never from its users; a ";", a comment or a bind marker is
// refused. Before any range is read, an entry that is a column's name
// (alone or with an alias: "v AS value") is checked against the table's
// columns, and the statement, with what WithColumns and [WithFilter] wrote
// into it, is run once over an empty token range for Cassandra to judge
// the rest (writetime(v), a cast, a function); either refusal is an error
// that matches [ErrInvalidArgument] and names the option.
func WithColumns(columns ...string) ScanOption {
	columns = slices.Clone(columns)
	return scanOption(func(c *config) { c.scanColumns, c.scanColumnsSet = columns, true })
}

// WithFilter makes a [Scan] read only the rows that match cql, a CQL
// condition on columns other than the partition key ("score > ?"), with
// values bound to its markers. Each range's query runs with ALLOW
// FILTERING: Cassandra reads every row of the range and returns the
// matching ones. cql is written into the statement as given, so it must
// come from the program, never from its users (bind their values to
// markers); a ";" or a comment is refused, as are the clauses the scan
// writes itself or that would apply to each range (LIMIT, PER PARTITION
// LIMIT, GROUP BY, ORDER BY, ALLOW FILTERING). Each bind marker takes one
// value, in order: a "?" or a named marker (":min"), counted each time it
// appears, outside string literals and quoted names; a count of values
// that differs is refused before any query. Before any range is read, the
// statement is run once over an empty token range (see [WithColumns]), so
// that a condition Cassandra refuses (an unknown column, a syntax error)
// or a value the driver cannot bind (a string for an int column) is an
// error that matches [ErrInvalidArgument].
func WithFilter(cql string, values ...any) ScanOption {
	values = slices.Clone(values)
	return scanOption(func(c *config) { c.scanFilter, c.scanValues, c.scanFilterSet = cql, values, true })
}

// checkScan validates the options of Scan alone.
func (c *config) checkScan() {
	if c.scanDCSet && strings.TrimSpace(c.scanDC) == "" {
		c.errs = append(c.errs, errors.New("WithDataCenter names no data center"))
	}
	if c.parallelismSet && (c.parallelism <= 0 || c.parallelism > maxParallelism) {
		c.errs = append(c.errs, fmt.Errorf("parallelism must be in [1, %d], got %d", maxParallelism, c.parallelism))
	}
	if c.scanColumnsSet {
		if len(c.scanColumns) == 0 {
			c.errs = append(c.errs, errors.New("WithColumns names no column"))
		}
		for _, col := range c.scanColumns {
			switch markers, _, _ := lexFragment(col); {
			case strings.TrimSpace(col) == "" || !fragment(col):
				c.errs = append(c.errs, fmt.Errorf("WithColumns: %q is not a column", col))
			case markers > 0:
				c.errs = append(c.errs, fmt.Errorf("WithColumns: %q holds a bind marker; a scan binds values to WithFilter's markers only", col))
			}
		}
	}
	if c.scanFilterSet {
		c.checkFilter()
	}
}

// checkFilter validates WithFilter's condition and its values, as far as
// that can be done without the table (see WithFilter).
func (c *config) checkFilter() {
	if strings.TrimSpace(c.scanFilter) == "" || !fragment(c.scanFilter) {
		c.errs = append(c.errs, fmt.Errorf("WithFilter: %q is not a condition", c.scanFilter))
		return
	}
	markers, words, ok := lexFragment(c.scanFilter)
	if !ok {
		return // a literal not closed: Cassandra says where
	}
	for i, w := range words {
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		clause := ""
		switch {
		case w == "LIMIT":
			clause = "LIMIT"
		case w == "PER" && next == "PARTITION", (w == "GROUP" || w == "ORDER") && next == "BY", w == "ALLOW" && next == "FILTERING":
			clause = w + " " + next
		}
		if clause != "" {
			c.errs = append(c.errs, fmt.Errorf("WithFilter(%q) holds %s; give a condition alone: the scan writes the rest of its statement", c.scanFilter, clause))
			return
		}
	}
	// A LIMIT the words miss: one glued to a number (1LIMIT), which
	// Cassandra's lexer reads as 1 LIMIT, as internal/cql.Limit does.
	if has, open := cql.Limit(c.scanFilter); has != "" && !open {
		c.errs = append(c.errs, fmt.Errorf("WithFilter(%q) holds %s; give a condition alone: the scan writes the rest of its statement", c.scanFilter, strings.TrimPrefix(has, "a ")))
		return
	}
	if markers != len(c.scanValues) {
		c.errs = append(c.errs, fmt.Errorf("WithFilter(%q): %s and %s; each marker takes one value, a named one each time it appears",
			c.scanFilter, plural(markers, "bind marker"), plural(len(c.scanValues), "value")))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// lexFragment reads a CQL fragment outside its string literals ('...',
// $$...$$) and quoted names ("..."): it counts the bind markers (each "?"
// and each named marker, ":name") and returns the other words (names,
// keywords and numbers), upper-cased. In a collection or user-defined
// type literal ({...}) a colon after a key or field separates it from its
// value: there a colon starts a marker only where a term begins (after
// "{", ",", ":", "(" or "["). ok is false when a literal or quoted name is
// not closed.
func lexFragment(s string) (markers int, words []string, ok bool) {
	depth := 0                           // of braces
	var prev byte                        // the last character read, spaces aside; a literal or name is 'a'
	closing := func(i int, q byte) int { // the index after the literal or name that opens at i
		for j := i + 1; j < len(s); j++ {
			if s[j] == q {
				if j+1 < len(s) && s[j+1] == q {
					j++ // a doubled quote
					continue
				}
				return j + 1
			}
		}
		return -1
	}
	word := func(b byte) bool { return b == '_' || '0' <= b && b <= '9' || 'a' <= b|0x20 && b|0x20 <= 'z' }
	for i := 0; i < len(s); {
		b := s[i]
		switch {
		case b == '\'' || b == '"':
			j := closing(i, b)
			if j < 0 {
				return markers, words, false
			}
			i, prev = j, 'a'
			continue
		case strings.HasPrefix(s[i:], "$$"):
			j := strings.Index(s[i+2:], "$$")
			if j < 0 {
				return markers, words, false
			}
			i, prev = i+2+j+2, 'a'
			continue
		case word(b):
			j := i
			for j < len(s) && word(s[j]) {
				j++
			}
			words = append(words, strings.ToUpper(s[i:j]))
			i, prev = j, 'a'
			continue
		case b == '?':
			markers++
		case b == ':':
			named := i+1 < len(s) && (s[i+1] == '"' || 'a' <= s[i+1]|0x20 && s[i+1]|0x20 <= 'z')
			if named && (depth == 0 || strings.IndexByte("{,:([", prev) >= 0) {
				markers++
				// The marker's name is no word of the condition (":limit").
				j := i + 1
				if s[j] == '"' {
					if j = closing(j, '"'); j < 0 {
						return markers, words, false
					}
				} else {
					for j < len(s) && word(s[j]) {
						j++
					}
				}
				i, prev = j, 'a'
				continue
			}
		case b == '{':
			depth++
		case b == '}':
			depth = max(depth-1, 0)
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			prev = b
		}
		i++
	}
	return markers, words, true
}

// scanOptions names the scan's WithColumns and WithFilter as given, for
// messages; WithFilter's values are counted, not shown.
func (c *config) scanOptions() string {
	var parts []string
	if c.scanColumnsSet {
		cols := make([]string, len(c.scanColumns))
		for i, col := range c.scanColumns {
			cols[i] = strconv.Quote(col)
		}
		parts = append(parts, "WithColumns("+strings.Join(cols, ", ")+")")
	}
	if c.scanFilterSet {
		f := "WithFilter(" + strconv.Quote(c.scanFilter)
		if n := len(c.scanValues); n > 0 {
			f += ", " + plural(n, "value")
		}
		parts = append(parts, f+")")
	}
	return strings.Join(parts, " and ")
}
