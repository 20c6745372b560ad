// Command report turns the raw output of bench/run.sh into the results a
// reader wants: a markdown file with the tables and the ratios issue 5 asks
// for (each target stated, measured and marked met or not), and an SVG
// chart of rows/s and peak heap against fetch size.
//
//	go run ./cmd/report -in results/raw.txt -md results/README.md -svg results/chart.svg
//
// Every figure is the median of the rounds in the raw file; the machine and
// the date come from its configuration lines.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	in := flag.String("in", "results/raw.txt", "raw benchmark output")
	md := flag.String("md", "results/README.md", "markdown report to write")
	chart := flag.String("svg", "results/chart.svg", "SVG chart to write")
	scanChart := flag.String("scan-svg", "results/scan.svg", "SVG chart of the whole-table reads to write, if the raw output has them")
	flag.Parse()
	if err := run(*in, *md, *chart, *scanChart); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in, md, chart, scanChart string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(raw.Results) == 0 {
		return fmt.Errorf("%s holds no benchmark results", in)
	}
	if err := os.WriteFile(chart, []byte(Chart(raw)), 0o644); err != nil {
		return err
	}
	rel := func(path string) string {
		r, err := filepath.Rel(filepath.Dir(md), path)
		if err != nil {
			r = path
		}
		return filepath.ToSlash(r)
	}
	scanRel := ""
	if svg := ScanChart(raw); svg != "" {
		if err := os.WriteFile(scanChart, []byte(svg), 0o644); err != nil {
			return err
		}
		scanRel = rel(scanChart)
	}
	return os.WriteFile(md, []byte(Markdown(raw, rel(chart), scanRel)), 0o644)
}
