package ir_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// shapeGolden is one testdata/shapes/<model>__<stem>.json file, written by
// testdata/shapes/make_shapes.py: the concrete shapes of every value of a
// fixture, as a numpy interpreter (checked against PyTorch's outputs)
// computed them at two batch sizes.
type shapeGolden struct {
	Model   string  `json:"model"`
	File    string  `json:"file"`
	Batches []int64 `json:"batches"`
	Values  []struct {
		Name     string    `json:"name"`
		ElemType int32     `json:"elem_type"`
		Shapes   [][]int64 `json:"shapes"`
	} `json:"values"`
}

func fixtureModelFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"../testdata/models/*/*.onnx", "../testdata/models/*/*.onnx.gz"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d fixture models", len(files))
	}
	slices.Sort(files)
	return files
}

// forgetDeclaredTypes removes what the file declares about node outputs
// (graph output types, value_info), so that a test sees what inference
// itself finds rather than what the exporter wrote down.
func forgetDeclaredTypes(g *ir.Graph) {
	for _, v := range g.Outputs {
		if v.Producer != nil {
			v.Type = nil
		}
	}
	for _, v := range g.ValueInfo {
		v.Type = nil
	}
}

func shapeGoldenPath(model string) string {
	dir := filepath.Base(filepath.Dir(model))
	stem, _, _ := strings.Cut(filepath.Base(model), ".onnx")
	return filepath.Join("../testdata/shapes", dir+"__"+stem+".json")
}

// TestInferShapesFixtures infers every fixture once, symbolically, and
// checks that substituting batch = 3 and batch = 5 gives exactly the shapes
// the models have when run at those batch sizes, for every graph input and
// every node output, and that no value is left without a type and rank.
func TestInferShapesFixtures(t *testing.T) {
	for _, path := range fixtureModelFiles(t) {
		name := strings.TrimPrefix(path, "../testdata/models/")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(shapeGoldenPath(path))
			if err != nil {
				t.Fatalf("no golden shapes (run /usr/bin/python3 testdata/shapes/make_shapes.py): %v", err)
			}
			var gold shapeGolden
			if err := json.Unmarshal(raw, &gold); err != nil {
				t.Fatal(err)
			}
			if len(gold.Batches) != 2 || gold.Batches[0] == gold.Batches[1] {
				t.Fatalf("golden file needs two different batch sizes, has %v", gold.Batches)
			}
			m, err := onnxio.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// With the exporter's declared output types, inference must
			// agree with them; then, without them, find everything itself.
			if _, err := ir.InferShapes(m); err != nil {
				t.Fatalf("InferShapes with declared types: %v", err)
			}
			forgetDeclaredTypes(m.Graph)
			rep, err := ir.InferShapes(m)
			if err != nil {
				t.Fatalf("InferShapes: %v", err)
			}
			if !rep.Complete() {
				t.Errorf("incomplete: %s", rep)
			}
			g := m.Graph
			recorded := map[string]bool{}
			for _, want := range gold.Values {
				recorded[want.Name] = true
				v := g.Value(want.Name)
				if v == nil {
					t.Errorf("%s: no such value in the graph", want.Name)
					continue
				}
				if got := v.Elem(); got != ir.DType(want.ElemType) {
					t.Errorf("%s: element type %s, want %s", want.Name, got, ir.DType(want.ElemType))
				}
				for i, b := range gold.Batches {
					got, ok := v.Shape().Eval(map[string]int64{"batch": b})
					if !ok || !slices.Equal(got, want.Shapes[i]) {
						t.Errorf("%s: inferred %s gives %v at batch %d, want %v", want.Name, v.Shape(), got, b, want.Shapes[i])
					}
				}
			}
			// Every value is covered: graph inputs and every node output.
			for _, v := range g.DataInputs() {
				if !recorded[v.Name] {
					t.Errorf("input %s is not in the golden file", v.Name)
				}
			}
			for _, n := range g.Nodes {
				for _, v := range n.Outputs {
					if v == nil {
						continue
					}
					if !recorded[v.Name] {
						t.Errorf("%s (output of %s) is not in the golden file", v.Name, n.OpType)
					}
					if v.Shape().Rank() < 0 || v.Elem() == ir.Undefined {
						t.Errorf("%s (output of %s) has no type or rank", v.Name, n.OpType)
					}
				}
			}
		})
	}
}

// TestInferShapesFixtureSymbols spot-checks the symbolic forms the exports
// of testdata/models are known for: attention heads reshaped to
// [T, 4·batch, 8], Flatten of [batch, C, H, W], LSTM state from a
// runtime-computed ConstantOfShape.
func TestInferShapesFixtureSymbols(t *testing.T) {
	cases := []struct{ file, value, want string }{
		{"transformer_encoder/eval.onnx", "/encoder/layers.0/self_attn/Reshape_output_0", "[8, 4*batch, 8]"},
		{"transformer_encoder/eval.onnx", "/encoder/layers.0/self_attn/Concat_output_0", "[3]"},
		{"transformer_encoder/eval.onnx", "/encoder/layers.0/self_attn/Reshape_3_output_0", "[8*batch, 32]"},
		{"transformer_encoder/eval.onnx", "/encoder/layers.0/self_attn/Softmax_output_0", "[4*batch, 8, 8]"},
		{"lstm_classifier/train.onnx", "/lstm/ConstantOfShape_output_0", "[1, batch, 16]"},
		{"lstm_classifier/train.onnx", "/lstm/LSTM_output_0", "[6, 1, batch, 16]"},
		{"lstm_classifier/train.onnx", "/Gather_output_0", "[batch, 16]"},
		{"small_cnn/eval.onnx", "output", "[batch, 10]"},
	}
	models := map[string]*ir.Model{}
	for _, c := range cases {
		m := models[c.file]
		if m == nil {
			var err error
			if m, err = onnxio.ReadFile("../testdata/models/" + c.file); err != nil {
				t.Fatal(err)
			}
			if _, err := ir.InferShapes(m); err != nil {
				t.Fatal(err)
			}
			models[c.file] = m
		}
		v := m.Graph.Value(c.value)
		if v == nil {
			t.Fatalf("%s: no value %s", c.file, c.value)
		}
		if got := v.Shape().String(); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.file, c.value, got, c.want)
		}
	}
	// Flatten in small_cnn: find it rather than rely on a name.
	m, err := onnxio.ReadFile("../testdata/models/small_cnn/train.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ir.InferShapes(m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Flatten" {
			found = true
			s := n.Outputs[0].Shape()
			if len(s) != 2 || s[0].Param != "batch" || !s[1].Known() {
				t.Errorf("Flatten output %s, want [batch, N]", s)
			}
		}
	}
	if !found {
		t.Fatal("small_cnn has no Flatten")
	}
}

// TestInferShapesIdempotent: a second run over an already-inferred model
// gives the same types and no error (inferred types of undeclared values are
// recomputed; declared ones merge with themselves).
func TestInferShapesIdempotent(t *testing.T) {
	for _, f := range []string{"transformer_encoder/train.onnx", "lstm_classifier/train.onnx", "robustnet/train.onnx"} {
		m, err := onnxio.ReadFile("../testdata/models/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ir.InferShapes(m); err != nil {
			t.Fatal(err)
		}
		first := typesOf(m.Graph)
		rep, err := ir.InferShapes(m)
		if err != nil || !rep.Complete() {
			t.Fatalf("%s: second run: %v, %s", f, err, rep)
		}
		if second := typesOf(m.Graph); second != first {
			t.Errorf("%s: types changed on a second run", f)
		}
	}
}

func typesOf(g *ir.Graph) string {
	var b strings.Builder
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if v != nil {
				fmt.Fprintf(&b, "%s %s %s\n", v.Name, v.Elem(), v.Shape())
			}
		}
	}
	return b.String()
}

// BenchmarkInferShapesResNet18 times shape inference on the 45 MB
// torchvision ResNet-18 training export (part of `nnlint summary`).
func BenchmarkInferShapesResNet18(b *testing.B) {
	m, err := onnxio.ReadFile("../testdata/models/resnet18/train.onnx.gz")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ir.InferShapes(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInferShapesTransformer times the graph with the most shape
// arithmetic (Shape/Gather/Concat/Reshape chains).
func BenchmarkInferShapesTransformer(b *testing.B) {
	m, err := onnxio.ReadFile("../testdata/models/transformer_encoder/train.onnx")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ir.InferShapes(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInferShapesPyTorchExtras runs inference on small PyTorch exports
// (testdata/shapes/extra/, written by make_shapes.py) covering operators
// and opsets the fixture zoo lacks: LayerNormalization and attention at
// opset 17, GRU/RNN/bidirectional LSTM, ConvTranspose, ceil-mode pooling,
// Resize, DepthToSpace, Pad, Split, ReduceSum with axes as input, Where,
// Range, Expand, Tile, TopK, ArgMax, CumSum, OneHot, and the same tensor
// ops at opset 11 (axes as attributes). Every value must get a type and
// rank, and the graph outputs must have the shapes PyTorch computed at
// batch 3 and 5. Each model runs twice: with the types the exporter
// declared for its outputs (which inference must agree with) and without
// them (what inference finds on its own).
func TestInferShapesPyTorchExtras(t *testing.T) {
	raw, err := os.ReadFile("../testdata/shapes/extra.json")
	if err != nil {
		t.Fatal(err)
	}
	var gold struct {
		Batches []int64 `json:"batches"`
		Models  []struct {
			File    string `json:"file"`
			Outputs []struct {
				Name     string    `json:"name"`
				ElemType int32     `json:"elem_type"`
				Shapes   [][]int64 `json:"shapes"`
			} `json:"outputs"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &gold); err != nil {
		t.Fatal(err)
	}
	if len(gold.Models) < 5 {
		t.Fatalf("only %d extra models", len(gold.Models))
	}
	for _, em := range gold.Models {
		for _, mode := range []string{"declared", "inferred"} {
			t.Run(em.File+"/"+mode, func(t *testing.T) {
				m, err := onnxio.ReadFile("../testdata/shapes/" + em.File)
				if err != nil {
					t.Fatal(err)
				}
				if mode == "inferred" {
					forgetDeclaredTypes(m.Graph)
				}
				rep, err := ir.InferShapes(m)
				if err != nil {
					t.Fatalf("InferShapes: %v", err)
				}
				if !rep.Complete() {
					t.Errorf("incomplete: %s", rep)
				}
				for _, want := range em.Outputs {
					v := m.Graph.Value(want.Name)
					if v == nil || !v.IsOutput {
						t.Fatalf("%s is not a graph output", want.Name)
					}
					if got := v.Elem(); got != ir.DType(want.ElemType) {
						t.Errorf("%s: element type %s, want %s", want.Name, got, ir.DType(want.ElemType))
					}
					for i, b := range gold.Batches {
						got, ok := v.Shape().Eval(map[string]int64{"batch": b})
						if !ok || !slices.Equal(got, want.Shapes[i]) {
							t.Errorf("%s: inferred %s gives %v at batch %d, PyTorch %v", want.Name, v.Shape(), got, b, want.Shapes[i])
						}
					}
				}
			})
		}
	}
}
