package cqlseq

import (
	"math/rand/v2"
	"time"

	"github.com/cqlseq/cqlseq/driver"
)

// Retry says how a stream resumes after a page request fails with an error
// that may pass (a timeout, an unavailable or overloaded node, a lost
// connection): it waits, then sends the request again from the same paging
// state, so no row is lost or repeated. Other errors (bad syntax, an invalid
// query, no permission) end the stream at once.
type Retry struct {
	// Attempts is how many times one page's request is sent again before
	// the stream gives up and yields the error. 0 turns retrying off.
	Attempts int
	// MinBackoff is the wait before the first retry (100 ms if zero); each
	// further wait doubles, up to MaxBackoff (5 s if zero), with jitter.
	MinBackoff, MaxBackoff time.Duration
}

// retry reports whether a failed request may be sent again: the failure
// may pass, and either the request cannot have run, or running it twice is
// harmless (config.Idempotent).
func (p *pager) retry(err error) bool {
	switch p.src.Retryable(err) {
	case driver.NotSent:
		return true
	case driver.MaybeSent:
		return p.cfg.Idempotent
	}
	return false
}

// backoff returns the wait before retry number p.retries+1: MinBackoff
// doubled per retry, capped at MaxBackoff, minus up to a fifth at random so
// that many streams do not retry in step.
func (p *pager) backoff() time.Duration {
	d := p.cfg.Retry.MinBackoff << min(p.retries, 30)
	if d <= 0 || d > p.cfg.Retry.MaxBackoff {
		d = p.cfg.Retry.MaxBackoff
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func (p *pager) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctxErr()
	}
}
