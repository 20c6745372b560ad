package cql

import "strings"

// Limit reports whether the statement stmt limits its rows, as far as a
// cursor needs to know: "" when it has neither a LIMIT nor a PER PARTITION
// LIMIT, else what it has, worded to follow "the statement has": "a LIMIT",
// "a PER PARTITION LIMIT", or both. A statement it cannot read to its end
// (a string, quoted name or comment left open) may hide either: for one,
// Limit says what was left open ("an unterminated string") and open is
// true.
//
// The keyword is looked for as Cassandra's lexer would find it, outside
// strings, quoted names and comments: LIMIT is a reserved word, so an
// unquoted identifier spelled so can only be the keyword, and a column
// named "limit" is quoted. Where Cassandra's lexer could cut a word out of
// a longer run (a number glued to the keyword, 1LIMIT; a name it would
// refuse, _limit or one with non-ASCII letters; a bind marker :limit), a
// run that holds the letters "limit" counts as a LIMIT: Limit may find one
// that is not there, never miss one that is.
func Limit(stmt string) (has string, open bool) {
	var limit, perPartition bool
	var prev [2]string // the two tokens before, lowercased if identifiers
	for t := range Lex(stmt) {
		if t.Open {
			switch t.Kind {
			case Comment:
				return "an unterminated comment", true
			case Quoted, Marker:
				return "an unterminated quoted name", true
			}
			return "an unterminated string", true
		}
		if t.Kind == Comment {
			continue
		}
		text := stmt[t.Start:t.End]
		if isLimit(t.Kind, text) {
			if prev == [2]string{"per", "partition"} {
				perPartition = true
			} else {
				limit = true
			}
		}
		word := ""
		if t.Kind == Ident {
			word = strings.ToLower(text)
		}
		prev = [2]string{prev[1], word}
	}
	switch {
	case limit && perPartition:
		return "a PER PARTITION LIMIT and a LIMIT", false
	case perPartition:
		return "a PER PARTITION LIMIT", false
	case limit:
		return "a LIMIT", false
	}
	return "", false
}

// isLimit reports whether Cassandra's lexer may find the keyword LIMIT in
// the token text, of kind k.
func isLimit(k Kind, text string) bool {
	switch k {
	case Marker:
		if text == "?" || text[1] == '"' { // ? or :"name"
			return false
		}
		text = text[1:] // :name
	case Literal:
		// Strings hold no keyword; a number, blob or duration may run
		// into one (1LIMIT). The other literals are words: true, NaN,
		// P1Y2M.
		if c := text[0]; c == '\'' || c == '$' || !(isDigit(c) || c == '.') {
			return false
		}
		return containsFold(text, "limit")
	case Ident:
	default:
		return false
	}
	if plainIdent(text) {
		return strings.EqualFold(text, "limit")
	}
	return containsFold(text, "limit")
}

// plainIdent reports whether s is an identifier as Cassandra's lexer reads
// one: an ASCII letter, then ASCII letters, digits and underscores.
func plainIdent(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(identPart(c) && c < 0x80) {
			return false
		}
	}
	return true
}

// containsFold reports whether s holds sub, ASCII letters of either case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}
