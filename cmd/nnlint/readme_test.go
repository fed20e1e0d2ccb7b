package main

import (
	"os"
	"strings"
	"testing"
)

// The README's first command lints a shipped model that has findings: the
// sigmoid MLP's saturating chain (NN101) and vanishing gradients measured by
// the probe (NN601), exit 1. This runs the README's own command line.
func TestReadmeFirstCommand(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## First steps")
	if i < 0 {
		t.Fatal("README has no First steps section")
	}
	block := s[i:]
	j := strings.Index(block, "```sh\n")
	if j < 0 {
		t.Fatal("First steps has no sh block")
	}
	first := strings.SplitN(block[j+len("```sh\n"):], "\n", 2)[0]
	rest, ok := strings.CutPrefix(first, "go run ./cmd/nnlint ")
	if !ok {
		t.Fatalf("the first command is %q, not nnlint", first)
	}
	args := strings.Fields(rest)
	for k, a := range args {
		if strings.HasPrefix(a, "testdata/") {
			args[k] = "../../" + a
		}
	}
	code, stdout, stderr := nnlint(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (findings): %s", code, stderr)
	}
	for _, want := range []string{"error NN101 saturating-chain", "0.25^12", "error NN601 vanishing-gradients", "fix: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
