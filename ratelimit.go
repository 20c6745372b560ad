package cqlseq

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// throttle waits until n more rows are within WithRateLimit's rate, if
// one is set: in bursts of at most the limiter's size.
func (p *pager) throttle(n int) error {
	l := p.limiter
	if l == nil {
		return nil
	}
	for n > 0 {
		k := min(n, l.Burst())
		if l.WaitN(p.ctx, k) != nil {
			// The context is done, or its deadline comes before the rows
			// may: wait for it either way.
			<-p.ctx.Done()
			return p.ctxErr()
		}
		n -= k
	}
	return nil
}

// newRowLimiter returns a limiter of perSecond rows a second, with room
// for a second's rows at once, that starts empty: a sequence's first
// second is held to the rate too.
func newRowLimiter(perSecond float64) *rate.Limiter {
	burst := max(1, int(math.Min(math.Ceil(perSecond), math.MaxInt32)))
	l := rate.NewLimiter(rate.Limit(perSecond), burst)
	l.AllowN(time.Now(), burst)
	return l
}
