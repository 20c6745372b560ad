module github.com/cqlseq/cqlseq/internal/gocqlsource

go 1.24

// No replace: the package compiles against upstream gocql and against
// ScyllaDB's fork alike; a front end's go.mod picks which.
require (
	github.com/cqlseq/cqlseq v0.1.0
	github.com/gocql/gocql v1.7.0
	github.com/scylladb/go-reflectx v1.0.1
)

require (
	github.com/golang/snappy v0.0.3 // indirect
	github.com/hailocab/go-hostpool v0.0.0-20160125115350-e80d13ce29ed // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
)
