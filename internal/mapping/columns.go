package mapping

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// SameColumns reports whether two pages' columns are the same for a plan:
// a plan made for one serves the other.
func SameColumns(a, b []driver.Column) bool {
	return slices.EqualFunc(a, b, func(x, y driver.Column) bool {
		return x.Name == y.Name && x.Type == y.Type && x.Elems == y.Elems && x.UDT == y.UDT
	})
}

// Changes says how the columns after differ from before, for messages:
// the columns added, changed in type and dropped, or the new order when
// only the order changed.
func Changes(before, after []driver.Column) string {
	old := make(map[string]string, len(before))
	for _, c := range before {
		old[c.Name] = c.Type
	}
	var parts []string
	seen := make(map[string]bool, len(after))
	for _, c := range after {
		seen[c.Name] = true
		switch t, ok := old[c.Name]; {
		case !ok:
			parts = append(parts, fmt.Sprintf("added %q %s", c.Name, c.Type))
		case t != c.Type:
			parts = append(parts, fmt.Sprintf("%q changed from %s to %s", c.Name, t, c.Type))
		}
	}
	for _, c := range before {
		if !seen[c.Name] {
			parts = append(parts, fmt.Sprintf("dropped %q", c.Name))
		}
	}
	if len(parts) == 0 {
		return "reordered: " + names(after)
	}
	return strings.Join(parts, ", ")
}

// names lists the names of cols, for messages.
func names(cols []driver.Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name
	}
	return strings.Join(s, ", ")
}
