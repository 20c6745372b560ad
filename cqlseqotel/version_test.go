package cqlseqotel_test

import (
	"errors"
	"io/fs"
	"os"
	"regexp"
	"testing"

	"github.com/cqlseq/cqlseq/cqlseqotel"
)

// Version is the version CHANGELOG.md names last, which the release
// tags: the scope's version stays the module's.
func TestVersion(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("CI") != "true" {
		// The module tested outside the repository (from the module
		// cache): its CHANGELOG.md is not there. In CI it always is.
		t.Skip("no CHANGELOG.md beside the module: not in the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## .*?\bv(\d+\.\d+\.\d+)\b`).FindSubmatch(b)
	if m == nil {
		t.Fatal("CHANGELOG.md names no version in a heading")
	}
	if string(m[1]) != cqlseqotel.Version {
		t.Fatalf("Version is %q, CHANGELOG.md's last version %q", cqlseqotel.Version, m[1])
	}
}
