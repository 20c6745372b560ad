package driver

// The engine's entry points for a front end, set by package cqlseq when it
// is initialised (a front end imports package cqlseq, so they are set
// before it runs). Package cqlseq cannot be imported from here, and a
// generic function cannot be a variable: each returns a value of one of
// package cqlseq's own types, as an any the front end converts.
var (
	// NewStatement returns a cqlseq.Statement that runs src, for
	// cqlseq.Stream and cqlseq.Pages, whose session argument is then nil.
	// src.Query is called once per call of Stream or Pages.
	NewStatement func(src Source) any
	// ScanOn returns a cqlseq.ScanOption that makes cqlseq.Scan and
	// cqlseq.ScanPages read the table through c, with a nil session.
	ScanOn func(c Cluster) any
)
