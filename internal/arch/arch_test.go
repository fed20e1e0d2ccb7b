package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/nnkit/nnkit/"

// rules is nnkit's one dependency rule set. A unit is a package path
// inside the module with everything below it, unless a longer unit claims
// a sub-tree (lint/probe is not part of lint); a package belongs to the
// longest unit that holds it. may lists the units a unit's packages may
// import (packages of the same unit import each other freely). Since every
// unit may only import units listed before it, what a unit depends on
// through others is the closure of these edges, and the Go toolchain
// forbids cycles besides.
var rules = []struct {
	unit string
	may  []string
}{
	// Leaves: opening and writing files without blocking or damage; the
	// builder of hand-made .npy bytes and the pseudo-terminals, for tests
	// only (no package may import them); this test.
	{"internal/safefile", nil},
	{"internal/npytest", nil},
	{"internal/ptytest", nil},
	{"internal/arch", nil},
	// The graph IR imports nothing of ours.
	{"ir", nil},
	// Graphs of a given size built for tests (tests only import it).
	{"internal/irtest", []string{"ir"}},
	// ONNX files, and arrays with their NumPy files, read and written.
	{"onnxio", []string{"ir", "internal/safefile"}},
	{"tensor", []string{"ir", "internal/safefile"}},
	// The executor runs graphs on tensors.
	{"exec", []string{"ir", "tensor"}},
	// Data, losses, optimizers, the loop, the doctor and the ONNX it
	// writes: never onnxio (cmd reads and writes the model files), lint or
	// a command.
	{"train", []string{"exec", "ir", "tensor", "internal/safefile"}},
	// Lint's core, rules and formatters see the graph only (NN503's list
	// of the executor's ops is generated from exec's table and checked
	// against it by a test); the probe runs the model on the executor.
	{"lint", []string{"ir"}},
	{"lint/probe", []string{"ir", "lint", "exec", "tensor"}},
	{"lint/rules", []string{"ir", "lint"}},
	// The summary table classifies the export with lint's classifier (the
	// one NN501 uses), so nnlint summary and nnlint agree; it runs nothing.
	{"summary", []string{"ir", "lint"}},
	// Only the commands wire files, flags and the rest together.
	{"cmd", []string{"ir", "onnxio", "tensor", "exec", "train", "lint", "lint/probe", "lint/rules", "summary", "internal/safefile"}},
}

// unitOf is the longest unit holding a package path (relative to the
// module), or "".
func unitOf(rel string) string {
	best := ""
	for _, r := range rules {
		if (rel == r.unit || strings.HasPrefix(rel, r.unit+"/")) && len(r.unit) > len(best) {
			best = r.unit
		}
	}
	return best
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	may := map[string][]string{}
	order := map[string]int{}
	for i, r := range rules {
		may[r.unit] = r.may
		order[r.unit] = i
		for _, m := range r.may {
			if j, ok := order[m]; !ok || j >= i {
				t.Errorf("rule %s may import %s, which is not a unit listed before it", r.unit, m)
			}
		}
	}
	used := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath, Dir  string
			Imports, GoFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		// go test caches this test's result until a file the test itself
		// looked at changes; `go list` reading the sources does not count.
		os.ReadDir(p.Dir)
		for _, f := range p.GoFiles {
			os.Stat(filepath.Join(p.Dir, f))
		}
		from := unitOf(strings.TrimPrefix(p.ImportPath, mod))
		if from == "" {
			t.Errorf("package %s is in no unit: add it to the rules", p.ImportPath)
			continue
		}
		used[from] = true
		for _, imp := range p.Imports {
			rel, ours := strings.CutPrefix(imp, mod)
			if !ours {
				continue
			}
			to := unitOf(rel)
			if to != from && !slices.Contains(may[from], to) {
				t.Errorf("%s imports %s: %s may import only %v", p.ImportPath, imp, from, may[from])
			}
		}
	}
	for _, r := range rules {
		if !used[r.unit] {
			t.Errorf("rule for %s matches no package: the layout changed, update the rules", r.unit)
		}
	}
}
