package cqlseqotel

import (
	"iter"
	"regexp"
	"strings"
)

// A tokenKind is what a token of a CQL statement is.
type tokenKind uint8

const (
	identToken   tokenKind = iota + 1 // an unquoted identifier or keyword
	quotedToken                       // a "quoted identifier"
	literalToken                      // a constant: string, number, blob, UUID, boolean, duration
	markerToken                       // a bind marker: ? or :name
	punctToken                        // any other byte: . , ( ) = ...
)

// A token is the text s[start:end] of a statement s.
type token struct {
	kind       tokenKind
	start, end int
}

var (
	uuidText = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)
	// isoDuration is CQL's ISO 8601 duration (P1Y2M3DT4H5M6S, P3W), which
	// lexes as an identifier.
	isoDuration = regexp.MustCompile(`^(?i:P(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?|P\d+W)$`)
)

// lex yields the tokens of the CQL statement s, in order, without its
// comments and white space. It never fails: an unterminated string, name
// or comment runs to the end of s.
func lex(s string) iter.Seq[token] {
	return func(yield func(token) bool) {
		for i := 0; i < len(s); {
			c := s[i]
			t := token{kind: punctToken, start: i, end: i + 1}
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
				i++
				continue
			case strings.HasPrefix(s[i:], "--") || strings.HasPrefix(s[i:], "//"):
				i = lineEnd(s, i)
				continue
			case strings.HasPrefix(s[i:], "/*"):
				i = after(s, i+2, "*/")
				continue
			case c == '\'':
				t.kind, t.end = literalToken, quoted(s, i, '\'')
			case strings.HasPrefix(s[i:], "$$"):
				t.kind, t.end = literalToken, after(s, i+2, "$$")
			case c == '"':
				t.kind, t.end = quotedToken, quoted(s, i, '"')
			case c == '?':
				t.kind = markerToken
			case c == ':' && i+1 < len(s) && (identStart(s[i+1]) || s[i+1] == '"'):
				t.kind = markerToken
				if s[i+1] == '"' {
					t.end = quoted(s, i+1, '"')
				} else {
					t.end = identEnd(s, i+1)
				}
			case isHex(c) && uuidText.MatchString(s[i:]) && (i+36 == len(s) || !identPart(s[i+36])):
				t.kind, t.end = literalToken, i+36
			case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
				// A number, a blob (0x...), or a duration (1h30m, 5µs): a
				// run of letters, digits and points, with the sign of an
				// exponent.
				t.kind, t.end = literalToken, numberEnd(s, i)
			case identStart(c):
				t.kind, t.end = identToken, identEnd(s, i)
				switch w := s[i:t.end]; {
				case strings.EqualFold(w, "true"), strings.EqualFold(w, "false"),
					strings.EqualFold(w, "nan"), strings.EqualFold(w, "infinity"),
					len(w) > 1 && isoDuration.MatchString(w):
					t.kind = literalToken
				}
			}
			if !yield(t) {
				return
			}
			i = t.end
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func identStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}
func identPart(c byte) bool { return identStart(c) || isDigit(c) }

func identEnd(s string, i int) int {
	for i < len(s) && identPart(s[i]) {
		i++
	}
	return i
}

func numberEnd(s string, i int) int {
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case identPart(c) || c == '.':
		case (c == '+' || c == '-') && j > i && (s[j-1] == 'e' || s[j-1] == 'E') && !strings.HasPrefix(s[i:], "0x") && !strings.HasPrefix(s[i:], "0X"):
		default:
			return j
		}
	}
	return len(s)
}

// quoted returns the end of the quoted text at s[i], s[i] being q: past
// the closing q, a doubled q being one inside.
func quoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// after returns the index past the first end in s at or after i, or len(s).
func after(s string, i int, end string) int {
	if k := strings.Index(s[i:], end); k >= 0 {
		return i + k + len(end)
	}
	return len(s)
}

func lineEnd(s string, i int) int {
	if k := strings.IndexByte(s[i:], '\n'); k >= 0 {
		return i + k + 1
	}
	return len(s)
}

// parameterized reports whether statement has a bind marker.
func parameterized(statement string) bool {
	for t := range lex(statement) {
		if t.kind == markerToken {
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
		if t.kind != literalToken {
			continue
		}
		b.WriteString(statement[last:t.start])
		b.WriteByte('?')
		last = t.end
	}
	if last == 0 {
		return statement
	}
	b.WriteString(statement[last:])
	return b.String()
}
