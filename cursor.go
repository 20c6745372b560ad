package cqlseq

import "github.com/cqlseq/cqlseq/internal/cursor"

// decodeCursor checks text, a stream's cursor, against the statement's
// fingerprint fp and the key, and returns the paging state it holds and
// the page size it was made at (see [cursor.Decode]). Its errors match
// ErrInvalidCursor and ErrInvalidArgument, and say what is wrong.
func decodeCursor(text string, fp cursor.Fingerprint, key []byte) (state []byte, pageSize int, err error) {
	state, pageSize, err = cursor.Decode(text, fp, key)
	if err != nil {
		return nil, 0, refused("cursor", err)
	}
	return state, pageSize, nil
}

// refused returns the error for a cursor or checkpoint (what names it)
// that package cursor refused with err, a [*cursor.Error] that says why:
// "cqlseq: invalid cursor: " and the reason, matching ErrInvalidCursor and
// ErrInvalidArgument.
func refused(what string, err error) error {
	return &wrapped{"cqlseq: invalid " + what + ": " + err.Error(), []error{ErrInvalidCursor, ErrInvalidArgument}}
}
