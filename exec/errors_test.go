package exec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// Bad models and bad inputs give one clear error, never a panic.

func TestUnsupportedOpsListedTogether(t *testing.T) {
	b := newGB(13)
	x := b.input("x", 2, 3)
	y := b.g.AddNode("NonMaxSuppression", "nms_a", []*ir.Value{x}, 1).Outputs[0]
	y = b.g.AddNode("Relu", "ok_relu", []*ir.Value{y}, 1).Outputs[0]
	y = b.g.AddNode("NonMaxSuppression", "nms_b", []*ir.Value{y}, 1).Outputs[0]
	fg := b.g.AddNode("FusedGemm", "fused", []*ir.Value{y}, 1)
	fg.Domain = "com.microsoft"
	l := b.g.AddNode("LSTM", "lstm_coupled", []*ir.Value{fg.Outputs[0], b.param("W", 1, 8, 3), b.param("R", 1, 8, 2)}, 1,
		ir.IntAttr("hidden_size", 2), ir.IntAttr("input_forget", 1))
	b.out(l.Outputs[0])
	_, err := Compile(b.model(), Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("Compile: %v, want an *UnsupportedError", err)
	}
	if len(ue.Ops) != 3 {
		t.Errorf("%d unsupported kinds, want 3: %v", len(ue.Ops), ue.Ops)
	}
	msg := err.Error()
	for _, want := range []string{"NonMaxSuppression: nms_a, nms_b", "com.microsoft.FusedGemm: fused", "LSTM (input_forget=1): lstm_coupled"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "ok_relu") {
		t.Errorf("error lists a supported node: %q", msg)
	}
}

func compileFixture(t *testing.T, name, file string) (*Program, *golden) {
	t.Helper()
	g := loadGolden(t, name)
	m, err := onnxio.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, g
}

func TestInputErrors(t *testing.T) {
	p, _ := compileFixture(t, "small_cnn", "eval.onnx")
	if s := p.Inputs(); len(s) != 1 || s[0].Name != "input" || !sameShape(s[0].Shape, []int{-1, 1, 28, 28}) || s[0].DType != ir.Float32 {
		t.Fatalf("Inputs() = %+v", s)
	}
	cases := []struct {
		name   string
		inputs map[string]*Tensor
		want   []string
	}{
		{"wrong shape", map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{2, 1, 32, 32}, F: make([]float32, 2048)}},
			[]string{`input "input"`, "[2, 1, 32, 32]", "[?, 1, 28, 28]"}},
		{"wrong rank", map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{2, 784}, F: make([]float32, 1568)}},
			[]string{`input "input"`, "[2, 784]", "[?, 1, 28, 28]"}},
		{"wrong dtype", map[string]*Tensor{"input": {DType: ir.Int64, Shape: []int{1, 1, 28, 28}, I: make([]int64, 784)}},
			[]string{`input "input"`, "int64", "float"}},
		{"short data", map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{2, 1, 28, 28}, F: make([]float32, 784)}},
			[]string{`input "input"`, "1568 values", "784"}},
		{"missing", map[string]*Tensor{}, []string{`input "input"`, "missing"}},
		{"unknown name", map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{1, 1, 28, 28}, F: make([]float32, 784)},
			"extra": {DType: ir.Float32, Shape: []int{1}, F: []float32{1}}}, []string{`"extra"`, "no such input"}},
	}
	for _, c := range cases {
		_, err := p.Run(Eval, c.inputs)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// A shape that only fails deep inside the graph names the node.
func TestPlanErrorNamesNode(t *testing.T) {
	b := newGB(13)
	x := b.input("x", -1, 6)
	b.out(b.g.AddNode("Reshape", "to_4x4", []*ir.Value{x, b.ints("s", 4, 4)}, 1).Outputs[0])
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{3, 6}, F: make([]float32, 18)}})
	if err == nil || !strings.Contains(err.Error(), "to_4x4") || !strings.Contains(err.Error(), "[3, 6]") {
		t.Errorf("error %v should name node to_4x4 and the shape [3, 6]", err)
	}
	// the same program still runs inputs that fit
	if _, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{8, 6}, F: make([]float32, 48)}}); err == nil {
		t.Error("48 values reshaped to [4 4]: no error")
	}
}

func TestRuntimeErrors(t *testing.T) {
	// Gather with data-dependent indices out of range
	b := newGB(13)
	x := b.input("x", 3)
	idx := b.g.AddInput("idx", ir.TensorType(ir.Int64, ir.StaticShape([]int64{2})))
	b.out(b.g.AddNode("Gather", "pick", []*ir.Value{x, idx}, 1).Outputs[0])
	p, err := Compile(b.model(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{3}, F: []float32{1, 2, 3}},
		"idx": {DType: ir.Int64, Shape: []int{2}, I: []int64{0, 3}}})
	if err == nil || !strings.Contains(err.Error(), "pick") || !strings.Contains(err.Error(), "index 3") {
		t.Errorf("error %v should name node pick and index 3", err)
	}
	out, err := p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{3}, F: []float32{1, 2, 3}},
		"idx": {DType: ir.Int64, Shape: []int{2}, I: []int64{-1, 0}}})
	if err != nil || !equalF(out[p.OutputNames()[0]].F, []float32{3, 1}) {
		t.Errorf("Gather [-1 0] = %v, %v; want [3 1]", out, err)
	}

	// training-mode BatchNorm on one value per channel (as PyTorch refuses)
	pb, g := compileFixture(t, "robustnet", "train.onnx")
	_, err = pb.Run(Train, map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{1, 784}, F: g.f32(t, "input")[:784]}})
	if err == nil || !strings.Contains(err.Error(), "more than 1 value per channel") {
		t.Errorf("batch of 1 in Train mode: %v", err)
	}
	if _, err := pb.Run(Eval, map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{1, 784}, F: g.f32(t, "input")[:784]}}); err != nil {
		t.Errorf("batch of 1 in Eval mode: %v", err)
	}
}

func TestBackwardErrors(t *testing.T) {
	p, g := compileFixture(t, "mlp_digits", "train.onnx")
	if err := p.Backward(nil); err == nil {
		t.Error("Backward before Run: no error")
	}
	x := g.get(t, "input")
	if _, err := p.Run(Train, map[string]*Tensor{"input": {DType: ir.Float32, Shape: x.shape, F: g.f32(t, "input")}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Backward(map[string]*Tensor{"nope": {DType: ir.Float32, Shape: []int{4, 10}, F: make([]float32, 40)}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown output: %v", err)
	}
	if err := p.Backward(map[string]*Tensor{"output": {DType: ir.Float32, Shape: []int{4, 9}, F: make([]float32, 36)}}); err == nil || !strings.Contains(err.Error(), "[4, 9]") || !strings.Contains(err.Error(), "[4, 10]") {
		t.Errorf("wrong gradient shape: %v", err)
	}
}
