package faults_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/rs/zerolog"

	"github.com/cqlseq/cqlseq"
)

// proxied is a session whose every connection runs through an in-process
// toxiproxy in front of the node.
type proxied struct {
	s      *gocql.Session
	srv    *toxiproxy.ApiServer
	listen string // the proxy's address, the same after a restore
	dials  *dialLog
	seen   *translations
	obs    *attempts
	log    *driverLog

	mu sync.Mutex
	px *toxiproxy.Proxy
}

// newProxied starts a proxy in front of the package's node and connects
// through it. The driver learns the node's own address from system.local
// and would connect there directly, around the proxy: the address
// translator sends every address it learns to the proxy instead, and the
// dialer records where each connection went, so the test can prove it.
func newProxied(t *testing.T, n *node) *proxied {
	t.Helper()
	p := &proxied{
		srv:   toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		dials: &dialLog{},
		seen:  &translations{},
		obs:   &attempts{},
		log:   &driverLog{},
	}
	p.px = toxiproxy.NewProxy(p.srv, "cassandra", "127.0.0.1:0", n.addr())
	if err := p.px.Start(); err != nil {
		t.Fatalf("starting toxiproxy: %v", err)
	}
	p.listen = p.px.Listen
	t.Cleanup(func() { p.proxy().Stop() })
	host, port, err := net.SplitHostPort(p.listen)
	if err != nil {
		t.Fatal(err)
	}
	pxIP := net.ParseIP(host)
	pxPort, _ := strconv.Atoi(port)

	cfg := cluster(p.listen)
	cfg.Dialer = p.dials
	cfg.QueryObserver = p.obs
	cfg.Logger = p.log
	cfg.AddressTranslator = gocql.AddressTranslatorFunc(func(ip net.IP, port int) (net.IP, int) {
		p.seen.add(net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if ip.IsLoopback() {
			return pxIP, pxPort
		}
		return ip, port
	})
	p.s = connect(t, cfg)
	p.checkRoute(t)
	return p
}

func (p *proxied) proxy() *toxiproxy.Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.px
}

// cut closes the proxy's listener and every connection through it.
func (p *proxied) cut() { p.proxy().Stop() }

// restore opens the proxy again, on the same address, without the toxics
// of the old one: toxiproxy's removal of a toxic can block on links that
// are closing, a fresh proxy has none.
func (p *proxied) restore() error {
	px := toxiproxy.NewProxy(p.srv, "cassandra", p.listen, p.proxy().Upstream)
	if err := px.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.px = px
	p.mu.Unlock()
	return nil
}

// checkRoute fails the test unless every connection the driver opened went
// to the proxy.
func (p *proxied) checkRoute(t *testing.T) {
	t.Helper()
	dials := p.dials.all()
	if len(dials) == 0 {
		t.Fatal("the driver opened no connection through the dialer; the proxy proves nothing")
	}
	for _, d := range dials {
		if d != p.listen {
			t.Fatalf("the driver connected to %s, around the proxy on %s (all connections: %v)", d, p.listen, dials)
		}
	}
}

// blackhole drops every response from the node, until the proxy is cut: a
// request sent from then on stays in flight. (toxiproxy's latency toxic
// would do too, but its goroutine outlives a closed link.)
func (p *proxied) blackhole(t *testing.T) {
	t.Helper()
	js := `{"name": "blackhole", "type": "timeout", "stream": "downstream", "attributes": {"timeout": 0}}`
	if _, err := p.proxy().Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("adding the timeout toxic: %v", err)
	}
}

type dialLog struct {
	mu    sync.Mutex
	addrs []string
	d     net.Dialer
}

func (l *dialLog) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	l.addrs = append(l.addrs, addr)
	l.mu.Unlock()
	return l.d.DialContext(ctx, network, addr)
}

func (l *dialLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.addrs...)
}

type translations struct {
	mu   sync.Mutex
	seen map[string]int
}

func (s *translations) add(a string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[a]++
}

func (s *translations) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for a, n := range s.seen {
		b.WriteString(a + " x" + strconv.Itoa(n) + " ")
	}
	return strings.TrimSpace(b.String())
}

// Every connection between the driver and the node is cut mid-stream, while
// a page request is in flight, and the proxy stays down for a second. With
// WithRetry the stream resumes from the same paging state and delivers every
// row exactly once; without it, the stream ends with the driver's error
// after exactly the rows before the cut.
//
// No timing decides whether the cut hits a request: the proxy drops every
// response from row 2550 on, just before the prefetch of page 27 is sent
// (at half of page 26, WithPrefetch(0.5)), so that request is still waiting
// when the connections are cut half a second later.
func TestConnectionsCutMidStream(t *testing.T) {
	n := need(t)
	want := fixture(t)
	const (
		size   = 100
		holdAt = 2550 // row 50 of page 26, the last before the prefetch of page 27
		hold   = 500 * time.Millisecond
		outage = time.Second
	)
	for _, withRetry := range []bool{true, false} {
		name := "WithRetry"
		if !withRetry {
			name = "NoRetry"
		}
		t.Run(name, func(t *testing.T) {
			leakCheck(t)
			p := newProxied(t, n)
			var pi infos
			var resumed time.Time
			opts := []cqlseq.StreamOption{cqlseq.WithFetchSize(size), cqlseq.WithPrefetch(0.5), cqlseq.WithPageCallback(func(i cqlseq.PageInfo) {
				pi.add(i)
				if i.Number == 27 {
					resumed = time.Now()
				}
			})}
			if withRetry {
				opts = append(opts, cqlseq.WithRetry(cqlseq.Retry{Attempts: 20, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()

			type fault struct {
				cut time.Time
				err error
			}
			faulted := make(chan fault, 1)
			started := false
			dialsBefore := len(p.dials.all())
			t0 := time.Now()
			var got []Row
			var errs []error
			for r, err := range cqlseq.Stream[Row](ctx, p.s, cqlseq.CQL(selectAll), opts...) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				got = append(got, r)
				if len(got) == holdAt {
					p.blackhole(t)
					started = true
					go func() {
						time.Sleep(hold)
						f := fault{cut: time.Now()}
						p.cut()
						time.Sleep(outage)
						f.err = p.restore()
						faulted <- f
					}()
				}
			}
			t.Logf("stream took %v", time.Since(t0).Round(time.Millisecond))
			if !started {
				t.Fatalf("the stream ended after %d rows, before the fault: %v", len(got), errs)
			}
			f := <-faulted
			if f.err != nil {
				t.Fatalf("restarting the proxy: %v", f.err)
			}
			settle(t, p.log, f.cut)
			t.Logf("driver: %s; addresses translated to the proxy: %s", p.obs, p.seen)
			if p.obs.failures() == 0 {
				t.Errorf("no request failed on a connection: the cut hit no request in flight")
			}

			if !withRetry {
				if len(errs) != 1 {
					t.Fatalf("got %d errors %v, want one", len(errs), errs)
				}
				err := errs[0]
				t.Logf("error after %d rows: %v", len(got), err)
				if !retryable(err) || !strings.HasPrefix(err.Error(), "cqlseq: fetching page 27: ") {
					t.Errorf("got %v, want the driver's connection error for page 27", err)
				}
				// Page 26 was in hand when the connections went: all of it, and nothing after it.
				exactlyOnce(t, "connections cut, no retry", want[:26*size], got)
				return
			}
			if len(errs) != 0 {
				t.Fatalf("after %d rows: %v", len(got), errors.Join(errs...))
			}
			exactlyOnce(t, "connections cut", want, got)
			pages, total := pi.retried()
			t.Logf("retries per page %v (total %d); page 27 read %v after the cut", pages, total, resumed.Sub(f.cut).Round(time.Millisecond))
			if pages[27] == 0 {
				t.Fatalf("page 27 reports no retries (%v): the cut did not hit the stream, the test proves nothing", pages)
			}
			p.checkRoute(t)
			if d := len(p.dials.all()); d <= dialsBefore {
				t.Fatalf("the driver made no new connection after the cut (%d dials before, %d after)", dialsBefore, d)
			}
		})
	}
}
