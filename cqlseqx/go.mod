module github.com/cqlseq/cqlseq/cqlseqx

go 1.24

// gocqlx compiles only against ScyllaDB's fork of gocql; a program that
// uses cqlseqx needs this line too, as every gocqlx program does.
replace github.com/gocql/gocql => github.com/scylladb/gocql v1.15.3

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2
	github.com/cqlseq/cqlseq v0.1.0
	github.com/cqlseq/cqlseq/internal/gocqlsource v0.1.0
	github.com/gocql/gocql v1.7.0
	github.com/google/go-cmp v0.7.0
	github.com/scylladb/go-reflectx v1.0.1
	github.com/scylladb/gocqlx/v3 v3.0.4
	go.uber.org/goleak v1.3.0
	gopkg.in/inf.v0 v0.9.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
)
