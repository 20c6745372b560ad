package cqlseq

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/internal/cursor"
	"github.com/cqlseq/cqlseq/internal/driver"
)

func TestResolve(t *testing.T) {
	cfg, err := resolveStream(nil, driver.Query{})
	if err != nil || cfg.Prefetch != DefaultPrefetch || cfg.FetchSize != DefaultFetchSize || cfg.MaxPages != 0 {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
}

func TestResolveRejects(t *testing.T) {
	q := driver.Query{CQL: "SELECT 1"}
	fp := cursor.NewFingerprint("", "SELECT 1", nil)
	tests := []struct {
		name string
		opts []StreamOption
		msg  string
	}{
		{"negative retries", []StreamOption{WithRetry(Retry{Attempts: -1})}, "retry attempts, backoffs and MaxElapsed must be >= 0"},
		{"negative MaxElapsed", []StreamOption{WithRetry(Retry{Attempts: 1, MaxElapsed: -time.Second})}, "MaxElapsed must be >= 0"},
		{"min above max", []StreamOption{WithRetry(Retry{Attempts: 1, MinBackoff: time.Second, MaxBackoff: time.Millisecond})}, "MinBackoff 1s is above MaxBackoff 1ms"},
		{"cursor and state", []StreamOption{WithCursor(cursor.Encode(fp, 0, []byte("x"), nil)), WithPageState([]byte("x"))}, "both a cursor and a paging state"},
	}
	for _, tt := range tests {
		_, err := resolveStream(tt.opts, q)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want ErrInvalidArgument with %q", tt.name, err, tt.msg)
		}
	}
}
