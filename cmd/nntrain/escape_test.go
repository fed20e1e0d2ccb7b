package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// Errors naming nodes of the user's model are written to stderr with their
// control characters escaped (issue 9, point 14).
func TestStderrEscapesNames(t *testing.T) {
	dir := t.TempDir()
	g := ir.NewGraph("g")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(4)}))
	n := g.AddNode("Relu", "evil\x1b[2J\n::error::pwned", []*ir.Value{x}, 2)
	g.AddOutput(n.Outputs[0])
	path := filepath.Join(dir, "m.onnx")
	if err := onnxio.WriteFile(path, &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}, nil); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{path, dir}, {"predict", path, filepath.Join(dir, "x.npy"), "-o", filepath.Join(dir, "y.npy")}, {"export", path}} {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		s := errb.String()
		if code == 0 || strings.Contains(s, "\x1b") || !strings.Contains(s, `evil\x1b[2J`) {
			t.Errorf("%v: exit %d, stderr %q: want an error showing the node name escaped", args[0], code, s)
		}
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
				t.Errorf("%v: stderr line %q starts a workflow command", args[0], line)
			}
		}
	}
}
