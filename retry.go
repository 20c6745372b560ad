package cqlseq

import (
	"errors"
	"math/rand/v2"
	"strings"
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

// fetch returns the page that starts at state: the prefetched one if a
// prefetch is pending, else a new request. A page without rows is the end,
// a failure, or a page the server left empty with more to come; only its
// Close tells which. A failure that may pass is sent again from the same
// state, as Retry allows: at once to another node when it was not sent
// and a scan's range has another to try, else after a backoff.
func (p *pager) fetch(state []byte) (driver.Iter, error) {
	var it driver.Iter
	var tr pageTrace
	var r driver.Request
	if p.pending != nil {
		f := <-p.pending
		p.pending = nil
		if f.panic != nil {
			panic(f.panic) // as if the request had run on this goroutine
		}
		if f.it == nil {
			return nil, errors.New("cqlseq: the prefetch's goroutine exited in the middle of a request (runtime.Goexit)")
		}
		it, p.latency, tr, r = f.it, f.latency, f.trace, f.req
	} else {
		r = p.request(state, 0)
		it, p.latency, tr = p.send(r, p.number+1)
	}
	p.retries = 0
	p.failing = pageFailures{}
	for {
		if it.NumRows() > 0 {
			p.pageEnd(tr, it, p.latency, it.Warnings(), nil)
			p.pageDone()
			return it, nil
		}
		// Closing drops the page's warnings: keep those of a page without
		// rows for the next page, or the callback.
		w := it.Warnings()
		err := it.Close()
		p.pageEnd(tr, it, p.latency, w, err)
		if err == nil {
			p.warned = append(p.warned, w...)
			p.pageDone()
			return it, nil
		}
		class := p.src.Retryable(err)
		sent := class != driver.NotSent
		now := time.Now()
		if p.failing.first.IsZero() {
			p.failing.first = now
		}
		host := p.src.Host(it)
		if host == "" && p.route != nil {
			host = p.route.live.addr(r.HostID)
		}
		p.failing.requests.add(FailedRequest{HostID: r.HostID, Host: host, Sent: sent, Time: now, Err: err})
		if p.ctx.Err() != nil {
			return nil, p.ctxErrAfter(err)
		}
		if !p.retry(class) {
			return nil, p.pageError(err)
		}
		// A request that was not sent goes at once to a scan's next target,
		// if it has one: that is routing, and costs nothing.
		if p.route == nil || !p.route.failed(r.HostID, sent) {
			d, ok := p.budget(sent)
			if !ok {
				return nil, p.pageError(err)
			}
			if p.sleep(d) != nil {
				return nil, p.ctxErrAfter(err)
			}
			p.failing.waits++
			if sent || p.cfg.Retry.MaxElapsed == 0 {
				p.retries++
			}
		}
		r = p.request(state, p.failing.requests.n)
		it, p.latency, tr = p.send(r, p.number+1)
	}
}

// pageError is the error of the current page, whose last request failed
// with err.
func (p *pager) pageError(err error) error {
	return &PageError{Page: p.number + 1, Retries: p.retries, Failed: p.failing.requests.n, Requests: p.failing.requests.kept, Err: err}
}

// ctxErrAfter is the error of a stream whose context ended while its page
// was failing, the last request with err: the context's error, which it
// matches, with the page's failed requests (a [*PageError]) after it.
func (p *pager) ctxErrAfter(err error) error {
	cerr := p.ctxErr()
	pe := p.pageError(err)
	return &wrapped{cerr.Error() + ", while " + strings.TrimPrefix(pe.Error(), "cqlseq: "), []error{cerr, pe}}
}

// request returns the request for the page that starts at state, attempt
// its number among the page's requests, routed by a scan's range.
func (p *pager) request(state []byte, attempt int) driver.Request {
	r := p.cfg.request(state)
	r.Attempt = attempt
	if p.route != nil {
		r.HostID = p.route.pick()
	}
	return r
}

// pageDone notes that a page's request succeeded.
func (p *pager) pageDone() {
	if p.route != nil {
		p.route.pageDone()
	}
}

// Idempotent reports whether running stmt twice is harmless: a SELECT
// always is; another statement only when the caller marked it idempotent
// and it has no IF clause (a lightweight transaction's outcome depends on
// whether it already ran).
func idempotent(stmt string, marked bool) bool {
	words := cqlWords(stmt)
	first, ok := words()
	if !ok {
		return false
	}
	if strings.EqualFold(first, "SELECT") {
		return true
	}
	if !marked {
		return false
	}
	for w, ok := words(); ok; w, ok = words() {
		if strings.EqualFold(w, "IF") {
			return false
		}
	}
	return true
}

// cqlWords returns a function that yields the words of stmt in order:
// runs of ASCII letters, outside comments (--, //, /* */), string literals
// ('...' and $$...$$) and quoted identifiers ("..."). Digits, underscores
// and punctuation separate words, so that a keyword is found however it is
// written next to a number ("k = 1IF v = 0" is an IF clause to Cassandra):
// an identifier such as my_if yields "if" too, which can only make a
// statement look conditional, and so be retried less, never more.
func cqlWords(s string) func() (string, bool) {
	i := 0
	return func() (string, bool) {
		for i < len(s) {
			c := s[i]
			switch {
			case c == '-' && strings.HasPrefix(s[i:], "--"), c == '/' && strings.HasPrefix(s[i:], "//"):
				// A line comment ends at a line feed or a carriage return.
				if j := strings.IndexAny(s[i:], "\n\r"); j >= 0 {
					i += j + 1
				} else {
					i = len(s)
				}
			case c == '/' && strings.HasPrefix(s[i:], "/*"):
				if j := strings.Index(s[i+2:], "*/"); j >= 0 {
					i += 2 + j + 2
				} else {
					i = len(s)
				}
			case c == '$' && strings.HasPrefix(s[i:], "$$"):
				if j := strings.Index(s[i+2:], "$$"); j >= 0 {
					i += 2 + j + 2
				} else {
					i = len(s)
				}
			case c == '\'' || c == '"':
				// A doubled quote inside is an escaped quote: skipping both
				// halves as two literals gives the same result.
				if j := strings.IndexByte(s[i+1:], c); j >= 0 {
					i += 1 + j + 1
				} else {
					i = len(s)
				}
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
				j := i
				for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
					j++
				}
				w := s[i:j]
				i = j
				return w, true
			default:
				i++
			}
		}
		return "", false
	}
}
