package summary

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

func build(t *testing.T, path string) *Summary {
	t.Helper()
	m, err := onnxio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(m, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTotalsMatchPyTorch: for every training-mode export, the summary's
// totals equal PyTorch's sum(p.numel() for p in model.parameters()) and the
// BatchNorm running-statistic sizes recorded by the fixture script, and
// the per-layer params add up to the total.
func TestTotalsMatchPyTorch(t *testing.T) {
	files, _ := filepath.Glob("../testdata/models/*/train*.onnx*")
	if len(files) < 18 {
		t.Fatalf("only %d training exports", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimPrefix(path, "../testdata/models/"), func(t *testing.T) {
			var want struct {
				Params, TrainableParams, Buffers int64
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			json.Unmarshal(b, &raw)
			want.Params = int64(raw["params"].(float64))
			want.TrainableParams = int64(raw["trainable_params"].(float64))
			want.Buffers = int64(raw["buffers"].(float64))
			s := build(t, path)
			if s.Totals.Params != want.Params || s.Totals.TrainableParams != want.TrainableParams || s.Totals.Buffers != want.Buffers {
				t.Fatalf("totals %+v, PyTorch: params %d trainable %d buffers %d", s.Totals, want.Params, want.TrainableParams, want.Buffers)
			}
			var sum, bufs int64
			for _, l := range s.Layers {
				sum += l.Params
				bufs += l.Buffers
				if l.OutputShape == nil {
					t.Errorf("layer %s (%s) has no inferred output shape", l.Name, l.Op)
				}
			}
			if sum != s.Totals.Params || bufs != s.Totals.Buffers {
				t.Fatalf("layer params add up to %d (buffers %d), totals say %d (%d)", sum, bufs, s.Totals.Params, s.Totals.Buffers)
			}
			if s.Totals.Bytes != 4*(s.Totals.Params+s.Totals.Buffers) {
				t.Fatalf("bytes %d for %d float32 values", s.Totals.Bytes, s.Totals.Params+s.Totals.Buffers)
			}
			if s.ExportMode == "inference" {
				t.Fatalf("training export detected as %s", s.ExportMode)
			}
		})
	}
}

// TestMACs checks multiply-accumulates per sample against the standard
// formulas, worked out by hand: Conv = output elements × (Cin/groups·kh·kw),
// Linear = in·out, LSTM = T·4H·(I+H).
func TestMACs(t *testing.T) {
	s := build(t, "../testdata/models/small_cnn/train.onnx")
	conv1 := int64(32 * 28 * 28 * (1 * 3 * 3))  // 225,792
	conv2 := int64(64 * 14 * 14 * (32 * 3 * 3)) // 3,612,672
	fc1 := int64(3136 * 128)
	fc2 := int64(128 * 10)
	if want := conv1 + conv2 + fc1 + fc2; s.Totals.MACs != want {
		t.Errorf("small_cnn MACs %d, want %d", s.Totals.MACs, want)
	}
	s = build(t, "../testdata/models/lstm_classifier/train.onnx")
	if want := int64(6*4*16*(8+16) + 16*10); s.Totals.MACs != want {
		t.Errorf("lstm_classifier MACs %d, want %d", s.Totals.MACs, want)
	}
	// Depthwise convolution: groups = channels, so each output reads kh·kw.
	s = build(t, "../testdata/models/mobilenet_block/train.onnx")
	found := false
	for _, l := range s.Layers {
		if l.Op == "Conv" && (strings.Contains(l.Name, "dw") || strings.Contains(l.Name, "depthwise")) {
			found = true
			shape := l.OutputShape
			c, h, w := shape[1].(int64), shape[2].(int64), shape[3].(int64)
			if l.MACs != c*h*w*9 {
				t.Errorf("depthwise %s MACs %d, want %d", l.Name, l.MACs, c*h*w*9)
			}
		}
	}
	if !found {
		names := []string{}
		for _, l := range s.Layers {
			if l.Op == "Conv" {
				names = append(names, l.Name)
			}
		}
		t.Fatalf("no depthwise conv found among %v", names)
	}
}

// TestSharedWeightsCountedOnce: a weight used by two layers is counted
// once in the totals and shown as shared in the second layer — the case
// torchinfo and pytorch-summary count twice.
func TestSharedWeightsCountedOnce(t *testing.T) {
	g := ir.NewGraph("tied")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(4)}))
	w := g.AddInitializer(ir.NewFloat32("w", []int64{4, 4}, make([]float32, 16)))
	id := g.AddNode("Identity", "tie", []*ir.Value{w}, 1)
	a := g.AddNode("MatMul", "first", []*ir.Value{x, w}, 1)
	b := g.AddNode("MatMul", "second", []*ir.Value{a.Outputs[0], id.Outputs[0]}, 1)
	g.AddOutput(b.Outputs[0])
	m := &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}
	s, err := Build(m, "tied")
	if err != nil {
		t.Fatal(err)
	}
	if s.Totals.Params != 16 {
		t.Fatalf("total params %d, want 16", s.Totals.Params)
	}
	got := map[string]Layer{}
	for _, l := range s.Layers {
		got[l.Name] = l
	}
	if got["first"].Params != 16 || got["second"].SharedParams != 16 || got["second"].Params != 0 || got["tie"].Params != 0 {
		t.Fatalf("layers %+v", s.Layers)
	}
	if got["second"].MACs != 16 || got["first"].MACs != 16 {
		t.Fatalf("MACs per sample %d, %d; want 16 each", got["first"].MACs, got["second"].MACs)
	}
}

func TestJSONSchema(t *testing.T) {
	s := build(t, "../testdata/models/resnet_narrow/train.onnx")
	var buf bytes.Buffer
	if err := s.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Model  string                       `json:"model"`
		Totals map[string]int64             `json:"totals"`
		Layers []map[string]json.RawMessage `json:"layers"`
		Inputs []struct {
			Shape []any `json:"shape"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"params", "trainable_params", "buffers", "macs", "bytes"} {
		if _, ok := doc.Totals[k]; !ok {
			t.Errorf("totals lack %q", k)
		}
	}
	if doc.Totals["params"] != 78042 || len(doc.Layers) == 0 || doc.Model == "" {
		t.Fatalf("doc %+v", doc)
	}
	for _, k := range []string{"name", "op", "output_shape", "params", "macs"} {
		if _, ok := doc.Layers[0][k]; !ok {
			t.Errorf("layer lacks %q", k)
		}
	}
	if doc.Inputs[0].Shape[0] != "batch" || doc.Inputs[0].Shape[1] != float64(3) {
		t.Errorf("input shape %v", doc.Inputs[0].Shape)
	}
}

func TestTextTable(t *testing.T) {
	s := build(t, "../testdata/models/small_cnn/eval.onnx")
	var buf bytes.Buffer
	s.WriteText(&buf, false)
	out := buf.String()
	for _, want := range []string{"Total params:", "421,642", "MACs per sample:", "inference-mode export", "do_constant_folding=False", "[batch, 32, 28, 28]"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}
