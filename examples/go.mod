module github.com/cqlseq/cqlseq/examples

go 1.24

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2
	github.com/cqlseq/cqlseq v0.0.0
)

require (
	github.com/scylladb/go-reflectx v1.0.1 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
)

replace github.com/cqlseq/cqlseq => ../
