package arch

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/nnkit/nnkit/"

// allowed lists, per top-level package tree, the nnkit trees it may import
// (directly or not). Trees not listed may import nothing of ours.
// internal/ holds leaf helpers (safefile: opening and writing files
// without blocking or damage) that import nothing of ours.
var allowed = map[string][]string{
	"ir":       {},
	"onnxio":   {"ir", "internal"},
	"exec":     {"ir"},
	"train":    {"exec", "ir", "internal"},
	"lint":     {"ir", "exec"},
	"internal": {},
	"cmd":      {"ir", "onnxio", "exec", "train", "lint", "cmd", "internal"},
}

func tree(pkg string) string {
	rel := strings.TrimPrefix(pkg, mod)
	if i := strings.IndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return rel
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from := tree(p.ImportPath)
		ok, known := allowed[from]
		if !known {
			t.Errorf("package %s is in an unknown tree %q: add it to the rules", p.ImportPath, from)
			continue
		}
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, mod) {
				continue
			}
			to := tree(d)
			if to == from {
				continue
			}
			permitted := false
			for _, a := range ok {
				permitted = permitted || a == to
			}
			if !permitted {
				t.Errorf("%s depends on %s: %s may not import %s", p.ImportPath, d, from, to)
			}
		}
	}
	if n < 5 {
		t.Fatalf("go list found only %d packages", n)
	}
}
