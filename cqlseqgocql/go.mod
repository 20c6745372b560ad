module github.com/cqlseq/cqlseq/cqlseqgocql

go 1.24

// No replace: a program that uses cqlseqgocql builds it against the gocql
// its own go.mod picks, upstream or ScyllaDB's fork (through a replace of
// its own). In this repository's workspace that is the fork, which
// cqlseqx's go.mod replaces gocql with; go.upstream.work is a workspace
// for a run on upstream gocql.
require (
	github.com/cqlseq/cqlseq v0.1.0
	github.com/cqlseq/cqlseq/internal/gocqlsource v0.1.0
	github.com/gocql/gocql v1.7.0
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2 // indirect
	github.com/golang/snappy v0.0.3 // indirect
	github.com/hailocab/go-hostpool v0.0.0-20160125115350-e80d13ce29ed // indirect
	github.com/rogpeppe/go-internal v1.14.1 // indirect
	github.com/scylladb/go-reflectx v1.0.1 // indirect
	golang.org/x/time v0.12.0 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
)
