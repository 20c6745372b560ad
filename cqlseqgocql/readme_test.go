package cqlseqgocql_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The repository README's example for cqlseqgocql compiles, as the body of
// a function that has a context and a gocql session.
func TestREADMEExampleCompiles(t *testing.T) {
	md, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(md), -1) {
		if !strings.Contains(m[1], "cqlseqgocql.Stream") {
			continue
		}
		n++
		tmp, err := os.MkdirTemp(".", "zz_readme_")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		src := `package main

import (
	"context"
	"fmt"

	"github.com/gocql/gocql"

	"github.com/cqlseq/cqlseq"
	"github.com/cqlseq/cqlseq/cqlseqgocql"
)

func run(ctx context.Context, session *gocql.Session) error {
` + m[1] + "\treturn nil\n}\n\nfunc main() { _ = run; _ = fmt.Sprint }\n"
		if err := os.WriteFile(filepath.Join(tmp, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-o", os.DevNull, "./"+filepath.Base(tmp))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("README example does not compile: %v\n%s\n%s", err, out, src)
		}
	}
	if n == 0 {
		t.Fatal("README.md has no example of cqlseqgocql.Stream")
	}
}
