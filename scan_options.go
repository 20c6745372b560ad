package cqlseq

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
// per node of the cluster; n must be in [1, 1024]. It is an error on Stream
// and Pages.
func WithParallelism(n int) Option {
	return optionFunc(func(c *config) { c.parallelism, c.parallelismSet = n, true })
}

// WithDataCenter makes a [Scan] send each range's requests to its replicas
// in data center dc first, as a DC-aware host policy keeps a program's
// requests in its own data center: a range's replicas are tried in the
// order up and in dc, up elsewhere, then the others. Without it they are
// tried in ring order, those the driver takes to be up first: a scan does
// not consult the session's host selection policy, so in a cluster of
// several data centers give WithDataCenter, or the scan reads from all of
// them. A data center with no node of the cluster is an error, as is the
// option on Stream and Pages.
func WithDataCenter(dc string) Option {
	return optionFunc(func(c *config) { c.scanDC, c.scanDCSet = dc, true })
}

// WithColumns makes a [Scan] read these columns (or expressions) only,
// rather than all ("*"). They are CQL, written into the statement as given
// (quote a name with capitals: `"userId"`), so they must come from the
// program, never from its users; a ";" or a comment is refused. It is an
// error on Stream and Pages.
func WithColumns(columns ...string) Option {
	columns = slices.Clone(columns)
	return optionFunc(func(c *config) { c.scanColumns, c.scanColumnsSet = columns, true })
}

// WithFilter makes a [Scan] read only the rows that match cql, a CQL
// condition on columns other than the partition key ("score > ?"), with
// values bound to its markers. Each range's query runs with ALLOW
// FILTERING: Cassandra reads every row of the range and returns the
// matching ones. cql is written into the statement as given, so it must
// come from the program, never from its users (bind their values to
// markers); a ";" or a comment is refused. It is an error on Stream and
// Pages.
func WithFilter(cql string, values ...any) Option {
	values = slices.Clone(values)
	return optionFunc(func(c *config) { c.scanFilter, c.scanValues, c.scanFilterSet = cql, values, true })
}

// checkScan validates the options that belong to Scan or to Stream and
// Pages alone.
func (c *config) checkScan() {
	if !c.scan {
		if c.parallelismSet || c.scanColumnsSet || c.scanFilterSet || c.scanDCSet {
			c.errs = append(c.errs, errors.New("WithParallelism, WithColumns, WithFilter and WithDataCenter are options of Scan"))
		}
		return
	}
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
			if strings.TrimSpace(col) == "" || !fragment(col) {
				c.errs = append(c.errs, fmt.Errorf("WithColumns: %q is not a column", col))
			}
		}
	}
	if c.scanFilterSet && (strings.TrimSpace(c.scanFilter) == "" || !fragment(c.scanFilter)) {
		c.errs = append(c.errs, fmt.Errorf("WithFilter: %q is not a condition", c.scanFilter))
	}
	if len(c.PageState) > 0 || c.MaxPages > 0 {
		c.errs = append(c.errs, errors.New("WithPageState and WithMaxPages are options of Stream and Pages; a Scan resumes with WithCursor"))
	}
}
