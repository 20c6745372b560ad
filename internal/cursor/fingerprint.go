package cursor

import (
	"bytes"
	"crypto/sha256"
	"encoding"
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
// (pointers followed, times as UTC instants without their monotonic
// reading, maps in key order) so that the same values give the same
// fingerprint in another process.
//
// No unexported field of a struct is read by this package. A struct is
// written as its type's name and its exported fields (its own, and those
// promoted from unexported embedded structs). One that has unexported
// fields is written instead by its MarshalBinary or MarshalText method
// (encoding.BinaryMarshaler, encoding.TextMarshaler, on its value or its
// pointer; MarshalBinary if it has both), such as big.Int and inf.Dec;
// else, if it holds plain data alone (no pointer, interface, channel or
// function at any depth), as fmt's %#v writes it (an ID type such as
// struct{ v uint64 } with a MarshalCQL method); a type defined as a
// time.Time is written as the time. So only values of a struct type with
// unexported fields, neither method and a pointer or interface inside, that
// differ only in those fields share a fingerprint. gocqlx binds a UDT so:
// in a wrapper struct whose fields, all unexported, hold the UDT in
// reflect.Values; the wrapper is written as its type alone, and two
// statements that differ only in a UDT bound through gocqlx share a
// fingerprint. Values that differ only deeper than maxDepth share one too.
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
	timeType            = reflect.TypeFor[time.Time]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// maxDepth bounds how deep canonical follows a value: no CQL type nests so
// deep, and a cycle (which no driver can marshal either) must end. Values
// that differ only deeper than this share a fingerprint.
const maxDepth = 100

// canonical appends v's type and value, each part length-prefixed. fmt's
// %v is close but prints pointers as addresses and times with their
// monotonic reading, and its text is ambiguous. v is never reached through
// an unexported field, so its methods may be called.
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
		if v.Type().ConvertibleTo(timeType) { // type T time.Time: as the time
			return canonical(append(b, 'T'), v.Convert(timeType), depth+1)
		}
		if hasUnexported(v.Type()) {
			if m, ok := marshal(v); ok {
				return appendString(append(b, 'M'), string(m))
			}
			if v.CanInterface() && plain(v.Type(), 0) {
				// State of plain data alone (numbers, strings, and arrays,
				// slices, maps and structs of them): fmt's Go syntax writes
				// all of it, the same in every process, and a pointer
				// nowhere.
				return appendString(append(b, 'G'), fmt.Sprintf("%#v", v.Interface()))
			}
		}
		fields := exportedFields(v.Type())
		b = binary.AppendUvarint(append(b, 'r'), uint64(len(fields)))
		for _, index := range fields {
			f, err := v.FieldByIndexErr(index)
			if err != nil { // promoted through a nil embedded pointer
				b = append(b, 'n')
				continue
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

// plain reports whether values of type t hold plain data alone: no
// pointer, interface, channel or function, at any depth, so that fmt
// writes them in full and the same in every process.
func plain(t reflect.Type, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array, reflect.Slice:
		return plain(t.Elem(), depth+1)
	case reflect.Map:
		return plain(t.Key(), depth+1) && plain(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// hasUnexported reports whether struct type t has an unexported field.
func hasUnexported(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

// marshal returns the struct v written by its type's MarshalBinary, else
// its MarshalText (on its value or its pointer), and whether one of them
// wrote it: a type whose state is unexported says by these what its value
// is, the same in every process (big.Int and inf.Dec by their text).
func marshal(v reflect.Value) ([]byte, bool) {
	pt := reflect.PointerTo(v.Type())
	if !pt.Implements(binaryMarshalerType) && !pt.Implements(textMarshalerType) {
		return nil, false
	}
	// The pointer's method set holds the value's methods too.
	var p reflect.Value
	if v.CanAddr() {
		p = v.Addr()
	} else {
		p = reflect.New(v.Type())
		p.Elem().Set(v)
	}
	if m, ok := p.Interface().(encoding.BinaryMarshaler); ok {
		if data, err := m.MarshalBinary(); err == nil {
			return append([]byte{'b'}, data...), true
		}
	}
	if m, ok := p.Interface().(encoding.TextMarshaler); ok {
		if data, err := m.MarshalText(); err == nil {
			return append([]byte{'t'}, data...), true
		}
	}
	return nil, false // both failed: written by its exported fields
}

// exportedFields returns the index sequences of struct type t's exported
// fields, in order: its own, and those promoted from its unexported
// embedded structs (those of an exported embedded struct are written with
// it), as reflect.VisibleFields finds them.
func exportedFields(t reflect.Type) [][]int {
	var out [][]int
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		own := true // not reached through an exported embedded struct
		for i := 1; i < len(f.Index); i++ {
			if t.FieldByIndex(f.Index[:i]).IsExported() {
				own = false
				break
			}
		}
		if own {
			out = append(out, f.Index)
		}
	}
	return out
}
