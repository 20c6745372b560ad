package cqlseq

// Unexported parts of the v2 adapter, for the tests of package cqlseq_test.
var (
	V2Codec  = codec
	V2Sample = sample
)
