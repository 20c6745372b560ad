package cqlseqotel

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"unicode"
	"unicode/utf8"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
)

// requestError is an error Cassandra answered a request with, as the
// drivers give it: the v2 driver's RequestError, which the gocql fork
// that cqlseqx runs on declares the same.
type requestError interface {
	error
	Code() int
	Message() string
}

// statusCode returns the db.response.status_code of err: the protocol
// error code of the Cassandra error it wraps, in four hexadecimal digits,
// as the native protocol specification lists them and Cassandra's tools
// print them ("2200" for 0x2200, Invalid; "1200" for 0x1200, a read
// timeout), or "" if it wraps none.
func statusCode(err error) string {
	var re requestError
	if errors.As(err, &re) {
		return fmt.Sprintf("%04x", re.Code())
	}
	return ""
}

// errorType returns the error.type of err (not nil): the conventions ask
// for a low-cardinality class, and for Cassandra the response's status
// code where there is one, else the canonical name of the most relevant
// error, the wrapped one rather than its wrapper. In this order:
//
//   - the status code of the Cassandra error it wraps (see statusCode);
//   - "timeout" for a passed deadline, the v2 driver's
//     ErrTimeoutNoResponse, or a network error that timed out;
//   - the import path and name of the innermost error in its chain with
//     an exported type of its own, or the result of that error's
//     ErrorType() string method, as semconv.ErrorType gives it:
//     "github.com/cqlseq/cqlseq.DecodeError", "net.OpError";
//   - "_OTHER".
func errorType(err error) string {
	if code := statusCode(err); code != "" {
		return code
	}
	var t interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, gocql.ErrTimeoutNoResponse) || errors.As(err, &t) && t.Timeout() {
		return "timeout"
	}
	if name := innermost(err); name != "" {
		return name
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// innermost returns the name of the innermost error in err's tree, depth
// first, that has one (see typeName), or "".
func innermost(err error) string {
	switch u := err.(type) {
	case nil:
		return ""
	case interface{ Unwrap() error }:
		if name := innermost(u.Unwrap()); name != "" {
			return name
		}
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if name := innermost(e); name != "" {
				return name
			}
		}
	}
	return typeName(err)
}

// typeName returns err's ErrorType(), or the import path and name of its
// type (of the type pointed to, for a pointer) if that is exported: "" for
// the standard library's wrappers and texts (errors.New, fmt.Errorf).
func typeName(err error) string {
	if e, ok := err.(interface{ ErrorType() string }); ok {
		if name := e.ErrorType(); name != "" {
			return name
		}
	}
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if first, _ := utf8.DecodeRuneInString(t.Name()); t.PkgPath() == "" || !unicode.IsUpper(first) {
		return ""
	}
	return t.PkgPath() + "." + t.Name()
}
