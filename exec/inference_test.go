package exec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// Forward-only programs share memory between values with disjoint
// lifetimes; their results must not change.
func TestInferencePrograms(t *testing.T) {
	for _, name := range fixtureNames(t) {
		g := loadGolden(t, name)
		for _, f := range g.meta.Files {
			if !strings.Contains(f, ".onnx") {
				continue
			}
			m, err := onnxio.ReadFile(filepath.Join(g.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			x := g.get(t, "input")
			in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}
			var sizes [2]int
			for k, inference := range []bool{false, true} {
				p, err := Compile(m, Options{Inference: inference})
				if err != nil {
					t.Fatal(err)
				}
				out, err := p.Run(Eval, in)
				if err != nil {
					t.Fatalf("%s/%s: %v", name, f, err)
				}
				// eval.onnx has BN folded in float32: 1e-5 as in TestFixtures
				if e := relErr(out["output"].F, g.get(t, "eval_output").f); e > 1e-5 {
					t.Errorf("%s/%s inference=%v: relative error %.3g", name, f, inference, e)
				}
				sizes[k] = p.e.last.floats()
				if inference {
					if err := p.Backward(nil); err == nil {
						t.Errorf("%s/%s: Backward on an inference program", name, f)
					}
				}
			}
			if sizes[1] >= sizes[0] && len(m.Graph.Nodes) > 4 {
				t.Errorf("%s/%s: inference plan holds %d values, the training plan %d", name, f, sizes[1], sizes[0])
			}
			if name == "resnet18" && f == "eval.onnx.gz" {
				t.Logf("resnet18 eval plan at batch 4: %d values, %d with Inference", sizes[0], sizes[1])
			}
		}
	}
}
