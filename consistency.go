package cqlseq

import "strconv"

// Consistency is a consistency level, for [WithConsistency]: the same
// option serves every driver, whose own constants have the same values.
type Consistency uint16

// The consistency levels, numbered as the protocol numbers them.
const (
	Any         Consistency = 0x00
	One         Consistency = 0x01
	Two         Consistency = 0x02
	Three       Consistency = 0x03
	Quorum      Consistency = 0x04
	All         Consistency = 0x05
	LocalQuorum Consistency = 0x06
	EachQuorum  Consistency = 0x07
	LocalOne    Consistency = 0x0A
)

var consistencyNames = map[Consistency]string{
	Any: "ANY", One: "ONE", Two: "TWO", Three: "THREE", Quorum: "QUORUM", All: "ALL",
	LocalQuorum: "LOCAL_QUORUM", EachQuorum: "EACH_QUORUM", LocalOne: "LOCAL_ONE",
}

// String returns the level's name as CQL writes it ("LOCAL_QUORUM").
func (c Consistency) String() string {
	if s, ok := consistencyNames[c]; ok {
		return s
	}
	return "Consistency(" + strconv.Itoa(int(c)) + ")"
}
