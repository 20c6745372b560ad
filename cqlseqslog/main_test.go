package cqlseqslog_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	cqlseqtest.SkipExamplesIfShort() // the Example runs on the node
	goleak.VerifyTestMain(cqlseqtest.Main(m))
}
