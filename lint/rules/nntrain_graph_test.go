package rules_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/export"
)

// NN501 recognizes what nntrain writes: its inference graph is flagged as
// one even when nothing in the graph shows it (dropoutnet: the Dropout is
// simply gone), its training graph (--keep-training-graph) is not, and an
// inference graph with nothing converted (no BatchNorm, no Dropout) is the
// training graph and is not flagged either.
func TestNN501RecognizesNntrainGraphs(t *testing.T) {
	dir := t.TempDir()
	write := func(src, kind string) string {
		m, err := onnxio.ReadFile(models + src)
		if err != nil {
			t.Fatal(err)
		}
		if kind == export.KindInference {
			if m, _, err = export.Inference(m); err != nil {
				t.Fatal(err)
			}
		} else {
			export.Mark(m, kind)
		}
		path := filepath.Join(dir, filepath.Dir(src)+"_"+strings.TrimSuffix(filepath.Base(src), ".onnx")+"_"+kind+".onnx")
		if err := onnxio.WriteFile(path, m, nil); err != nil {
			t.Fatal(err)
		}
		return path
	}
	nn304 := []want{{"NN304", "/fc1/Gemm", lint.Info, ""}, {"NN304", "/fc2/Gemm", lint.Info, ""}}
	cases := []struct {
		file  string
		wants []want
	}{
		{write("robustnet/train.onnx", export.KindInference), append([]want{{"NN501", "/bn1/BatchNormalization", lint.Info,
			`^nntrain wrote this file as an inference graph \(2 BatchNormalization on running statistics, 2 Dropout removed\): right for deployment`}}, nn304...)},
		// Its Dropout(0.5) → fc2 → bn2 has a measured variance shift (NN302).
		{write("robustnet/train.onnx", export.KindTraining), append([]want{{"NN302", "/drop1/Dropout", lint.Warning, `variance shift of 2\.`}}, nn304...)},
		{write("dropoutnet/train.onnx", export.KindInference), []want{{"NN501", "/fc1/Gemm", lint.Info, `\(1 Dropout removed\)`}}},
		{write("dropoutnet/train_opset15.onnx", export.KindTraining), nil},
		{write("mlp_digits/train.onnx", export.KindInference), nil},
		// A training graph trained from an eval export is still one.
		{write("robustnet/eval.onnx", export.KindTraining), append([]want{{"NN501", "/bn1/BatchNormalization", lint.Info, `2 BatchNormalizations use running statistics`}}, nn304...)},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			expect(t, check(t, c.file, nil), c.wants)
		})
	}
}
