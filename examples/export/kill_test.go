//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cqlseq/cqlseq/examples/internal/sample"
	"github.com/cqlseq/cqlseq/testing/cqlseqtest"
)

// killSeedEnv names the environment variable that repeats a run of
// TestExportKilled: its signals, delays and parallelism.
const killSeedEnv = "EXPORT_KILL_SEED"

// The export program, built and run as a process with -parallel 2 to 8 on a
// table of its own, is stopped at random points, by SIGKILL (nothing is
// flushed or finished) and by SIGINT (Ctrl-C: it stops at the end of the
// page in hand), then run again until it is done. After every stop the
// checkpoint covers a prefix of the CSV file and the finished Parquet parts
// that hold each row they count once; at the end the CSV file and the
// Parquet parts each hold every row of the table once, compared with a plain
// SELECT. The reads are held to 3,000 rows/s (-rate), so that a run takes
// seconds and the stops land while it reads.
func TestExportKilled(t *testing.T) {
	s := cqlseqtest.Session(t) // fails with the reason when Cassandra is unreachable
	ctx := context.Background()
	table := fixture.Keyspace(t) + ".events_killed"
	const buckets, perBucket = 24, 500 // 12,000 rows, about 4 s of reading
	if err := sample.Fill(ctx, s, table, buckets, perBucket); err != nil {
		t.Fatal(err)
	}
	want, err := sample.ReadAll(ctx, s, table)
	if err != nil {
		t.Fatal(err)
	}
	sortRows(want)
	if len(want) != buckets*perBucket {
		t.Fatalf("SELECT of %s: %d rows, want %d", table, len(want), buckets*perBucket)
	}

	bin := filepath.Join(t.TempDir(), "export")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	seed := rand.Uint64()
	if v := os.Getenv(killSeedEnv); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s: %v", killSeedEnv, err)
		}
	}
	t.Logf("seed %d (%s=%d repeats the signals, delays and parallelism)", seed, killSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	k := &killRun{t: t, bin: bin, out: out, want: want, args: []string{
		"-hosts", strings.Join(cqlseqtest.Hosts(), ","), "-table", table, "-out", out, "-format", "both",
		"-fetch-size", "50", "-part-rows", "1000", "-rate", "3000",
	}}

	// Six stops, two of them Ctrl-C, each at a random time in the first
	// second of reading.
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGINT, syscall.SIGKILL, syscall.SIGKILL, syscall.SIGKILL, syscall.SIGKILL}
	rng.Shuffle(len(signals), func(i, j int) { signals[i], signals[j] = signals[j], signals[i] })
	mid, done := 0, false
	for i, sig := range signals {
		parallel := 2 + rng.IntN(7)
		delay := time.Duration(rng.Int64N(int64(time.Second)))
		stopped, cp := k.run(i+1, parallel, sig, delay)
		if stopped && !cp.Done {
			mid++
		}
		if done = cp.Done; done {
			break
		}
	}
	for i := 0; !done; i++ { // then to the end
		if i == 3 {
			t.Fatal("the export is not done after three runs that were not stopped")
		}
		_, cp := k.run(len(signals)+1+i, 2+rng.IntN(7), 0, 0)
		done = cp.Done
	}
	t.Logf("%d of %d stops landed before the export was done", mid, len(signals))
	if mid == 0 {
		t.Fatal("no stop landed while the export was reading: the test proved nothing; make the table larger or -rate lower")
	}

	sameRows(t, "CSV after the stops", want, readCSV(t, out+".csv"))
	files := partFiles(t, dir)
	for _, f := range files {
		if !strings.HasSuffix(f, ".parquet") {
			t.Errorf("%s left after the export was done", f)
		}
	}
	sameRows(t, "Parquet after the stops", want, readParquet(t, files))
}

// killRun runs the export program and checks what each run leaves.
type killRun struct {
	t         *testing.T
	bin, out  string
	args      []string
	want      []sample.Event
	lastRows  int64
	lastSaved os.FileInfo
}

// run runs the export at parallel; with sig, it sends sig delay after the
// run saved its first checkpoint (just before it starts reading). It
// reports whether sig stopped the run, and the checkpoint left, which it
// checks.
func (k *killRun) run(n, parallel int, sig syscall.Signal, delay time.Duration) (bool, checkpoint) {
	t := k.t
	t.Helper()
	cursor := k.out + ".cursor"
	cmd := exec.Command(k.bin, append(k.args, "-parallel", strconv.Itoa(parallel))...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var err error
	ran := false // the process ended by itself
	if sig != 0 {
		// Wait for the run's first checkpoint: a new file replaces the old.
		for !ran {
			if fi, serr := os.Stat(cursor); serr == nil && (k.lastSaved == nil || !os.SameFile(fi, k.lastSaved)) {
				break
			}
			select {
			case err = <-exited:
				ran = true
			case <-time.After(5 * time.Millisecond):
			}
		}
		if !ran {
			select {
			case err = <-exited:
				ran = true
			case <-time.After(delay):
				if serr := cmd.Process.Signal(sig); serr != nil {
					t.Fatal(serr)
				}
			}
		}
	}
	if !ran {
		select {
		case err = <-exited:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("run %d: still running after 2 minutes\n%s\n%s", n, stdout.String(), stderr.String())
		}
	}

	// How did it end?
	var ee *exec.ExitError
	status := "finished"
	stopped := false
	switch {
	case err == nil:
	case errors.As(err, &ee) && sig == syscall.SIGKILL && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		status, stopped = "killed", true
	case errors.As(err, &ee) && sig == syscall.SIGINT && ee.ExitCode() == 130:
		status, stopped = "interrupted", true
		if !strings.Contains(stderr.String(), "interrupted; run the same command again to resume") {
			t.Errorf("run %d: interrupted without saying so:\n%s", n, stderr.String())
		}
	default:
		t.Fatalf("run %d: %v\n%s\n%s", n, err, stdout.String(), stderr.String())
	}

	cp, beyond := k.check(n, sig == syscall.SIGKILL && stopped)
	what := "to the end"
	if sig != 0 {
		what = map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGINT: "SIGINT"}[sig] +
			" " + delay.Round(time.Millisecond).String() + " into reading"
	}
	t.Logf("run %d: -parallel %d, %s: %s; checkpoint %d -> %d of %d rows, done %v%s",
		n, parallel, what, status, k.lastRows, cp.Rows, len(k.want), cp.Done, beyond)
	if cp.Rows < k.lastRows {
		t.Errorf("run %d: the checkpoint went back from %d rows to %d", n, k.lastRows, cp.Rows)
	}
	k.lastRows = cp.Rows
	return stopped, cp
}

// check reads the checkpoint a run left and checks that the output it
// covers holds cp.Rows rows of the table, each once. A run that was not
// killed leaves nothing beyond its checkpoint; what a killed one left there
// (which the next run drops) is described.
func (k *killRun) check(n int, killed bool) (checkpoint, string) {
	t := k.t
	t.Helper()
	cursor := k.out + ".cursor"
	data, err := os.ReadFile(cursor)
	if err != nil {
		t.Fatalf("run %d: %v", n, err)
	}
	if k.lastSaved, err = os.Stat(cursor); err != nil {
		t.Fatal(err)
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		t.Fatalf("run %d: checkpoint %s: %v", n, data, err)
	}
	if !cp.Scan {
		t.Fatalf("run %d: the checkpoint is not a scan's: %s", n, data)
	}
	csvData, err := os.ReadFile(k.out + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(csvData)) < cp.CSVBytes {
		t.Fatalf("run %d: the CSV file holds %d bytes, its checkpoint counts %d", n, len(csvData), cp.CSVBytes)
	}
	if !killed && int64(len(csvData)) != cp.CSVBytes {
		t.Errorf("run %d: %d bytes in the CSV file beyond its checkpoint", n, int64(len(csvData))-cp.CSVBytes)
	}
	what := "run " + strconv.Itoa(n)
	distinct(t, what+": CSV up to the checkpoint", k.want, parseCSV(t, k.out+".csv", csvData[:cp.CSVBytes]), int(cp.Rows))
	p := paths{base: k.out}
	var parts []string
	for i := 1; i <= cp.Parts; i++ {
		parts = append(parts, p.part(i))
	}
	distinct(t, what+": Parquet parts the checkpoint counts", k.want, readParquet(t, parts), int(cp.Rows))
	left := partFiles(t, filepath.Dir(k.out))
	if !killed {
		if len(left) != cp.Parts {
			t.Errorf("run %d: Parquet files %v, the checkpoint counts %d", n, left, cp.Parts)
		}
		return cp, ""
	}
	return cp, fmt.Sprintf("; beyond it, %d CSV bytes and %d Parquet files", int64(len(csvData))-cp.CSVBytes, len(left)-cp.Parts)
}
