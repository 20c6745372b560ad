package cursor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
)

// FingerprintLen is the length of a [Fingerprint].
const FingerprintLen = 16

// A Fingerprint identifies a statement and its bound values, for cursors
// and checkpoints.
type Fingerprint [FingerprintLen]byte

// NewFingerprint hashes keyspace, stmt and values. Every part is written
// with its length first and every value with its type, so that distinct
// inputs give distinct encodings; values are written in a canonical form
// (pointers followed, times in UTC, maps in key order) so that the same
// values give the same fingerprint in another process.
func NewFingerprint(keyspace, stmt string, values []any) Fingerprint {
	var b []byte
	b = appendString(b, keyspace)
	b = appendString(b, stmt)
	b = binary.AppendUvarint(b, uint64(len(values)))
	for _, v := range values {
		b = canonical(b, reflect.ValueOf(v), 0)
	}
	sum := sha256.Sum256(b)
	var fp Fingerprint
	copy(fp[:], sum[:])
	return fp
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	valueType = reflect.TypeFor[reflect.Value]()
)

// addressable returns v, or an addressable copy of it, whose fields can be
// read whether exported or not.
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v
	}
	cp := reflect.New(v.Type()).Elem()
	cp.Set(v)
	return cp
}

// maxDepth bounds how deep canonical follows a value: no CQL type nests so
// deep, and a cycle (which no driver can marshal either) must end. Values
// that differ only deeper than this share a fingerprint.
const maxDepth = 100

// canonical appends v's type and value, each part length-prefixed. fmt's
// %v is close but prints pointers as addresses and times with their
// monotonic reading, and its text is ambiguous.
func canonical(b []byte, v reflect.Value, depth int) []byte {
	if !v.IsValid() {
		return append(b, 'n')
	}
	b = append(b, 'v')
	b = appendString(b, v.Type().String())
	if depth > maxDepth {
		return append(b, 'd') // too deep to follow: a cycle, or near one
	}
	if v.Type() == timeType {
		return appendString(b, v.Interface().(time.Time).UTC().Format(time.RFC3339Nano))
	}
	if v.Type() == valueType {
		// A reflect.Value held by a value (gocqlx wraps a bound UDT in one):
		// the value it holds, not its pointers.
		inner := *(*reflect.Value)(addressable(v).Addr().UnsafePointer())
		return canonical(append(b, 'R'), inner, depth+1)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, 'n')
		}
		return canonical(append(b, 'p'), v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(b, 'n')
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice {
				return appendString(append(b, 'b'), string(v.Bytes()))
			}
			bs := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(bs), v)
			return appendString(append(b, 'b'), string(bs))
		}
		b = binary.AppendUvarint(append(b, 's'), uint64(v.Len()))
		for i := range v.Len() {
			b = canonical(b, v.Index(i), depth+1)
		}
		return b
	case reflect.Map:
		if v.IsNil() {
			return append(b, 'n')
		}
		keys := v.MapKeys()
		enc := make([][]byte, len(keys))
		for i, k := range keys {
			enc[i] = canonical(canonical(nil, k, depth+1), v.MapIndex(k), depth+1)
		}
		slices.SortFunc(enc, bytes.Compare)
		b = binary.AppendUvarint(append(b, 'm'), uint64(len(enc)))
		for _, e := range enc {
			b = appendString(b, string(e))
		}
		return b
	case reflect.Struct:
		// big.Int and inf.Dec keep their state in unexported fields: those
		// are read too, from an addressable copy, as plain values.
		a := addressable(v)
		b = binary.AppendUvarint(append(b, 'r'), uint64(a.NumField()))
		for i := range a.NumField() {
			f := a.Field(i)
			if !a.Type().Field(i).IsExported() {
				f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
			}
			b = canonical(b, f, depth+1)
		}
		return b
	case reflect.String:
		return appendString(append(b, 't'), v.String())
	case reflect.Bool:
		if v.Bool() {
			return append(b, '1')
		}
		return append(b, '0')
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.BigEndian.AppendUint64(append(b, 'i'), uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return binary.BigEndian.AppendUint64(append(b, 'u'), v.Uint())
	case reflect.Float32, reflect.Float64:
		return binary.BigEndian.AppendUint64(append(b, 'f'), math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		b = binary.BigEndian.AppendUint64(append(b, 'c'), math.Float64bits(real(c)))
		return binary.BigEndian.AppendUint64(b, math.Float64bits(imag(c)))
	}
	return appendString(append(b, 'x'), fmt.Sprintf("%v", v)) // chan, func: not CQL values
}
