//go:build unix

package lint_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nnkit/nnkit/lint"
)

// A configuration path naming a FIFO is refused at once (opening it would
// block), and an oversized file is refused before it is read.
func TestLoadConfigRefusesNonRegularAndHuge(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, ".nnlint.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lint.LoadConfig(fifo, testRules); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v, want a refusal", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, lint.MaxConfigBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := lint.LoadConfig(big, testRules); err == nil || !strings.Contains(err.Error(), "at most 1048576") {
		t.Errorf("huge file: %v, want a refusal", err)
	}
}
