package lint_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection enforces DEVELOPERS.md's layering for the lint
// packages: lint and lint/format import only ir of nnkit; the probe (and
// the rules, for the executor's supported-op list) may use exec; nothing in
// lint does file I/O through onnxio or reaches train or cmd.
func TestDependencyDirection(t *testing.T) {
	allowed := map[string][]string{
		"github.com/nnkit/nnkit/lint":        {"ir"},
		"github.com/nnkit/nnkit/lint/format": {"ir", "lint"},
		"github.com/nnkit/nnkit/lint/probe":  {"ir", "lint", "exec"},
		"github.com/nnkit/nnkit/lint/rules":  {"ir", "lint", "exec"},
	}
	for pkg, ok := range allowed {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ours := strings.CutPrefix(dep, "github.com/nnkit/nnkit/")
			if !ours || dep == pkg {
				continue
			}
			top := strings.Split(rest, "/")[0]
			if rest == "lint" || rest == "lint/format" || rest == "lint/probe" || rest == "lint/rules" {
				top = rest
			}
			good := false
			for _, a := range ok {
				good = good || top == a || strings.HasPrefix(rest, a+"/internal")
			}
			if !good {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
