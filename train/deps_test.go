package train

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection: train → exec (and its internal packages), ir only (no file formats, no
// commands, no lint).
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/nnkit/nnkit/") {
			continue
		}
		rest := strings.TrimPrefix(p, "github.com/nnkit/nnkit/")
		switch {
		case rest == "exec" || strings.HasPrefix(rest, "exec/") || rest == "ir" || rest == "train" || strings.HasPrefix(rest, "train/"),
			rest == "internal/safefile": // opening files without blocking on FIFOs
		default:
			t.Errorf("train depends on %s", p)
		}
	}
}
