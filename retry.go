package cqlseq

import (
	"math/rand/v2"
	"time"

	"github.com/cqlseq/cqlseq/internal/driver"
)

// Retry says how a stream resumes after a page request fails with an error
// that may pass (a timeout, an unavailable or overloaded node, a lost
// connection): it waits, then sends the request again from the same paging
// state, so no row is lost or repeated. Other errors (bad syntax, an invalid
// query, no permission) end the stream at once.
type Retry struct {
	// Attempts is how many times one page's request is sent again after a
	// wait before the stream gives up and yields the error. 0 turns
	// retrying off.
	Attempts int
	// MinBackoff is the wait before the first retry (100 ms if zero); each
	// further wait doubles, up to MaxBackoff (5 s if zero), with jitter.
	MinBackoff, MaxBackoff time.Duration
	// MaxElapsed bounds the time one page may spend failing: the stream
	// gives up once it has passed since the page's first failed request
	// (the last wait is cut short to end there). 0 sets no bound but
	// Attempts; a bound needs Attempts > 0.
	//
	// With a bound, a wait for a request that could not be sent at all
	// (the driver had no connection to a node that could serve it) spends
	// no attempt: the stream tries again within MaxElapsed. Without one,
	// such a wait counts as an attempt. Either way a scan first sends
	// such a request to the range's next replica, at once and for free.
	MaxElapsed time.Duration
}

// scanRetry is a scan's Retry unless WithRetry gives another. Its budget is
// time: when a node dies, the other replicas, as coordinators, go on
// waiting for it until Cassandra's failure detector convicts it
// (phi_convict_threshold), each such request failing only at the
// coordinator's range_request_timeout (10 s by default) or the driver's
// timeout (11 s): in TestClusterScanNodeKilledAtDefaults, a range's
// requests at the two other replicas timed out 11 and 23 s after the kill,
// and the next succeeded at 24 s. Two minutes outlast that several times
// over; the attempts, counted on requests that reached a node, bound a
// range that keeps failing fast.
var scanRetry = Retry{Attempts: 30, MinBackoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxElapsed: 2 * time.Minute}

// pageFailures is the state of one page's failed requests.
type pageFailures struct {
	first    time.Time // the page's first failed request ended
	waits    int       // backoffs waited so far
	requests failedRequests
}

// retry reports whether a failed request may be sent again: the failure
// may pass, and either the request cannot have run, or running it twice is
// harmless (config.Idempotent).
func (p *pager) retry(class driver.Retryability) bool {
	switch class {
	case driver.NotSent:
		return true
	case driver.MaybeSent:
		return p.cfg.Idempotent
	}
	return false
}

// budget returns the wait before the page's request is sent again, and
// whether the budget allows it: attempts left (a wait for a request that
// was not sent spends none when MaxElapsed is set), and, with MaxElapsed,
// time left, the wait cut short to end with it.
func (p *pager) budget(sent bool) (time.Duration, bool) {
	r := p.cfg.Retry
	if (sent || r.MaxElapsed == 0) && p.retries >= r.Attempts {
		return 0, false
	}
	d := p.backoff()
	if r.MaxElapsed > 0 {
		left := r.MaxElapsed - time.Since(p.failing.first)
		if left <= 0 {
			return 0, false
		}
		d = min(d, left)
	}
	return d, true
}

// backoff returns the wait before the page's next request: MinBackoff
// doubled per wait so far, capped at MaxBackoff, minus up to a fifth at
// random so that many streams do not retry in step.
func (p *pager) backoff() time.Duration {
	d := p.cfg.Retry.MinBackoff
	for range p.failing.waits {
		if d >= p.cfg.Retry.MaxBackoff/2 {
			d = p.cfg.Retry.MaxBackoff
			break
		}
		d *= 2
	}
	d = min(d, p.cfg.Retry.MaxBackoff)
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
