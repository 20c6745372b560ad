module github.com/cqlseq/cqlseq

go 1.24

require (
	github.com/apache/cassandra-gocql-driver/v2 v2.1.2
	github.com/google/go-cmp v0.7.0
	github.com/scylladb/go-reflectx v1.0.1
	go.uber.org/goleak v1.3.0
	golang.org/x/time v0.12.0
	gopkg.in/inf.v0 v0.9.1
)
