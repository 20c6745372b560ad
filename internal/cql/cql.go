// Package cql reads CQL statements as far as cqlseq needs to: a lexer
// ([Lex]) that finds the literals, quoted names, bind markers and comments
// of a statement, and [Limit], which says whether a statement limits its
// rows, for the cursors of package cqlseq. Module cqlseqotel names spans
// and sanitizes statements with the same lexer. It is internal to this
// repository: nothing here is API.
package cql

import (
	"iter"
	"regexp"
	"strings"
)

// A Kind is what a token of a CQL statement is.
type Kind uint8

const (
	Ident   Kind = iota + 1 // an unquoted identifier or keyword
	Quoted                  // a "quoted identifier"
	Literal                 // a constant: string, number, blob, UUID, boolean, duration
	Marker                  // a bind marker: ? or :name
	Punct                   // any other byte: . , ( ) = ...
	Comment                 // a comment: -- or // to the end of the line, /* to */
)

// A Token is the text s[Start:End] of a statement s. Open marks a string,
// quoted name or comment that s ends inside of: Cassandra refuses such a
// statement, and what follows its start cannot be told apart.
type Token struct {
	Kind       Kind
	Start, End int
	Open       bool
}

var (
	uuidText = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`)
	// isoDuration is CQL's ISO 8601 duration (P1Y2M3DT4H5M6S, P3W), which
	// lexes as an identifier.
	isoDuration = regexp.MustCompile(`^(?i:P(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?|P\d+W)$`)
)

// Lex yields the tokens of the CQL statement s, in order, its comments
// too, without its white space. It never fails: a string, name or comment
// that s ends inside of runs to the end of s, and is Open. A line comment
// ends at a line feed or a carriage return, as Cassandra's does.
func Lex(s string) iter.Seq[Token] {
	return func(yield func(Token) bool) {
		for i := 0; i < len(s); {
			c := s[i]
			t := Token{Kind: Punct, Start: i, End: i + 1}
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
				i++
				continue
			case strings.HasPrefix(s[i:], "--") || strings.HasPrefix(s[i:], "//"):
				t.Kind, t.End = Comment, lineEnd(s, i)
			case strings.HasPrefix(s[i:], "/*"):
				t.Kind = Comment
				t.End, t.Open = after(s, i+2, "*/")
			case c == '\'':
				t.Kind = Literal
				t.End, t.Open = quoted(s, i, '\'')
			case strings.HasPrefix(s[i:], "$$"):
				t.Kind = Literal
				t.End, t.Open = after(s, i+2, "$$")
			case c == '"':
				t.Kind = Quoted
				t.End, t.Open = quoted(s, i, '"')
			case c == '?':
				t.Kind = Marker
			case c == ':' && i+1 < len(s) && (identStart(s[i+1]) || s[i+1] == '"'):
				t.Kind = Marker
				if s[i+1] == '"' {
					t.End, t.Open = quoted(s, i+1, '"')
				} else {
					t.End = identEnd(s, i+1)
				}
			case isHex(c) && uuidText.MatchString(s[i:]) && (i+36 == len(s) || !identPart(s[i+36])):
				t.Kind, t.End = Literal, i+36
			case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
				// A number, a blob (0x...), or a duration (1h30m, 5µs): a
				// run of letters, digits and points, with the sign of an
				// exponent.
				t.Kind, t.End = Literal, numberEnd(s, i)
			case identStart(c):
				t.Kind, t.End = Ident, identEnd(s, i)
				switch w := s[i:t.End]; {
				case strings.EqualFold(w, "true"), strings.EqualFold(w, "false"),
					strings.EqualFold(w, "nan"), strings.EqualFold(w, "infinity"),
					len(w) > 1 && isoDuration.MatchString(w):
					t.Kind = Literal
				}
			}
			if !yield(t) {
				return
			}
			i = t.End
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
// the closing q, a doubled q being one inside; or len(s) and open if s
// ends inside it.
func quoted(s string, i int, q byte) (end int, open bool) {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, false
		}
	}
	return len(s), true
}

// after returns the index past the first end in s at or after i, or
// len(s) and open if there is none.
func after(s string, i int, end string) (int, bool) {
	if k := strings.Index(s[i:], end); k >= 0 {
		return i + k + len(end), false
	}
	return len(s), true
}

// lineEnd returns the index past the line feed or carriage return that
// ends the line of s[i], or len(s).
func lineEnd(s string, i int) int {
	if k := strings.IndexAny(s[i:], "\n\r"); k >= 0 {
		return i + k + 1
	}
	return len(s)
}
