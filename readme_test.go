package cqlseq_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goBlocks returns the Go code blocks of a Markdown file.
func goBlocks(t *testing.T, path string) []string {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(md), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// buildSnippet builds code, the body of a function, in a program of its own
// inside the module in dir, with header (package clause, imports and the
// function's signature) before it.
func buildSnippet(t *testing.T, dir, header, code string) {
	t.Helper()
	buildProgram(t, dir, header+code+"\treturn nil\n}\n\nfunc main() { _ = run }\n")
}

// buildProgram builds src, a whole program, inside the module in dir.
func buildProgram(t *testing.T, dir, src string) {
	t.Helper()
	tmp, err := os.MkdirTemp(dir, "zz_readme_")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./"+filepath.Base(tmp))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README program does not compile: %v\n%s\n%s", err, out, src)
	}
}

// The README's examples for this package compile: a whole program as it
// is, the others as the body of a function that has a context and a
// session.
func TestREADMEExamplesCompile(t *testing.T) {
	n := 0
	for _, code := range goBlocks(t, "README.md") {
		if !strings.Contains(code, "cqlseq.Stream") || strings.Contains(code, "cqlseqx.") {
			continue
		}
		n++
		if strings.HasPrefix(code, "package main\n") {
			buildProgram(t, ".", code) // a whole program, built as it is
			continue
		}
		buildSnippet(t, ".", `package main

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlseq/cqlseq"
)

var _ = fmt.Sprint

func run(ctx context.Context, session *gocql.Session) error {
`, code)
	}
	if n == 0 {
		t.Fatal("README.md has no example of cqlseq.Stream")
	}
}

// A new user needs two commands from README.md: "Run it" runs the demo,
// "Test it" runs every test; CI runs the second one, the same script.
func TestREADMECommands(t *testing.T) {
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for section, cmd := range map[string]string{"Run it": "examples/demo.sh", "Test it": "testing/test.sh"} {
		re := regexp.MustCompile("(?s)\n## " + section + "\n\n```sh\n" + regexp.QuoteMeta(cmd) + "\n```\n")
		if !re.Match(md) {
			t.Errorf("README.md has no section %q whose command is %s", section, cmd)
		}
		if _, err := os.Stat(cmd); err != nil {
			t.Errorf("README.md's %q command: %v", section, err)
		}
	}
	ci, err := os.ReadFile(".ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^exec testing/test\.sh$`).Match(ci) {
		t.Errorf(".ci/run does not run README.md's test command, testing/test.sh:\n%s", ci)
	}
}
