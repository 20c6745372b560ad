package main

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// svg is a minimal SVG writer: the few shapes a line chart needs.
type svg struct{ b strings.Builder }

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func esc(text string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(text))
	return b.String()
}

func (s *svg) line(x1, y1, x2, y2 float64, stroke string, width float64, dash string) {
	s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"`, x1, y1, x2, y2, stroke, width)
	if dash != "" {
		s.printf(` stroke-dasharray="%s"`, dash)
	}
	s.printf("/>\n")
}

// text anchors: "start", "middle", "end".
func (s *svg) text(x, y float64, size int, anchor, weight, fill, text string) {
	s.printf(`<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>`+"\n",
		x, y, size, anchor, weight, fill, esc(text))
}

func (s *svg) polyline(pts [][2]float64, stroke string, dash string) {
	var p []string
	for _, pt := range pts {
		p = append(p, fmt.Sprintf("%.1f,%.1f", pt[0], pt[1]))
	}
	s.printf(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"`, strings.Join(p, " "), stroke)
	if dash != "" {
		s.printf(` stroke-dasharray="%s"`, dash)
	}
	s.printf("/>\n")
}

func (s *svg) circle(x, y, r float64, fill string) {
	s.printf(`<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", x, y, r, fill)
}

// series is one contender's line in a panel.
type series struct {
	name string
	xs   []float64 // fetch sizes
	ys   []float64
}

// style gives each contender a colour, and the cqlseq ones a solid line.
var style = map[string]struct{ color, dash string }{
	"driver":  {"#222222", "6 3"},
	"mapscan": {"#999999", "2 3"},
	"gocqlx":  {"#d95f02", "6 3"},
	"stream":  {"#1b9e77", ""},
	"pages":   {"#7570b3", ""},
	"cqlseqx": {"#e7298a", ""},
	// The Python peers (peers/peers.py).
	"async-cassandra":  {"#1f78b4", "8 3 2 3"},
	"cassandra-driver": {"#a6761d", "8 3 2 3"},
	// Whole-table reads (cmd/scanbench).
	"scan":  {"#3050c0", ""},
	"split": {"#d95f02", "6 3"},
}

func styleOf(name string) (string, string) {
	if st, ok := style[name]; ok {
		return st.color, st.dash
	}
	return "#66a61e", "1 2"
}

// niceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

const fetchAxis = "fetch size (rows per page, log scale)"

// panel draws one chart: y against x (fetch size or parallelism, log
// scale) for each series.
func (s *svg) panel(x0, y0, w, h float64, title, xLabel, yLabel string, yFmt func(float64) string, ss []series) {
	const left, right, top, bottom = 70, 30, 28, 40
	px, py, pw, ph := x0+left, y0+top, w-left-right, h-top-bottom
	s.text(x0+w/2, y0+16, 14, "middle", "bold", "#000", title)

	var xmin, xmax, ymax = math.Inf(1), math.Inf(-1), 0.0
	for _, se := range ss {
		for i, x := range se.xs {
			if math.IsNaN(se.ys[i]) {
				continue
			}
			xmin, xmax, ymax = math.Min(xmin, x), math.Max(xmax, x), math.Max(ymax, se.ys[i])
		}
	}
	if math.IsInf(xmin, 0) {
		s.text(px+pw/2, py+ph/2, 12, "middle", "normal", "#666", "no data")
		return
	}
	if xmin == xmax {
		xmin, xmax = xmin/2, xmax*2
	}
	ymax = niceMax(ymax)
	lx := func(x float64) float64 {
		return px + (math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*pw
	}
	ly := func(y float64) float64 { return py + ph - y/ymax*ph }

	// Grid and axes.
	for i := 0; i <= 5; i++ {
		y := ymax * float64(i) / 5
		s.line(px, ly(y), px+pw, ly(y), "#e5e5e5", 1, "")
		s.text(px-6, ly(y)+4, 11, "end", "normal", "#333", yFmt(y))
	}
	if len(ss) > 0 { // the first series' x values mark the axis
		for _, x := range ss[0].xs {
			s.line(lx(x), py, lx(x), py+ph, "#f0f0f0", 1, "")
			s.text(lx(x), py+ph+16, 11, "middle", "normal", "#333", strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
	s.line(px, py+ph, px+pw, py+ph, "#333", 1, "")
	s.line(px, py, px, py+ph, "#333", 1, "")
	s.text(px+pw/2, py+ph+32, 11, "middle", "normal", "#333", xLabel)
	s.printf(`<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#333" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
		x0+14, py+ph/2, x0+14, py+ph/2, esc(yLabel))

	for _, se := range ss {
		color, dash := styleOf(se.name)
		var pts [][2]float64
		for i, x := range se.xs {
			if !math.IsNaN(se.ys[i]) {
				pts = append(pts, [2]float64{lx(x), ly(se.ys[i])})
			}
		}
		if len(pts) == 0 {
			continue // not measured for this contender (the Python peers' heap)
		}
		s.polyline(pts, color, dash)
		for _, p := range pts {
			s.circle(p[0], p[1], 3, color)
		}
	}
}

// Chart draws rows/s and peak heap against fetch size, one column per data
// set, every contender a line; the caption names the machine and date.
func Chart(raw *Raw) string {
	sets := raw.Values("Read", "set")
	impls := raw.Values("Read", "impl")
	const pw, ph = 520.0, 300.0
	width := pw * float64(max(len(sets), 1))
	// The legend: as many entries a line as fit.
	type entry struct {
		impl string
		x, y float64
	}
	var legend []entry
	lx, ly := 20.0, 0.0
	for _, impl := range impls {
		wd := 34 + 7*float64(len(legendName(impl))) + 16
		if lx > 20 && lx+wd > width {
			lx, ly = 20, ly+20
		}
		legend = append(legend, entry{impl, lx, ly})
		lx += wd
	}
	height := 60 + 2*ph + 50 + ly + 20
	var s svg
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n",
		width, height, width, height)
	s.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	s.text(width/2, 22, 16, "middle", "bold", "#000", "cqlseq and its peers on Apache Cassandra: rows/s and peak heap against fetch size")
	c := raw.Config
	s.text(width/2, 42, 11, "middle", "normal", "#444", fmt.Sprintf("%s cores, %s, %s; Go %s, Java %s, Cassandra %s; %s; medians of %d rounds",
		orDash(c["cores"]), orDash(c["memory"]), orDash(c["cpu"]), orDash(c["go"]), orDash(c["java"]), orDash(c["cassandra"]), orDash(c["date"]), roundsOf(raw)))

	for i, set := range sets {
		collect := func(unit string, scale float64) []series {
			var ss []series
			for _, impl := range impls {
				se := series{name: impl}
				for _, f := range raw.Values("Read", "fetch") {
					x, err := strconv.ParseFloat(f, 64)
					if err != nil {
						continue
					}
					se.xs = append(se.xs, x)
					se.ys = append(se.ys, raw.Stats("Read", unit, "set="+set, "fetch="+f, "impl="+impl).Median*scale)
				}
				ss = append(ss, se)
			}
			return ss
		}
		x0 := float64(i) * pw
		s.panel(x0, 56, pw, ph, set+" rows: throughput", fetchAxis, "rows/s (thousands)", func(v float64) string {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}, collect("rows/s", 1e-3))
		s.panel(x0, 56+ph, pw, ph, set+" rows: peak heap while streaming", fetchAxis, "peak heap (MiB)", func(v float64) string {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}, collect("peak-heap-B", 1.0/(1<<20)))
	}

	// Legend.
	for _, e := range legend {
		color, dash := styleOf(e.impl)
		x, y := e.x, 60+2*ph+46+e.y
		s.line(x, y-4, x+28, y-4, color, 2, dash)
		s.circle(x+14, y-4, 3, color)
		s.text(x+34, y, 12, "start", "normal", "#000", legendName(e.impl))
	}
	s.printf("</svg>\n")
	return s.b.String()
}

func legendName(impl string) string {
	switch impl {
	case "driver":
		return "v2 hand-written (baseline)"
	case "mapscan":
		return "v2 MapScan"
	case "gocqlx":
		return "gocqlx StructScan"
	case "stream":
		return "cqlseq Stream"
	case "pages":
		return "cqlseq Pages"
	case "cqlseqx":
		return "cqlseqx Stream"
	case "async-cassandra":
		return "async-cassandra execute_stream (Python)"
	case "cassandra-driver":
		return "cassandra-driver paging (Python)"
	}
	return impl
}
