package mapping

import "fmt"

// Error is a plan's refusal: the row type cannot hold the result. Package
// cqlseq turns it into its MappingError, with the page and, when the
// columns changed between pages, what changed.
type Error struct {
	// Column is the result column concerned, or "" when the error is about
	// the result as a whole.
	Column string
	// Field is the Go field (Type.Field, Type.Field[i] for a tuple
	// element), or "" when no field is concerned.
	Field string
	// Msg says what is wrong, with no prefix.
	Msg string
	// Err is the driver's error, or nil.
	Err error
}

// Error returns Msg, followed by the driver's error if there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the driver's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error about column col and field.
func errorf(col, field, format string, args ...any) error {
	return &Error{Column: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}
