// Command export writes a Cassandra table to CSV, to Parquet or to both, a
// page at a time, with a progress bar; stopped and run again, it goes on
// from where it stopped without writing a row twice.
//
//	cd examples && go run ./export -out /tmp/events.csv
//	cd examples && go run ./export -table ks.events -out /tmp/events.parquet
//	cd examples && go run ./export -out /tmp/events -format both -fetch-size 5000
//	cd examples && go run ./export -out /tmp/events.csv -parallel 8
//
// It reads the table with cqlseq.Pages, one query that walks the table in
// token order, and writes each page before it asks for the next one, so it
// holds one page in memory (two while the next one is prefetched) however
// large the table is; the Parquet writer adds the footer metadata of the row
// groups of the part file it is writing. With -parallel N it reads the table
// by token range instead (see Parallel below). Without -table it reads
// cqlseq_examples.events, which it creates and fills on first use; a table
// of yours needs that table's columns (bucket, id, kind, at, amount, note),
// and may have others, which are not read. It connects to -hosts, else to
// CQLSEQ_HOSTS, else to the local node that testing/cassandra/cassandra.sh
// starts. -rate holds it to a number of rows per second, for a cluster that
// serves other work.
//
// # Files
//
// For -out /tmp/events.csv (or /tmp/events.parquet, or /tmp/events with
// -format both) the export writes, beside each other:
//
//	/tmp/events.csv                the CSV, with a header line
//	/tmp/events.part-0001.parquet  Parquet part files, one row group per page
//	/tmp/events.cursor             the checkpoint: where to resume (JSON)
//
// # Parallel
//
// With -parallel N (1 to 1024) the export reads the table with
// cqlseq.ScanPages: the token ring is cut into ranges, at least one per
// token range of the ring and at least 4N, and N of them are read at once,
// each by its own paged query sent to a replica of the range. The pages are
// written one at a time, as they arrive: pages of different ranges
// interleave, so the rows are in no particular order (those of one range
// are in token order). It holds up to 2N pages in memory: each range being
// read has the page it reads and, while the export writes another, the page
// it waits to hand over.
//
// Scanning is faster, most on a cluster, where every node works; it stays
// opt-in for what the single query gives: the rows in token order (two
// exports of the same data are the same file, and diff shows what changed);
// any table, where a scan needs the Murmur3 partitioner (the default) and a
// keyspace with SimpleStrategy or NetworkTopologyStrategy, not a system
// keyspace; a checkpoint of a few hundred bytes, where a scan's grows with
// the number of ranges (see below); and the load of one query on the
// cluster, where -parallel N makes N: how hard to press a cluster that
// serves users is the operator's choice. A checkpoint says which way it was
// made: an export resumes the same way (a scan at any -parallel), or starts
// over with -restart.
//
// # Resuming
//
// The checkpoint is written after the data it covers is on disk: the data
// is written and fsynced, then the checkpoint is written to a temporary file,
// fsynced and renamed over the old one, so a crash leaves either the old or
// the new checkpoint, never half of one. It records where to resume (a
// cqlseq cursor, Page.Cursor, which is tied to the query: it cannot resume
// another one), the rows exported, the length of the CSV file and the number
// of finished Parquet parts. A run that finds a checkpoint cuts the CSV back
// to that length and deletes Parquet parts it does not count (both hold rows
// the checkpoint does not cover, written after it by a run that crashed),
// then resumes the query from the cursor: every row ends up in the output
// exactly once. Ctrl-C (or SIGTERM) stops at the end of the page in hand:
// that page is written, the Parquet part finished, the checkpoint saved, and
// the export exits with status 130. -max-pages stops after that many pages.
//
// With -parallel the cursor is the scan's checkpoint, the Page.Cursor of
// the last page written: every range the ring was cut into, each marked
// done, not started, or read up to the paging state of its last page
// written. cqlseq resumes it (WithCursor) by reading exactly the pages not
// yet yielded, whatever the parallelism of either run, so the protocol is
// the same: write the page, fsync, replace the checkpoint. It holds the
// ranges themselves, not the ring, so a range is read once even if nodes
// joined in between. It is larger than a cursor: it holds each range being
// read with its paging state (some 30 characters for an int key), and the
// runs of ranges done or not started between them, one entry a run, so it
// grows with -parallel rather than with the ring. Measured on one node
// (fetch size 20, stopped after 50 and after 2,000 pages), the checkpoint
// file is about 0.5 KB at -parallel 4 and 9-12 KB at -parallel 1024 (4,096
// ranges). With CSV it is rewritten after every page, so at a high
// -parallel give a -fetch-size that makes a page much larger than the
// checkpoint.
//
// A Parquet file cannot be appended to once it is closed (its footer, which
// indexes it, comes last), and one without a footer cannot be read. So each
// run writes new part files: rows go to a file named *.inprogress, one row
// group per page, and every -part-rows rows, at the end, and when the run is
// stopped, the file gets its footer, is fsynced and renamed to its final
// name, and only then does the checkpoint move past its rows. With Parquet,
// the checkpoint therefore advances when a part is finished, not after every
// page; a run that crashes (kill -9, power loss) loses the rows of its
// unfinished part, which the next run writes again. Read the parts as one
// data set: e.g. DuckDB's read_parquet('/tmp/events.part-*.parquet').
//
// What is guaranteed, in either mode: whenever a run ends (done, Ctrl-C,
// -max-pages, an error, kill -9, or a power loss on a file system that keeps
// what was fsynced), the checkpoint describes a prefix of the CSV file and a
// number of Parquet parts that hold each row they count exactly once, and the
// next run drops whatever lies beyond it. When the export is done, the CSV
// and the parts each hold every row of the table once, as paged reads see a
// table: a row written or deleted while the export runs may or may not be in
// it.
//
// # Progress
//
// Without -parallel the bar shows rows, rows/s, and, when the size of the
// table is known, the percentage done and the time left. Cassandra does not
// keep a row count, so the total is an estimate (-estimate):
//
//   - size: system.size_estimates, which each node refreshes every few
//     minutes from its SSTables, gives the number of partitions in the node's
//     ranges (scaled by the number of nodes); the export learns the rows per
//     partition from the rows it reads, and refines the total as it goes.
//     Cheap at any size, but blind to rows still in memtables.
//   - count: SELECT COUNT(*), exact, but it reads the whole table once more,
//     so it gets -count-timeout to finish.
//   - auto (the default): size when the node has an estimate for the table,
//     else count (a table without an estimate is usually small, all in
//     memtables, and quick to count); if that times out the bar shows rows
//     and rows/s without a total.
//
// With -parallel no estimate is needed: the bar shows the share of the ring
// read (PageInfo.Scan.Fraction: the ranges read to their end, weighted by
// their width, those of earlier runs included), the ranges done, rows,
// rows/s and the time left at this run's pace (PageInfo.Scan.ETA), known
// once a range is done. It moves when a range is finished, in steps of
// about 1/(4N) of the ring.
//
// Cassandra's text, numbers and timestamps go to CSV as Go formats them
// (timestamps in RFC 3339, UTC); a NULL is an empty field.
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/schollz/progressbar/v3"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
)

// Event is one row of the table. cqlseq maps columns to fields by name
// (bucket, id, kind, at, amount, note); the parquet tags name the Parquet
// columns and their types.
type Event struct {
	Bucket int       `parquet:"bucket"`
	ID     int       `parquet:"id"`
	Kind   string    `parquet:"kind,dict"`
	At     time.Time `parquet:"at,timestamp(millisecond)"`
	Amount float64   `parquet:"amount"`
	Note   *string   `parquet:"note,optional"` // nil for NULL
}

var csvHeader = []string{"bucket", "id", "kind", "at", "amount", "note"}

func (e *Event) csvRecord(rec []string) []string {
	note := ""
	if e.Note != nil {
		note = *e.Note
	}
	return append(rec[:0], strconv.Itoa(e.Bucket), strconv.Itoa(e.ID), e.Kind,
		e.At.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(e.Amount, 'g', -1, 64), note)
}

// Config says what to export and where.
type Config struct {
	Table        string        // keyspace.table
	Out          string        // output path; its extension (.csv, .parquet) picks the format unless Format does
	Format       string        // "csv", "parquet" or "both"; "" for Out's extension
	FetchSize    int           // rows per page, and per Parquet row group
	Parallel     int           // read with cqlseq.ScanPages, this many token ranges at once; 0: cqlseq.Pages, one query
	MaxPages     int           // stop after this many pages (0: no limit); run again to resume
	Rate         float64       // read at most this many rows per second (0: no limit)
	PartRows     int64         // start a new Parquet part after this many rows
	Estimate     string        // how to estimate the table's size: auto, size, count, none
	CountTimeout time.Duration // how long SELECT COUNT(*) may take
	Restart      bool          // ignore a checkpoint and start over, replacing the output
	Progress     io.Writer     // where the progress bar goes; nil for none

	afterPage func(page int) // tests: called after each page is written
}

// Result tells what a run did.
type Result struct {
	Rows  int64    // rows written by this run
	Total int64    // rows written by all runs so far
	Pages int      // pages read by this run
	Done  bool     // the whole table is exported
	Files []string // the output files
}

func main() {
	cfg := Config{Progress: os.Stderr}
	hosts := flag.String("hosts", "", "Cassandra hosts, host[:port] separated by commas (default: $CQLSEQ_HOSTS, else 127.0.0.1:9042)")
	flag.StringVar(&cfg.Table, "table", sample.DefaultTable, "table to export, keyspace.table; the default one is created and filled on first use")
	flag.StringVar(&cfg.Out, "out", "events.csv", "output file: name.csv, name.parquet, or name with -format both")
	flag.StringVar(&cfg.Format, "format", "", "csv, parquet or both (default: from the extension of -out)")
	flag.IntVar(&cfg.FetchSize, "fetch-size", 1000, "rows per page (and per Parquet row group)")
	flag.IntVar(&cfg.Parallel, "parallel", 0, "read the table by token range with cqlseq.ScanPages, this many ranges at once, 1 to 1024 (0: one query in token order, cqlseq.Pages)")
	flag.IntVar(&cfg.MaxPages, "max-pages", 0, "stop after this many pages; run again to resume (0: no limit)")
	flag.Float64Var(&cfg.Rate, "rate", 0, "read at most this many rows per second, to spare a cluster that serves other work (0: no limit)")
	flag.Int64Var(&cfg.PartRows, "part-rows", 500_000, "rows per Parquet part file")
	flag.StringVar(&cfg.Estimate, "estimate", "auto", "how to estimate the table's size for the progress bar: auto, size, count or none")
	flag.DurationVar(&cfg.CountTimeout, "count-timeout", 10*time.Second, "time SELECT COUNT(*) may take to estimate the table's size")
	flag.BoolVar(&cfg.Restart, "restart", false, "ignore the checkpoint and export again from the start, replacing the output")
	seed := flag.Int("seed-rows", 200_000, "rows to fill the default table with on first use (buckets of 1000)")
	flag.Parse()

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
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "export: interrupted; run the same command again to resume")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "export:", err)
		os.Exit(1)
	}
}

// checkpoint is the content of the cursor file.
type checkpoint struct {
	Query    string    `json:"query"`          // the statement, for people (the cursor is tied to it)
	Format   string    `json:"format"`         // csv, parquet or both
	Scan     bool      `json:"scan,omitempty"` // Cursor is a scan's checkpoint (-parallel), not a cursor of Pages
	Cursor   string    `json:"cursor"`         // where to resume (cqlseq's Page.Cursor); "" at the start
	Rows     int64     `json:"rows"`           // rows in the output
	CSVBytes int64     `json:"csv_bytes"`      // length of the CSV file holding exactly those rows
	Parts    int       `json:"parquet_parts"`  // finished Parquet parts holding exactly those rows
	Done     bool      `json:"done"`           // the whole table is exported
	Saved    time.Time `json:"saved"`
}

// paths are the files of one export.
type paths struct {
	csv, cursor, base string
	csvOn, parquetOn  bool
}

func (p paths) part(n int) string { return fmt.Sprintf("%s.part-%04d.parquet", p.base, n) }

func pathsFor(out, format string) (paths, error) {
	ext := strings.ToLower(filepath.Ext(out))
	base := out
	if ext == ".csv" || ext == ".parquet" {
		base = strings.TrimSuffix(out, filepath.Ext(out))
	}
	if format == "" {
		format = strings.TrimPrefix(ext, ".")
	}
	p := paths{csv: base + ".csv", cursor: base + ".cursor", base: base}
	switch format {
	case "csv":
		p.csvOn = true
	case "parquet":
		p.parquetOn = true
	case "both":
		p.csvOn, p.parquetOn = true, true
	default:
		return p, fmt.Errorf("-format %q: want csv, parquet or both (or -out ending in .csv or .parquet)", format)
	}
	if base == "" {
		return p, errors.New("-out: empty file name")
	}
	return p, nil
}

func (p paths) format() string {
	switch {
	case p.csvOn && p.parquetOn:
		return "both"
	case p.csvOn:
		return "csv"
	}
	return "parquet"
}

// parts lists the Parquet part files on disk, finished and unfinished.
func (p paths) parts() ([]string, error) {
	done, err := filepath.Glob(globEscape(p.base) + ".part-*.parquet")
	if err != nil {
		return nil, err
	}
	open, err := filepath.Glob(globEscape(p.base) + ".part-*.parquet.inprogress")
	return append(done, open...), err
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

// run exports cfg.Table (or goes on exporting it) and reports to out.
func run(ctx context.Context, s *gocql.Session, cfg Config, out io.Writer) (Result, error) {
	var res Result
	p, err := pathsFor(cfg.Out, cfg.Format)
	if err != nil {
		return res, err
	}
	if cfg.FetchSize <= 0 || cfg.PartRows <= 0 || cfg.MaxPages < 0 || cfg.Rate < 0 {
		return res, errors.New("-fetch-size and -part-rows must be > 0, -max-pages and -rate >= 0")
	}
	if cfg.Parallel < 0 || cfg.Parallel > 1024 {
		return res, fmt.Errorf("-parallel %d: want 1 to 1024 token ranges at once, or 0 for one query", cfg.Parallel)
	}
	query := "SELECT " + sample.Columns + " FROM " + cfg.Table

	cp, err := loadCheckpoint(p, query, cfg.Parallel > 0, cfg.Restart)
	if err != nil {
		return res, err
	}
	if cp.Done {
		fmt.Fprintf(out, "%s: already exported (%d rows); pass -restart to export it again\n", cfg.Table, cp.Rows)
		return Result{Total: cp.Rows, Done: true, Files: outputs(p, cp)}, nil
	}
	// Open the output, cut back to what the checkpoint covers.
	var csvOut *csvFile
	if p.csvOn {
		if csvOut, err = openCSV(p.csv, cp.CSVBytes); err != nil {
			return res, err
		}
		defer csvOut.f.Close()
		cp.CSVBytes = csvOut.size
	}
	if p.parquetOn {
		if err := removeUncounted(p, cp.Parts); err != nil {
			return res, err
		}
	}
	if err := saveCheckpoint(p.cursor, cp); err != nil { // a fresh export has a checkpoint from the start
		return res, err
	}
	if cp.Rows > 0 {
		fmt.Fprintf(out, "resuming %s after %d rows (checkpoint %s)\n", cfg.Table, cp.Rows, p.cursor)
	}

	var bar meter
	if cfg.Parallel > 0 {
		fmt.Fprintf(out, "scanning %s by token range, %d ranges at once\n", cfg.Table, cfg.Parallel)
		bar = newRingProgress(cfg, cp.Rows)
	} else {
		bar = newProgress(ctx, s, cfg, cp.Rows, out)
	}
	defer bar.stop()

	var (
		part    *parquetPart
		last    = cp.Cursor // where the output ends
		more    = true      // the last page read had a cursor
		runErr  error
		stopped bool // the loop body failed: what it wrote is not covered
	)
	// commit records that the output holds every row up to last.
	commit := func() error {
		cp.Cursor, cp.Saved = last, time.Now().UTC()
		if csvOut != nil {
			cp.CSVBytes = csvOut.size
		}
		return saveCheckpoint(p.cursor, cp)
	}
	closePart := func() error {
		if part == nil {
			return nil
		}
		if err := part.close(); err != nil {
			return err
		}
		part = nil
		cp.Parts++
		return nil
	}

	// The options the two ways of reading share.
	common := []cqlseq.Option{
		cqlseq.WithFetchSize(cfg.FetchSize), cqlseq.WithCursor(cp.Cursor),
		// A long export rides out a node restart: a failed request is sent
		// again (to the range's next replica, in a scan).
		cqlseq.WithRetry(cqlseq.Retry{Attempts: 5}),
	}
	if cfg.Rate > 0 {
		common = append(common, cqlseq.WithRateLimit(cfg.Rate))
	}
	var pages iter.Seq2[cqlseq.Page[Event], error]
	if cfg.Parallel > 0 {
		// Only the columns of Event, as the query of Pages names them: a
		// table with more columns exports the same.
		opts := []cqlseq.ScanOption{cqlseq.WithParallelism(cfg.Parallel), cqlseq.WithColumns(strings.Split(sample.Columns, ", ")...)}
		for _, o := range common {
			opts = append(opts, o)
		}
		pages = cqlseq.ScanPages[Event](ctx, s, cfg.Table, opts...)
	} else {
		opts := []cqlseq.StreamOption{cqlseq.WithMaxPages(cfg.MaxPages)}
		for _, o := range common {
			opts = append(opts, o)
		}
		pages = cqlseq.Pages[Event](ctx, s, cqlseq.CQL(query), opts...)
	}
	for page, err := range pages {
		if errors.Is(err, cqlseq.ErrInvalidCursor) {
			return res, fmt.Errorf("%s: %w; pass -restart to start over", p.cursor, err)
		}
		if err != nil {
			runErr = err
			break
		}
		if err := func() error {
			if csvOut != nil {
				if err := csvOut.write(page.Rows); err != nil { // written and fsynced
					return err
				}
			}
			if p.parquetOn {
				if part == nil {
					if part, err = openPart(p.part(cp.Parts + 1)); err != nil {
						return err
					}
				}
				if err := part.write(page.Rows); err != nil {
					return err
				}
			}
			res.Rows += int64(len(page.Rows))
			res.Pages++
			cp.Rows += int64(len(page.Rows))
			last, more = page.Cursor, page.Cursor != ""
			cp.Done = !more // in the same checkpoint: an empty cursor must not read as "from the start"
			if p.parquetOn {
				// The checkpoint can only move past rows in a finished part.
				if part.rows < cfg.PartRows && more {
					return nil
				}
				if err := closePart(); err != nil {
					return err
				}
			}
			return commit()
		}(); err != nil {
			runErr, stopped = err, true
			break
		}
		bar.page(page)
		if cfg.afterPage != nil {
			cfg.afterPage(page.Number)
		}
		if res.Pages == cfg.MaxPages { // a scan has no WithMaxPages: stop here
			break
		}
		if err := ctx.Err(); err != nil {
			// Ctrl-C: stop after the page in hand, whatever the read has
			// ready, and say so (the error matches context.Canceled).
			runErr = err
			break
		}
	}
	if stopped && part != nil {
		part.f.Close() // unfinished, not counted: the next run deletes it
	}
	if !stopped && part != nil {
		// Stopped between pages (cancelled, -max-pages, a failed page
		// request): finish the part so that its rows count.
		if err := closePart(); err != nil {
			return res, errors.Join(runErr, err)
		}
		if err := commit(); err != nil {
			return res, errors.Join(runErr, err)
		}
	}
	res.Total = cp.Rows
	if runErr != nil {
		bar.stop()
		return res, fmt.Errorf("after %d rows (checkpoint saved; run again to resume): %w", cp.Rows, runErr)
	}
	// The stream ended by itself, not by -max-pages: the table is exported.
	// (The last page's cursor need not be empty: when the result ends
	// exactly at a page boundary, Cassandra still sends a paging state, and
	// only the next, empty, request shows the end. A scan's cursor is never
	// empty: only the end of the sequence tells it is done.)
	if !more || cfg.MaxPages == 0 || res.Pages < cfg.MaxPages {
		cp.Done = true
		if err := commit(); err != nil {
			return res, err
		}
	}
	bar.done(cp.Rows, cp.Done)
	res.Done, res.Files = cp.Done, outputs(p, cp)
	if cp.Done {
		fmt.Fprintf(out, "exported %s: %d rows to %s\n", cfg.Table, cp.Rows, describe(p, cp))
	} else {
		fmt.Fprintf(out, "stopped after %d pages, %d rows in all; run again to resume\n", res.Pages, cp.Rows)
	}
	return res, nil
}

func describe(p paths, cp checkpoint) string {
	var files []string
	if p.csvOn {
		files = append(files, p.csv)
	}
	if p.parquetOn {
		files = append(files, fmt.Sprintf("%d Parquet parts %s.part-*.parquet", cp.Parts, p.base))
	}
	return strings.Join(files, " and ")
}

func outputs(p paths, cp checkpoint) []string {
	var files []string
	if p.csvOn {
		files = append(files, p.csv)
	}
	if p.parquetOn {
		for n := 1; n <= cp.Parts; n++ {
			files = append(files, p.part(n))
		}
	}
	return files
}

// loadCheckpoint returns the checkpoint to resume from, or a fresh one for a
// new export (a scan's with scan). Without a checkpoint the output must not
// exist yet, unless restart says to replace it.
func loadCheckpoint(p paths, query string, scan, restart bool) (checkpoint, error) {
	fresh := checkpoint{Query: query, Format: p.format(), Scan: scan}
	data, err := os.ReadFile(p.cursor)
	switch {
	case err == nil && !restart:
		var cp checkpoint
		if err := json.Unmarshal(data, &cp); err != nil {
			return cp, fmt.Errorf("%s: %w (delete it, or pass -restart, to start over)", p.cursor, err)
		}
		if cp.Query != query || cp.Format != fresh.Format {
			return cp, fmt.Errorf("%s was saved by an export of %q as %s, not %q as %s: pass -restart to replace it",
				p.cursor, cp.Query, cp.Format, query, fresh.Format)
		}
		if cp.Scan != scan && !cp.Done {
			// A cursor of Pages and a scan's checkpoint are positions in
			// different reads: neither resumes the other.
			return cp, fmt.Errorf("%s was saved by an export %s: run it %s to resume, or pass -restart to start over",
				p.cursor, map[bool]string{true: "with -parallel (a scan)", false: "without -parallel"}[cp.Scan],
				map[bool]string{true: "with -parallel N (any N)", false: "without -parallel"}[cp.Scan])
		}
		return cp, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fresh, err
	}
	var existing []string
	if p.parquetOn {
		if existing, err = p.parts(); err != nil {
			return fresh, err
		}
	}
	if _, err := os.Stat(p.csv); err == nil && p.csvOn {
		existing = append(existing, p.csv)
	}
	if len(existing) > 0 && !restart {
		return fresh, fmt.Errorf("%s exists without a checkpoint (%s): pass -restart to replace it", existing[0], p.cursor)
	}
	for _, f := range existing {
		if err := os.Remove(f); err != nil {
			return fresh, err
		}
	}
	return fresh, nil
}

// saveCheckpoint replaces the cursor file atomically and durably: a crash
// leaves the old checkpoint or the new one.
func saveCheckpoint(path string, cp checkpoint) error {
	data, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// csvFile appends pages to the CSV file and knows its length.
type csvFile struct {
	f    *os.File
	w    *csv.Writer
	size int64
	rec  []string
}

// openCSV opens the CSV file cut back to size bytes, or a new one with its
// header when size is 0.
func openCSV(path string, size int64) (*csvFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	c := &csvFile{f: f, size: size}
	c.w = csv.NewWriter(countingWriter{f, &c.size})
	if st, err := f.Stat(); err == nil && st.Size() < size {
		err = fmt.Errorf("%s holds %d bytes, its checkpoint counts %d: it was changed since; pass -restart", path, st.Size(), size)
		f.Close()
		return nil, err
	}
	if err := f.Truncate(size); err != nil { // drop rows written after the checkpoint
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if size == 0 {
		if err := c.w.Write(csvHeader); err != nil {
			f.Close()
			return nil, err
		}
		if err := c.flush(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *csvFile) write(rows []Event) error {
	for i := range rows {
		c.rec = rows[i].csvRecord(c.rec)
		if err := c.w.Write(c.rec); err != nil {
			return err
		}
	}
	return c.flush()
}

func (c *csvFile) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.f.Sync()
}

type countingWriter struct {
	w io.Writer
	n *int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	*c.n += int64(n)
	return n, err
}

// parquetPart is a Parquet file being written under a temporary name.
type parquetPart struct {
	f     *os.File
	w     *parquet.GenericWriter[Event]
	final string
	rows  int64
}

func openPart(final string) (*parquetPart, error) {
	f, err := os.Create(final + ".inprogress")
	if err != nil {
		return nil, err
	}
	w := parquet.NewGenericWriter[Event](f, parquet.Compression(&snappy.Codec{}))
	return &parquetPart{f: f, w: w, final: final}, nil
}

// write writes rows as one row group: the writer holds no more than a page.
func (p *parquetPart) write(rows []Event) error {
	if _, err := p.w.Write(rows); err != nil {
		return err
	}
	p.rows += int64(len(rows))
	return p.w.Flush()
}

// close writes the footer, syncs the file and gives it its final name.
func (p *parquetPart) close() error {
	err := p.w.Close()
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.final)
	}
	if err == nil {
		err = syncDir(filepath.Dir(p.final))
	}
	return err
}

// removeUncounted deletes the Parquet parts the checkpoint does not count:
// unfinished ones, and finished ones a crashed run had no time to record.
func removeUncounted(p paths, counted int) error {
	files, err := p.parts()
	if err != nil {
		return err
	}
	keep := make(map[string]bool, counted)
	for n := 1; n <= counted; n++ {
		keep[p.part(n)] = true
	}
	for _, f := range files {
		if !keep[f] {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for n := 1; n <= counted; n++ {
		if _, err := os.Stat(p.part(n)); err != nil {
			return fmt.Errorf("the checkpoint counts %d Parquet parts, but %w; pass -restart to start over", counted, err)
		}
	}
	return nil
}

// meter shows how far the export has come.
type meter interface {
	page(page cqlseq.Page[Event])  // a page was written
	done(all int64, finished bool) // the run ends, with all rows in the output
	stop()
}

// progress drives the bar: rows, rows/s and, with an estimate of the table's
// size, percent and time left. It counts the rows of this run against the
// rows the estimate says are left, so that the rate and the time left are
// those of this run.
type progress struct {
	bar      *progressbar.ProgressBar
	before   int64 // rows exported by earlier runs
	rows     int64 // rows of this run
	total    int64 // estimated rows in the table; 0: unknown
	perPart  *partitionRate
	shownMax int64
	desc     string // the bar's description, before the last page's latency
}

func newProgress(ctx context.Context, s *gocql.Session, cfg Config, before int64, out io.Writer) *progress {
	pr := &progress{before: before}
	if cfg.Progress == nil {
		return pr
	}
	total, how, rate := estimate(ctx, s, cfg)
	pr.total, pr.perPart = total, rate
	if how != "" {
		fmt.Fprintf(out, "%s: %s\n", cfg.Table, how)
	}
	desc := "exporting"
	if before > 0 {
		desc = fmt.Sprintf("resumed after %d rows", before)
	}
	pr.bar = progressbar.NewOptions64(pr.remaining(),
		progressbar.OptionSetWriter(cfg.Progress),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0), // no ticker goroutine
		progressbar.OptionSetRenderBlankState(true),   // starts the clock now: the first rate is right
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.Progress) }),
	)
	pr.shownMax = pr.remaining()
	pr.desc = desc
	return pr
}

// remaining is the bar's maximum: the rows this run should read, or -1 when
// the size of the table is unknown.
func (pr *progress) remaining() int64 {
	if pr.total <= 0 {
		return -1
	}
	// An estimate can be short: never below what was read, plus a page.
	return max(pr.total-pr.before, pr.rows+1)
}

func (pr *progress) page(page cqlseq.Page[Event]) {
	pr.rows += int64(len(page.Rows))
	if pr.bar == nil {
		return
	}
	pr.bar.Describe(pr.desc + ", " + lastPage(page.PageInfo))
	if pr.perPart != nil {
		pr.total = pr.perPart.observe(page.Rows)
	}
	if m := pr.remaining(); m != pr.shownMax {
		pr.shownMax = m
		pr.bar.ChangeMax64(m)
	}
	pr.bar.Set64(pr.rows)
}

func (pr *progress) done(all int64, finished bool) {
	if pr.bar == nil {
		return
	}
	if finished {
		pr.bar.ChangeMax64(max(all-pr.before, 1))
		pr.bar.Set64(all - pr.before)
	}
	pr.stop()
}

func (pr *progress) stop() {
	if pr.bar != nil && !pr.bar.IsFinished() {
		pr.bar.Exit()
		pr.bar = nil
	}
}

// estimate returns the estimated number of rows in cfg.Table and how it was
// found, or 0 and "" when it stays unknown. With size estimates, the rows
// per partition are learned while reading: the returned partitionRate turns
// what was read into a total.
func estimate(ctx context.Context, s *gocql.Session, cfg Config) (int64, string, *partitionRate) {
	ks, table, _ := strings.Cut(cfg.Table, ".")
	method := cfg.Estimate
	if method == "size" || method == "auto" {
		parts, nodes, err := sizeEstimate(ctx, s, ks, table)
		if err == nil && parts > 0 {
			r := &partitionRate{partitions: parts}
			return parts, fmt.Sprintf("about %d partitions (system.size_estimates of %d node(s)); the rows per partition are learned while reading", parts, nodes), r
		}
		if method == "size" {
			return 0, "", nil
		}
		method = "count"
	}
	if method == "count" {
		cctx, cancel := context.WithTimeout(ctx, cfg.CountTimeout)
		defer cancel()
		var n int64
		start := time.Now()
		if err := s.Query("SELECT COUNT(*) FROM "+cfg.Table).ScanContext(cctx, &n); err == nil {
			return n, fmt.Sprintf("%d rows (SELECT COUNT(*) in %v)", n, time.Since(start).Round(time.Millisecond)), nil
		}
	}
	return 0, "", nil
}

// sizeEstimate sums the partitions of the table in system.size_estimates,
// which covers the ranges of the node that answers, and scales it by the
// number of nodes.
func sizeEstimate(ctx context.Context, s *gocql.Session, ks, table string) (int64, int, error) {
	it := s.Query("SELECT partitions_count FROM system.size_estimates WHERE keyspace_name = ? AND table_name = ?", ks, table).
		IterContext(ctx)
	var sum, n int64
	for it.Scan(&n) {
		sum += n
	}
	if err := it.Close(); err != nil {
		return 0, 0, err
	}
	nodes := 1
	it = s.Query("SELECT peer FROM system.peers").IterContext(ctx)
	var peer string
	for it.Scan(&peer) {
		nodes++
	}
	return sum * int64(nodes), nodes, it.Close()
}

// partitionRate turns an estimated partition count into rows: it counts the
// partitions among the rows read (a table is read partition by partition, so
// a partition starts where the partition key changes) and scales.
type partitionRate struct {
	partitions int64 // estimated partitions in the table
	seen, rows int64
	last       int
}

func (r *partitionRate) observe(rows []Event) int64 {
	for i := range rows {
		if r.rows == 0 || rows[i].Bucket != r.last {
			r.seen++
			r.last = rows[i].Bucket
		}
		r.rows++
	}
	return r.partitions * r.rows / max(r.seen, 1)
}

// ringProgress drives the bar of a scan: the share of the ring read, which
// cqlseq reports after every page (PageInfo.Scan), rows, rows/s and the
// time left. The share counts the token ranges read to their end, weighted
// by their width, and it includes those of earlier runs: a resumed export
// starts where the last one stopped. It moves when a range is finished.
type ringProgress struct {
	bar    *progressbar.ProgressBar
	before int64 // rows exported by earlier runs
	rows   int64 // rows of this run
}

// ringSteps is the bar's maximum: the ring in steps of 0.1%.
const ringSteps = 1000

func newRingProgress(cfg Config, before int64) *ringProgress {
	pr := &ringProgress{before: before}
	if cfg.Progress == nil {
		return pr
	}
	pr.bar = progressbar.NewOptions64(ringSteps,
		progressbar.OptionSetWriter(cfg.Progress),
		progressbar.OptionSetDescription(pr.describe(cqlseq.ScanProgress{})),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false), // the ETA is cqlseq's, in the description
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetSpinnerChangeInterval(0), // no ticker goroutine
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(cfg.Progress) }),
	)
	return pr
}

// describe says what the bar does not: rows, rows/s and the time left.
func (pr *ringProgress) describe(sp cqlseq.ScanProgress) string {
	if sp.Ranges == 0 { // before the first page
		return "of the ring"
	}
	eta := "time left: after the first range"
	if sp.ETA > 0 {
		eta = "time left " + sp.ETA.Round(time.Second).String()
	}
	rows := fmt.Sprintf("%d rows", pr.before+pr.rows)
	if pr.before > 0 {
		rows = fmt.Sprintf("%d rows (%d in this run)", pr.before+pr.rows, pr.rows)
	}
	return fmt.Sprintf("of the ring, %d/%d ranges, %s, %.0f rows/s, %s", sp.RangesDone, sp.Ranges, rows, sp.RowsPerSecond, eta)
}

// lastPage describes the request of the page just written: how long it
// took and which node served it.
func lastPage(info cqlseq.PageInfo) string {
	return fmt.Sprintf("last page %.1f ms from %s", float64(info.Latency.Microseconds())/1000, info.Host)
}

func (pr *ringProgress) page(page cqlseq.Page[Event]) {
	pr.rows += int64(len(page.Rows))
	if pr.bar == nil {
		return
	}
	pr.bar.Describe(pr.describe(page.Scan) + ", " + lastPage(page.PageInfo))
	// The bar is full, and ends its line, when the run is done.
	pr.bar.Set64(min(int64(page.Scan.Fraction*ringSteps), ringSteps-1))
}

func (pr *ringProgress) done(_ int64, finished bool) {
	if pr.bar == nil {
		return
	}
	if finished {
		pr.bar.Set64(ringSteps)
	}
	pr.stop()
}

func (pr *ringProgress) stop() {
	if pr.bar != nil && !pr.bar.IsFinished() {
		pr.bar.Exit()
		pr.bar = nil
	}
}
