package bench

import (
	"context"

	"github.com/cqlseq/cqlseq/cqlseqx"
)

// frontEnds returns the contenders of cqlseq's other front ends: cqlseqx,
// cqlseq over gocqlx queries.
func frontEnds[R any]() []Contender[R] {
	return []Contender[R]{{"cqlseqx", readCqlseqx[R]}}
}

// readCqlseqx is cqlseqx.Stream over a gocqlx query on gocqlx's session.
func readCqlseqx[R any](ctx context.Context, env *Env, set *Set[R], run Run, pages *Pages, sink func(R)) error {
	q := env.X.Query(set.Select(run.Limit), nil)
	q.Observer(pagesV1{pages})
	for r, err := range cqlseqx.Stream[R](ctx, q, options(run)...) {
		if err != nil {
			return err
		}
		sink(r)
	}
	return nil
}
