package cqlseqx_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cqlseq/cqlseq/cqlseqx"
)

// A row type that points to a gocqlx UDT type is refused before any query:
// gocqlx's Select allocates one per row and fills it by gocqlx's rules, a
// stream decodes into one fixed value, and the driver's rules would leave
// it empty.
func TestPointerToUDTRowIsRefused(t *testing.T) {
	s := session(t)
	q := s.Query("SELECT name FROM no_such_keyspace.no_such_table", nil)
	for name, err := range map[string]error{
		"Stream": first(cqlseqx.Stream[*FullNameUDT](context.Background(), q)),
		"Pages":  first(cqlseqx.Pages[*FullNameUDT](context.Background(), q)),
	} {
		var me *cqlseqx.MappingError
		if !errors.As(err, &me) || !errors.Is(err, cqlseqx.ErrMapping) || !strings.Contains(err.Error(), "embeds gocqlx.UDT") {
			t.Errorf("%s: %v; want a MappingError before any query (the table does not exist)", name, err)
		}
	}
}

func first[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		return err
	}
	return nil
}
