package main

import (
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/summary"
)

// FuzzLint feeds arbitrary bytes through what nnlint does with a model
// besides the probe (FuzzModel in exec covers that): decoding, the facts
// every rule shares, every static rule, and the summary table. nnlint
// recovers a crash as an internal error, so this target is what finds
// them: none may panic or hang.
//
//	nice -n 10 go test ./cmd/nnlint -run '^$' -fuzz '^FuzzLint$' -fuzztime 10m -fuzzminimizetime 10s -parallel 1
func FuzzLint(f *testing.F) {
	for _, m := range lintSeeds() {
		b, err := onnxio.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too; panicking on the timer's goroutine ends
		// the worker and the fuzzer saves the input.
		w := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			panic("FuzzLint: one input ran for more than 20 s")
		})
		defer w.Stop()
		m, err := onnxio.Decode(data, nil)
		if err != nil {
			return
		}
		if s, err := summary.Build(m, "fuzz.onnx"); err == nil {
			s.WriteText(io.Discard, true)
			s.WriteJSON(io.Discard)
		}
		facts, err := lint.NewFacts(m, "fuzz.onnx")
		if err != nil {
			return
		}
		lint.Check(m, lint.Options{File: "fuzz.onnx", Rules: rules.All, Facts: facts})
	})
}

// lintSeeds are small models shaped for the static rules: a conv block
// with a biased conv before batch norm, dropout before batch norm and
// before the output, a saturating chain, a softmax output, an unused and
// a constant initializer.
func lintSeeds() []*ir.Model {
	rng := rand.New(rand.NewPCG(1, 2))
	param := func(g *ir.Graph, name string, dims ...int64) *ir.Value {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		return g.AddInitializer(ir.NewFloat32(name, dims, data))
	}
	model := func(g *ir.Graph, opset int64) *ir.Model {
		return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: opset}}, Graph: g, ProducerName: "pytorch", ProducerVersion: "1.13.1"}
	}
	var ms []*ir.Model
	{
		g := ir.NewGraph("cnn")
		x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(1), ir.DimOf(6), ir.DimOf(6)}))
		h := g.AddNode("Conv", "/conv/Conv", []*ir.Value{x, param(g, "conv.weight", 2, 1, 3, 3), param(g, "conv.bias", 2)}, 1, ir.IntsAttr("kernel_shape", 3, 3)).Outputs[0]
		h = g.AddNode("BatchNormalization", "/bn/BatchNormalization", []*ir.Value{h, param(g, "bn.weight", 2), param(g, "bn.bias", 2), param(g, "bn.running_mean", 2), param(g, "bn.running_var", 2)}, 1, ir.FloatAttr("momentum", 0.9)).Outputs[0]
		h = g.AddNode("Relu", "/relu/Relu", []*ir.Value{h}, 1).Outputs[0]
		h = g.AddNode("GlobalAveragePool", "/pool/GlobalAveragePool", []*ir.Value{h}, 1).Outputs[0]
		h = g.AddNode("Flatten", "/Flatten", []*ir.Value{h}, 1).Outputs[0]
		h = g.AddNode("Gemm", "/fc/Gemm", []*ir.Value{h, param(g, "fc.weight", 3, 2), param(g, "fc.bias", 3)}, 1, ir.IntAttr("transB", 1)).Outputs[0]
		param(g, "unused.weight", 2)
		g.AddOutput(h)
		ms = append(ms, model(g, 13))
	}
	{
		g := ir.NewGraph("mlp")
		x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(4)}))
		h := x
		for i, op := range []string{"Sigmoid", "Tanh", "Sigmoid"} {
			h = g.AddNode("MatMul", "/l/MatMul", []*ir.Value{h, param(g, "w"+string(rune('0'+i)), 4, 4)}, 1).Outputs[0]
			h = g.AddNode(op, "/l/"+op, []*ir.Value{h}, 1).Outputs[0]
		}
		d := g.AddNode("Dropout", "/drop/Dropout", []*ir.Value{h, g.AddInitializer(ir.NewFloat32("ratio", nil, []float32{0.7}))}, 1).Outputs[0]
		h = g.AddNode("BatchNormalization", "/bn/BatchNormalization", []*ir.Value{d, param(g, "s", 4), param(g, "b", 4), param(g, "m", 4), param(g, "v", 4)}, 1).Outputs[0]
		h = g.AddNode("Gemm", "/out/Gemm", []*ir.Value{h, g.AddInitializer(ir.NewFloat32("zero", []int64{3, 4}, make([]float32, 12)))}, 1, ir.IntAttr("transB", 1)).Outputs[0]
		h = g.AddNode("Dropout", "/drop2/Dropout", []*ir.Value{h}, 1).Outputs[0]
		g.AddOutput(g.AddNode("Softmax", "/Softmax", []*ir.Value{h}, 1, ir.IntAttr("axis", -1)).Outputs[0])
		ms = append(ms, model(g, 13))
	}
	{
		g := ir.NewGraph("rnn")
		x := g.AddInput("input", ir.TensorType(ir.Float32, ir.Shape{ir.DimOf(3), ir.SymDim("batch"), ir.DimOf(2)}))
		o := g.AddNode("LSTM", "/lstm/LSTM", []*ir.Value{x, param(g, "W", 1, 8, 2), param(g, "R", 1, 8, 2), param(g, "B", 1, 16)}, 3, ir.IntAttr("hidden_size", 2)).Outputs
		h := g.AddNode("Squeeze", "/Squeeze", []*ir.Value{o[1], g.AddInitializer(ir.NewInt64("ax", []int64{1}, []int64{0}))}, 1).Outputs[0]
		g.AddOutput(g.AddNode("LogSoftmax", "/LogSoftmax", []*ir.Value{h}, 1, ir.IntAttr("axis", 1)).Outputs[0])
		ms = append(ms, model(g, 14))
	}
	return ms
}

// The seeds decode and lint: a target whose seeds fail early explores
// nothing.
func TestLintSeeds(t *testing.T) {
	for i, m := range lintSeeds() {
		b, err := onnxio.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := onnxio.Decode(b, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		facts, err := lint.NewFacts(m2, "seed.onnx")
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		d, err := lint.Check(m2, lint.Options{File: "seed.onnx", Rules: rules.All, Facts: facts})
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if i < 2 && len(d) == 0 {
			t.Errorf("seed %d (%d bytes) triggers no rule", i, len(b))
		}
		t.Logf("seed %d: %d bytes, %d findings", i, len(b), len(d))
	}
}
