package summary

import (
	"strings"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/export"
)

// The export mode of what nntrain writes: its inference graph is one even
// when nothing in it shows a mode (dropoutnet without its Dropout), with a
// note saying where it came from; its training graph is a training graph.
func TestExportModeOfNntrainGraphs(t *testing.T) {
	for _, c := range []struct {
		model, kind, want string
	}{
		{"dropoutnet/train.onnx", export.KindInference, "inference"},
		{"robustnet/train.onnx", export.KindInference, "inference"},
		{"robustnet/train.onnx", export.KindTraining, "training"},
		{"mlp_digits/train.onnx", export.KindTraining, "training"},
	} {
		m, err := onnxio.ReadFile("../testdata/models/" + c.model)
		if err != nil {
			t.Fatal(err)
		}
		if c.kind == export.KindInference {
			if m, _, err = export.Inference(m); err != nil {
				t.Fatal(err)
			}
		} else {
			export.Mark(m, c.kind)
		}
		s, err := Build(m, c.model)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(s.Notes, "\n")
		if s.ExportMode != c.want || (c.want == "inference") != strings.Contains(notes, "written by nntrain") {
			t.Errorf("%s as %s: export_mode %q, notes %q", c.model, c.kind, s.ExportMode, notes)
		}
	}
}
