package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"go.uber.org/goleak"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cqlseqtest.Main(fixture.Main(m)))
}

const buckets, perBucket = 10, 500 // 5,000 rows

// fixture is the table the tests export, filled once.
var fixture = &sample.Fixture{Buckets: buckets, PerBucket: perBucket}

// table returns the table to export, with its rows as the driver reads them,
// sorted by primary key.
func table(t *testing.T) (*gocql.Session, string, []sample.Event) {
	t.Helper()
	table := fixture.Table(t) // fails with the reason when Cassandra is unreachable
	s := cqlseqtest.Session(t)
	rows, err := sample.ReadAll(context.Background(), s, table)
	if err != nil {
		t.Fatal(err)
	}
	sortRows(rows)
	if diff := gocmp.Diff(sample.Rows(buckets, perBucket), rows); diff != "" {
		t.Fatalf("the table does not hold the rows written (-want +got):\n%s", diff)
	}
	return s, table, rows
}

func sortRows(rows []sample.Event) {
	slices.SortFunc(rows, func(a, b sample.Event) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.ID, b.ID))
	})
}

// readCSV reads an exported CSV file back, in file order.
func readCSV(t *testing.T, path string) []sample.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseCSV(t, path, data)
}

// parseCSV reads the CSV text data of file path.
func parseCSV(t *testing.T, path string, data []byte) []sample.Event {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("%s: no header line", path)
	}
	rows := make([]sample.Event, 0, len(recs)-1)
	for i, r := range recs[1:] {
		var (
			e    sample.Event
			errs [4]error
		)
		e.Bucket, errs[0] = strconv.Atoi(r[0])
		e.ID, errs[1] = strconv.Atoi(r[1])
		e.Kind = r[2]
		e.At, errs[2] = time.Parse(time.RFC3339Nano, r[3])
		e.Amount, errs[3] = strconv.ParseFloat(r[4], 64)
		if r[5] != "" {
			e.Note = &r[5]
		}
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatalf("%s: record %d: %v", path, i+1, err)
		}
		rows = append(rows, e)
	}
	return rows
}

// readParquet reads the exported Parquet parts back, in part order.
func readParquet(t *testing.T, files []string) []sample.Event {
	t.Helper()
	var rows []sample.Event
	for _, f := range files {
		if !strings.HasSuffix(f, ".parquet") {
			continue
		}
		part, err := parquet.ReadFile[Event](f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range part {
			rows = append(rows, sample.Event(e))
		}
	}
	return rows
}

// sameRows fails the test unless got holds exactly the rows of want, each
// once, in any order.
func sameRows(t *testing.T, what string, want, got []sample.Event) {
	t.Helper()
	got = slices.Clone(got)
	sortRows(got)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

// distinct fails the test unless got holds n rows of the table, each once.
func distinct(t *testing.T, what string, table, got []sample.Event, n int) {
	t.Helper()
	key := func(e sample.Event) [2]int { return [2]int{e.Bucket, e.ID} }
	rows := make(map[[2]int]sample.Event, len(table))
	for _, e := range table {
		rows[key(e)] = e
	}
	seen := make(map[[2]int]bool, len(got))
	for _, e := range got {
		if seen[key(e)] {
			t.Errorf("%s: row %v written twice", what, key(e))
		}
		seen[key(e)] = true
		if diff := gocmp.Diff(rows[key(e)], e); diff != "" {
			t.Errorf("%s: row %v (-table +output):\n%s", what, key(e), diff)
		}
	}
	if len(got) != n {
		t.Errorf("%s: %d rows written, want %d", what, len(got), n)
	}
}

func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// modes are the two ways the export reads: one query (Pages), and a scan by
// token range (ScanPages) at -parallel 3.
var modes = []struct {
	name     string
	parallel int
}{{"pages", 0}, {"scan", 3}}

// The CSV file and the Parquet parts hold exactly the table's rows, read
// with one query or by token range.
func TestExportCSVAndParquet(t *testing.T) {
	s, table, want := table(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			var bar, out bytes.Buffer
			res, err := run(context.Background(), s, Config{
				Table: table, Out: filepath.Join(dir, "events"), Format: "both", Parallel: mode.parallel,
				FetchSize: 300, PartRows: 2000, Estimate: "auto", CountTimeout: 10 * time.Second, Progress: &bar,
			}, &out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !res.Done || res.Rows != int64(len(want)) || res.Total != int64(len(want)) {
				t.Errorf("result %+v, want done with %d rows", res, len(want))
			}
			sameRows(t, "CSV", want, readCSV(t, filepath.Join(dir, "events.csv")))
			sameRows(t, "Parquet", want, readParquet(t, res.Files))
			// 5,000 rows in parts of at least 2,000 and less than 2,300.
			if got := partFiles(t, dir); len(got) != 3 {
				t.Errorf("Parquet files %v, want 3 parts", got)
			}
			shown := strings.Contains(bar.String(), "rows/s")
			if mode.parallel == 0 {
				// The total comes from a COUNT(*) within CountTimeout, or,
				// when the node is too slow for that (a loaded CI machine),
				// from the size estimates: either way the run says which.
				shown = shown && (strings.Contains(out.String(), "SELECT COUNT(*)") || strings.Contains(out.String(), "system.size_estimates"))
			} else {
				// The ring is read to its end: the bar is full.
				shown = shown && strings.Contains(bar.String(), "100% |") && strings.Contains(bar.String(), "of the ring")
			}
			if !shown {
				t.Errorf("no progress shown; output:\n%s\nbar:\n%s", out.String(), bar.String())
			}
			t.Logf("output:\n%s", out.String())

			// Run again: the checkpoint says it is done, nothing is written.
			res, err = run(context.Background(), s, Config{Table: table, Out: filepath.Join(dir, "events"), Format: "both",
				Parallel: mode.parallel, FetchSize: 300, PartRows: 2000}, &out)
			if err != nil || !res.Done || res.Rows != 0 {
				t.Errorf("second run: %+v, %v; want done, no rows", res, err)
			}
		})
	}
}

// An export stopped by -max-pages, then by a cancelled context (Ctrl-C),
// then run to the end holds each row once, in every format, read with one
// query or by token range. (The pages of a scan are not all full: a range's
// last page is short.)
func TestExportResume(t *testing.T) {
	s, table, want := table(t)
	for _, mode := range modes {
		for _, format := range []string{"csv", "parquet", "both"} {
			t.Run(mode.name+"/"+format, func(t *testing.T) {
				testResume(t, s, table, want, mode.parallel, format)
			})
		}
	}
}

func testResume(t *testing.T, s *gocql.Session, table string, want []sample.Event, parallel int, format string) {
	dir := t.TempDir()
	cfg := Config{Table: table, Out: filepath.Join(dir, "events"), Format: format, FetchSize: 400, PartRows: 1000, Parallel: parallel}
	var out bytes.Buffer

	// 1. Three pages, then stop.
	cfg.MaxPages = 3
	res, err := run(context.Background(), s, cfg, &out)
	if err != nil || res.Done || res.Pages != 3 || res.Rows != res.Total || parallel == 0 && res.Rows != 1200 {
		t.Fatalf("first run: %+v, %v; want 3 pages (1,200 rows in one query), not done", res, err)
	}
	first := res.Total
	distinct(t, "after 3 pages", want, checkOutput(t, dir, format), int(first))

	// 2. Interrupted after its second page.
	cfg.MaxPages = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.afterPage = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	res, err = run(ctx, s, cfg, &out)
	if !errors.Is(err, context.Canceled) || res.Pages != 2 || res.Total != first+res.Rows || parallel == 0 && res.Rows != 800 {
		t.Fatalf("interrupted run: %+v, %v; want 2 more pages (800 rows in one query) and context.Canceled", res, err)
	}
	second := res.Total
	distinct(t, "after the interruption", want, checkOutput(t, dir, format), int(second))

	// 3. To the end.
	cfg.afterPage = nil
	res, err = run(context.Background(), s, cfg, &out)
	if err != nil || !res.Done || res.Total != int64(len(want)) || res.Rows != int64(len(want))-second {
		t.Fatalf("last run: %+v, %v; want the remaining %d rows", res, err, int64(len(want))-second)
	}
	if got := checkOutput(t, dir, format); len(got) != len(want) {
		t.Fatalf("%d rows exported, want %d", len(got), len(want))
	}
	sameRows(t, "resumed twice", want, checkOutput(t, dir, format))
	t.Logf("%s:\n%s", format, out.String())
}

// checkOutput reads the output of the format back, checks that CSV and
// Parquet agree, and returns the rows.
func checkOutput(t *testing.T, dir, format string) []sample.Event {
	t.Helper()
	var csvRows, pqRows []sample.Event
	if format != "parquet" {
		csvRows = readCSV(t, filepath.Join(dir, "events.csv"))
	}
	if format != "csv" {
		for _, f := range partFiles(t, dir) {
			if strings.HasSuffix(f, ".inprogress") {
				t.Errorf("unfinished part %s left after the run ended", f)
			}
		}
		pqRows = readParquet(t, partFiles(t, dir))
	}
	switch format {
	case "csv":
		return csvRows
	case "parquet":
		return pqRows
	}
	if diff := gocmp.Diff(csvRows, pqRows); diff != "" {
		t.Errorf("CSV and Parquet differ (-csv +parquet):\n%s", diff)
	}
	return csvRows
}

// A run that crashed after writing rows its checkpoint does not cover (part
// of a CSV page, an unfinished Parquet part, a finished part it had no time
// to record) leaves no trace once the export is resumed.
func TestExportRecoversFromCrash(t *testing.T) {
	s, table, want := table(t)
	dir := t.TempDir()
	cfg := Config{Table: table, Out: filepath.Join(dir, "events"), Format: "both", FetchSize: 500, PartRows: 1000, MaxPages: 4}
	var out bytes.Buffer
	if _, err := run(context.Background(), s, cfg, &out); err != nil {
		t.Fatal(err)
	}
	// What a crash leaves behind.
	f, err := os.OpenFile(filepath.Join(dir, "events.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "9,1,click,2025-01-01T00:00:00Z,1,half a row\n9,2,vi")
	f.Close()
	part1, err := os.ReadFile(filepath.Join(dir, "events.part-0001.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"events.part-0003.parquet":            part1,                // finished, not recorded
		"events.part-0004.parquet.inprogress": part1[:len(part1)/2], // unfinished
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	cfg.MaxPages = 0
	res, err := run(context.Background(), s, cfg, &out)
	if err != nil || !res.Done {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}
	sameRows(t, "CSV after a crash", want, readCSV(t, filepath.Join(dir, "events.csv")))
	sameRows(t, "Parquet after a crash", want, readParquet(t, partFiles(t, dir)))
}

// The export refuses to overwrite output it did not record, and to resume a
// checkpoint of another table.
func TestExportGuards(t *testing.T) {
	s, table, _ := table(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "events.csv")
	if err := os.WriteFile(out, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	_, err := run(context.Background(), s, Config{Table: table, Out: out, FetchSize: 1000, PartRows: 1000}, &log)
	if err == nil || !strings.Contains(err.Error(), "without a checkpoint") {
		t.Fatalf("export over an existing file: %v; want a refusal", err)
	}
	if data, _ := os.ReadFile(out); string(data) != "precious\n" {
		t.Fatalf("the existing file was changed: %q", data)
	}

	cfg := Config{Table: table, Out: out, FetchSize: 1000, PartRows: 1000, MaxPages: 1, Restart: true}
	if _, err := run(context.Background(), s, cfg, &log); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Table, other.Restart = "system_schema.tables", false
	if _, err = run(context.Background(), s, other, &log); err == nil || !strings.Contains(err.Error(), "pass -restart") {
		t.Fatalf("resuming another table's checkpoint: %v; want a refusal", err)
	}

	// A damaged checkpoint: cqlseq refuses the cursor before any query.
	cursorFile := filepath.Join(dir, "events.cursor")
	data, err := os.ReadFile(cursorFile)
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil || cp.Cursor == "" {
		t.Fatalf("checkpoint %s: %v", data, err)
	}
	// Bytes 2..17 are the fingerprint of the query (unsigned cursors have no
	// checksum of the paging state: sign them where they can be altered).
	c := []byte(cp.Cursor)
	c[8] = map[bool]byte{true: 'B', false: 'A'}[c[8] == 'A']
	cp.Cursor = string(c)
	if err := saveCheckpoint(cursorFile, cp); err != nil {
		t.Fatal(err)
	}
	cfg.Restart = false
	if _, err = run(context.Background(), s, cfg, &log); !errors.Is(err, cqlseq.ErrInvalidCursor) {
		t.Fatalf("resuming from a damaged cursor: %v; want cqlseq.ErrInvalidCursor", err)
	}
	t.Log(err)
}

func TestPartitionRate(t *testing.T) {
	r := &partitionRate{partitions: 100}
	page := func(bucket, rows int) []Event {
		return slices.Repeat([]Event{{Bucket: bucket}}, rows)
	}
	if got := r.observe(page(1, 40)); got != 4000 {
		t.Errorf("one partition of at least 40 rows read: estimate %d, want 4000", got)
	}
	r.observe(page(1, 60))
	if got := r.observe(page(2, 100)); got != 10_000 {
		t.Errorf("two partitions of 100 rows read: estimate %d, want 10000", got)
	}
}

// A checkpoint resumes only the read it was made by: a cursor of Pages and a
// scan's checkpoint are refused by the other mode. A scan's resumes at any
// parallelism, and a damaged one is refused by cqlseq before any query.
func TestExportModeGuard(t *testing.T) {
	s, table, want := table(t)
	dir := t.TempDir()
	var log bytes.Buffer
	cfg := Config{Table: table, Out: filepath.Join(dir, "events.csv"), FetchSize: 250, PartRows: 1000, MaxPages: 2}
	if _, err := run(context.Background(), s, cfg, &log); err != nil {
		t.Fatal(err)
	}
	cfg.Parallel = 2
	if _, err := run(context.Background(), s, cfg, &log); err == nil || !strings.Contains(err.Error(), "run it without -parallel") {
		t.Fatalf("a scan resuming a cursor of Pages: %v; want a refusal", err)
	}

	cfg.Restart = true
	if _, err := run(context.Background(), s, cfg, &log); err != nil {
		t.Fatal(err)
	}
	cfg.Restart, cfg.Parallel = false, 0
	if _, err := run(context.Background(), s, cfg, &log); err == nil || !strings.Contains(err.Error(), "run it with -parallel") {
		t.Fatalf("Pages resuming a scan's checkpoint: %v; want a refusal", err)
	}

	// Damaged: one character changed.
	cursorFile := filepath.Join(dir, "events.cursor")
	data, err := os.ReadFile(cursorFile)
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil || !cp.Scan || cp.Cursor == "" {
		t.Fatalf("checkpoint %s: %v; want a scan's", data, err)
	}
	damaged := cp
	c := []byte(cp.Cursor)
	c[8] = map[bool]byte{true: 'B', false: 'A'}[c[8] == 'A']
	damaged.Cursor = string(c)
	if err := saveCheckpoint(cursorFile, damaged); err != nil {
		t.Fatal(err)
	}
	cfg.Parallel, cfg.MaxPages = 5, 0
	if _, err = run(context.Background(), s, cfg, &log); !errors.Is(err, cqlseq.ErrInvalidCursor) {
		t.Fatalf("resuming from a damaged checkpoint: %v; want cqlseq.ErrInvalidCursor", err)
	}
	t.Log(err)

	// Intact, at another parallelism: to the end, each row once.
	if err := saveCheckpoint(cursorFile, cp); err != nil {
		t.Fatal(err)
	}
	res, err := run(context.Background(), s, cfg, &log)
	if err != nil || !res.Done {
		t.Fatalf("resumed at -parallel 5: %+v, %v", res, err)
	}
	sameRows(t, "scan resumed at another parallelism", want, readCSV(t, filepath.Join(dir, "events.csv")))
}

// A table of the user's with the example's columns among others, declared
// in another order, exports the same in both modes: only the example's
// columns are read.
func TestExportTableWithOtherColumns(t *testing.T) {
	s := cqlseqtest.Session(t)
	table := fixture.Keyspace(t) + ".events_wide"
	cqlseqtest.Exec(t, s, "CREATE TABLE IF NOT EXISTS "+table+
		" (id int, bucket int, tags set<text>, note text, amount double, \"Extra\" blob, at timestamp, kind text, PRIMARY KEY (bucket, id))")
	const buckets, perBucket = 6, 100
	err := cqlseqtest.Seed(context.Background(), s, "INSERT INTO "+table+
		" (bucket, id, kind, at, amount, note, tags, \"Extra\") VALUES (?, ?, ?, ?, ?, ?, ?, ?)", buckets*perBucket, 0,
		func(i int) []any {
			e := sample.Row(i, perBucket)
			return []any{e.Bucket, e.ID, e.Kind, e.At, e.Amount, e.Note, []string{"a", strconv.Itoa(i)}, []byte{byte(i)}}
		})
	if err != nil {
		t.Fatal(err)
	}
	want := sample.Rows(buckets, perBucket)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			var out bytes.Buffer
			res, err := run(context.Background(), s, Config{Table: table, Out: filepath.Join(dir, "wide"), Format: "both",
				FetchSize: 70, PartRows: 250, Parallel: mode.parallel}, &out)
			if err != nil || !res.Done {
				t.Fatalf("%+v, %v\n%s", res, err, out.String())
			}
			sameRows(t, "CSV", want, readCSV(t, filepath.Join(dir, "wide.csv")))
			sameRows(t, "Parquet", want, readParquet(t, res.Files))
		})
	}
}
