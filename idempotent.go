package cqlseq

import "strings"

// Idempotent reports whether running stmt twice is harmless: a SELECT
// always is; another statement only when the caller marked it idempotent
// and it has no IF clause (a lightweight transaction's outcome depends on
// whether it already ran).
func idempotent(stmt string, marked bool) bool {
	words := cqlWords(stmt)
	first, ok := words()
	if !ok {
		return false
	}
	if strings.EqualFold(first, "SELECT") {
		return true
	}
	if !marked {
		return false
	}
	for w, ok := words(); ok; w, ok = words() {
		if strings.EqualFold(w, "IF") {
			return false
		}
	}
	return true
}

// cqlWords returns a function that yields the words of stmt in order:
// runs of ASCII letters, outside comments (--, //, /* */), string literals
// ('...' and $$...$$) and quoted identifiers ("..."). Digits, underscores
// and punctuation separate words, so that a keyword is found however it is
// written next to a number ("k = 1IF v = 0" is an IF clause to Cassandra):
// an identifier such as my_if yields "if" too, which can only make a
// statement look conditional, and so be retried less, never more.
func cqlWords(s string) func() (string, bool) {
	i := 0
	return func() (string, bool) {
		for i < len(s) {
			c := s[i]
			switch {
			case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "//"):
				// A line comment ends at a line feed or a carriage return.
				if j := strings.IndexAny(s[i:], "\n\r"); j >= 0 {
					i += j + 1
				} else {
					i = len(s)
				}
			case c == '/' && strings.HasPrefix(s[i:], "/*"):
				if j := strings.Index(s[i+2:], "*/"); j >= 0 {
					i += 2 + j + 2
				} else {
					i = len(s)
				}
			case c == '$' && strings.HasPrefix(s[i:], "$$"):
				if j := strings.Index(s[i+2:], "$$"); j >= 0 {
					i += 2 + j + 2
				} else {
					i = len(s)
				}
			case c == '\'' || c == '"':
				// A doubled quote inside is an escaped quote: skipping both
				// halves as two literals gives the same result.
				if j := strings.IndexByte(s[i+1:], c); j >= 0 {
					i += 1 + j + 1
				} else {
					i = len(s)
				}
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
				j := i
				for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
					j++
				}
				w := s[i:j]
				i = j
				return w, true
			default:
				i++
			}
		}
		return "", false
	}
}
