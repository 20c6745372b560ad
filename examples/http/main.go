// Command http serves a Cassandra table as a JSON API, page by page, with a
// cursor in each response that leads to the next page, and has a client that
// follows the cursors to the end.
//
//	cd examples && go run ./http                 # serve on a free port, walk the table with the client, exit
//	cd examples && go run ./http -serve -addr 127.0.0.1:8080
//	curl 'http://127.0.0.1:8080/events?limit=3'
//	curl 'http://127.0.0.1:8080/events?limit=3&cursor=<next from the last response>'
//
// GET /events?limit=N&cursor=C answers
//
//	{"rows": [{"bucket": 7, "id": 0, "kind": "click", "at": "...", "amount": 0, "note": null}, ...],
//	 "next": "BAAAAAMGAAQAAAPn8H__sd_wf__8Fw"}
//
// with at most N rows (100 by default, 1000 at most) and, unless the table
// has no more rows, the cursor of the next page in "next". Each request is
// one cqlseq.Pages with WithFetchSize(N), WithMaxPages(1) and WithCursor(C):
// one request to Cassandra, one page in memory, and no state on the server
// between requests, so any instance that has the same -cursor-key can serve
// the next page. A client may ask for another limit from one page to the
// next: the cursor resumes at any fetch size, the statement having no LIMIT
// (one with a LIMIT would have its cursors refused at another, with a 400
// as below). The cursors are cqlseq's, signed with WithCursorKey since
// clients hand them back: one that is not base64url, truncated, altered,
// signed with another key or made for another query is refused before
// Cassandra sees it (cqlseq.ErrInvalidCursor), with a 400 that says why. The
// last page can come with a "next" that leads to an empty page: Cassandra
// only knows that the rows ended when it looks for the next one.
//
// Without -table it serves cqlseq_examples.events, which it creates and
// fills on first use. It connects to -hosts, else to CQLSEQ_HOSTS, else to
// the local node that testing/cassandra/cassandra.sh starts.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Event is a row of the table, as the API shows it.
type Event struct {
	Bucket int       `json:"bucket"`
	ID     int       `json:"id"`
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
	Amount float64   `json:"amount"`
	Note   *string   `json:"note"` // null for NULL
}

// Response is the body of a 200 answer to GET /events.
type Response struct {
	Rows []Event `json:"rows"`
	Next string  `json:"next,omitempty"` // the cursor of the next page; absent after the last
}

// ErrorResponse is the body of any other answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Handler serves GET /events from table, with cursors signed with key.
func Handler(s *gocql.Session, table string, key []byte) http.Handler {
	stmt := cqlseq.CQL("SELECT " + sample.Columns + " FROM " + table)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := defaultLimit
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				reply(w, http.StatusBadRequest, ErrorResponse{fmt.Sprintf("limit %q: want a whole number from 1 to %d", v, maxLimit)})
				return
			}
			limit = n
		}
		resp := Response{Rows: []Event{}}
		for page, err := range cqlseq.Pages[Event](r.Context(), s, stmt, cqlseq.WithFetchSize(limit),
			cqlseq.WithMaxPages(1), cqlseq.WithCursor(q.Get("cursor")), cqlseq.WithCursorKey(key)) {
			if err != nil {
				switch {
				case errors.Is(err, cqlseq.ErrInvalidCursor): // checked before any query
					reply(w, http.StatusBadRequest, ErrorResponse{fmt.Sprintf("cursor %q: %v", q.Get("cursor"), err)})
				case r.Context().Err() != nil: // the client went away
				default:
					log.Printf("GET %s: %v", r.URL, err)
					reply(w, http.StatusServiceUnavailable, ErrorResponse{"reading the table failed; try again"})
				}
				return
			}
			resp.Rows, resp.Next = page.Rows, page.Cursor
		}
		reply(w, http.StatusOK, resp)
	})
	return mux
}

func reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// Walk gets every page of the listing at base (the URL of /events), following
// the cursors, and calls each with every row; it returns the number of pages.
func Walk(ctx context.Context, client *http.Client, base string, limit int, each func(Event)) (pages int, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	cursor := ""
	for {
		q := u.Query()
		q.Set("limit", strconv.Itoa(limit))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u.RawQuery = q.Encode()
		resp, err := get(ctx, client, u.String())
		if err != nil {
			return pages, fmt.Errorf("page %d: %w", pages+1, err)
		}
		pages++
		for _, e := range resp.Rows {
			each(e)
		}
		if resp.Next == "" {
			return pages, nil
		}
		cursor = resp.Next
	}
}

func get(ctx context.Context, client *http.Client, u string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e ErrorResponse
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = string(body)
		}
		return nil, fmt.Errorf("%s: %s", res.Status, e.Error)
	}
	var r Response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding the response: %w", err)
	}
	return &r, nil
}

// Config says what to serve and how.
type Config struct {
	Table string
	Addr  string // where to listen
	Serve bool   // serve until ctx is done; else walk the listing once with the client and stop
	Limit int    // rows per page the client asks for
	Key   []byte // signs the cursors
}

func main() {
	var cfg Config
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Table, "table", sample.DefaultTable, "table to serve, keyspace.table; the default one is created and filled on first use")
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	flag.BoolVar(&cfg.Serve, "serve", false, "serve until interrupted, instead of walking the listing once with the client")
	flag.IntVar(&cfg.Limit, "limit", 500, "rows per page the client asks for")
	key := flag.String("cursor-key", os.Getenv("CURSOR_KEY"), "secret that signs the cursors; give every instance the same (default: $CURSOR_KEY, else a random one)")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default table with on first use (buckets of 1000)")
	flag.Parse()

	if cfg.Key = []byte(*key); len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		rand.Read(cfg.Key) // cursors then work with this process only
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := func() error {
		s, err := sample.Connect(ctx, *hosts)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := sample.Ensure(ctx, s, os.Stderr, cfg.Table, max(*seed/1000, 1), 1000); err != nil {
			return err
		}
		_, err = run(ctx, s, cfg, os.Stdout)
		return err
	}()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "http:", err)
		os.Exit(1)
	}
}

// run serves cfg.Table on cfg.Addr. With cfg.Serve it serves until ctx is
// done; otherwise it walks the whole listing with the client, reports to out
// and returns the number of rows the client got.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) (int, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: Handler(s, cfg.Table, cfg.Key), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	base := "http://" + ln.Addr().String() + "/events"
	fmt.Fprintf(out, "serving %s at %s\n", cfg.Table, base)

	if cfg.Serve {
		fmt.Fprintf(out, "try: curl '%s?limit=3', then add &cursor=<next>\n", base)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case err := <-served:
			served <- err
			return 0, err
		}
	}

	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	start := time.Now()
	rows := 0
	pages, err := Walk(ctx, client, base, cfg.Limit, func(Event) { rows++ })
	if err != nil {
		return rows, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "the client followed the cursors through %d pages: %d rows in %v (%.0f rows/s)\n",
		pages, rows, elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds())
	return rows, nil
}
