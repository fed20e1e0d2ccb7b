package exec

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// FuzzModel feeds arbitrary bytes through everything a model file reaches
// before training: decoding and validation (schemas included), shape
// inference, Compile, and one Train-mode Run and Backward on small inputs.
// None of it may panic, hang or allocate without bound: whatever the bytes
// say, an error is the only acceptable failure. The seeds are tiny models
// built in code (a few hundred bytes each), so that the fuzzer mutates
// structure rather than weights.
//
//	nice -n 10 go test ./exec -run '^$' -fuzz '^FuzzModel$' -fuzztime 10m -fuzzminimizetime 10s -parallel 1
//
// (-fuzzminimizetime bounds the minimization of each new interesting input,
// during which the exec counter does not move; the default is a minute.)
//
// Crashers are committed under testdata/fuzz/FuzzModel and replayed by
// plain `go test`.
func FuzzModel(f *testing.F) {
	for _, m := range fuzzSeeds() {
		b, err := onnxio.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too: no input this small may take seconds.
		// Panicking on the timer's goroutine ends the worker, and the
		// fuzzer saves the input.
		w := time.AfterFunc(20*time.Second, func() {
			buf := make([]byte, 1<<20)
			os.Stderr.Write(buf[:runtime.Stack(buf, true)])
			panic("FuzzModel: one input ran for more than 20 s")
		})
		defer w.Stop()
		fuzzModelOnce(data)
	})
}

// fuzzModelOnce runs data through the pipeline and says how far it got.
func fuzzModelOnce(data []byte) (reached string) {
	{
		m, err := onnxio.Decode(data, nil)
		if err != nil {
			return "decode"
		}
		if _, err := ir.InferShapes(m); err != nil {
			return "infer"
		}
		// 64 MiB: enough for every seed, small enough that a fuzzing
		// worker never comes near the machine's memory.
		p, err := Compile(m, Options{Threads: 1, MaxBytes: 64 << 20})
		if err != nil {
			return "compile"
		}
		inputs := map[string]*Tensor{}
		for _, s := range p.Inputs() {
			shape := make([]int, len(s.Shape))
			n := 1
			for i, d := range s.Shape {
				if d < 0 {
					d = 2
				}
				shape[i] = d
				if d > 0 && n > (1<<20)/d {
					return "inputs" // the input alone is too big to bother
				}
				n *= d
			}
			if s.Shape == nil {
				shape, n = []int{2}, 2
			}
			tt := &Tensor{DType: s.DType, Shape: shape}
			if s.DType.IsFloat() {
				tt.F = make([]float32, n)
				for i := range tt.F {
					tt.F[i] = float32(i%7) - 3
				}
			} else {
				tt.I = make([]int64, n)
				for i := range tt.I {
					tt.I[i] = int64(i % 2)
				}
			}
			inputs[s.Name] = tt
		}
		outs, err := p.Run(Train, inputs)
		if err != nil {
			return "run"
		}
		grads := map[string]*Tensor{}
		for name, o := range outs {
			if o.DType == ir.Float32 {
				g := &Tensor{DType: ir.Float32, Shape: o.Shape, F: make([]float32, len(o.F))}
				for i := range g.F {
					g.F[i] = 1
				}
				grads[name] = g
			}
		}
		if err := p.Backward(grads); err != nil {
			return "backward"
		}
		return "done"
	}
}

// fuzzSeeds builds small models covering the operator families: dense,
// convolution with batch norm and pooling, recurrent, shape arithmetic,
// dropout with its mask, reductions and softmax.
func fuzzSeeds() []*ir.Model {
	var ms []*ir.Model
	{ // MLP
		b := newGB(13)
		h := b.node("Gemm", []*ir.Value{b.input("x", -1, 4), b.param("w1", 3, 4), b.param("b1", 3)}, ir.IntAttr("transB", 1))
		h = b.node("Relu", []*ir.Value{h})
		b.out(b.node("LogSoftmax", []*ir.Value{h}, ir.IntAttr("axis", 1)))
		ms = append(ms, b.model())
	}
	{ // CNN
		b := newGB(13)
		x := b.input("x", -1, 1, 6, 6)
		h := b.node("Conv", []*ir.Value{x, b.param("cw", 2, 1, 3, 3), b.param("cb", 2)}, ir.IntsAttr("pads", 1, 1, 1, 1))
		h = b.node("BatchNormalization", []*ir.Value{h, b.param("s", 2), b.param("bb", 2), b.param("m", 2), b.param("v", 2)})
		h = b.node("MaxPool", []*ir.Value{h}, ir.IntsAttr("kernel_shape", 2, 2), ir.IntsAttr("strides", 2, 2))
		h = b.node("GlobalAveragePool", []*ir.Value{h})
		h = b.node("Flatten", []*ir.Value{h})
		b.out(b.node("MatMul", []*ir.Value{h, b.param("fw", 2, 3)}))
		ms = append(ms, b.model())
	}
	{ // LSTM
		b := newGB(14)
		outs := b.nodeN("LSTM", []*ir.Value{b.input("x", 3, -1, 2), b.param("W", 1, 8, 2), b.param("R", 1, 8, 2), b.param("B", 1, 16)}, 3, ir.IntAttr("hidden_size", 2))
		b.out(b.node("Tanh", []*ir.Value{outs[1]}))
		ms = append(ms, b.model())
	}
	{ // shape arithmetic
		b := newGB(13)
		x := b.input("x", -1, 2, 3)
		sh := b.node("Shape", []*ir.Value{x})
		d0 := b.node("Gather", []*ir.Value{sh, b.scalarInt("i0", 0)})
		d0 = b.node("Unsqueeze", []*ir.Value{d0, b.ints("ax", 0)})
		shp := b.node("Concat", []*ir.Value{d0, b.ints("rest", -1)}, ir.IntAttr("axis", 0))
		y := b.node("Reshape", []*ir.Value{x, shp})
		y = b.node("Slice", []*ir.Value{y, b.ints("st", 1), b.ints("en", 5), b.ints("axs", 1)})
		y = b.node("Transpose", []*ir.Value{y}, ir.IntsAttr("perm", 1, 0))
		b.out(b.node("Expand", []*ir.Value{y, b.ints("to", 2, 4, 1)}))
		ms = append(ms, b.model())
	}
	{ // dropout with mask, reductions, softmax, layer norm
		b := newGB(17)
		x := b.input("x", -1, 4)
		d := b.nodeN("Dropout", []*ir.Value{x, b.constF(0.25)}, 2)
		y := b.node("LayerNormalization", []*ir.Value{d[0], b.param("g", 4), b.param("lb", 4)}, ir.IntAttr("axis", -1))
		y = b.node("Softmax", []*ir.Value{y}, ir.IntAttr("axis", -1))
		y = b.node("ReduceSum", []*ir.Value{y, b.ints("rax", 1)}, ir.IntAttr("keepdims", 1))
		b.out(b.node("Add", []*ir.Value{y, b.node("Cast", []*ir.Value{d[1]}, ir.IntAttr("to", 1))}))
		ms = append(ms, b.model())
	}
	{ // instance norm, transposed convolution, resize, mod
		b := newGB(13)
		x := b.input("x", -1, 2, 4, 4)
		h := b.node("InstanceNormalization", []*ir.Value{x, b.param("in_s", 2), b.param("in_b", 2)})
		h = b.node("ConvTranspose", []*ir.Value{h, b.param("ct_w", 2, 2, 2, 2), b.param("ct_b", 2)}, ir.IntsAttr("strides", 2, 2))
		scales := b.g.AddInitializer(ir.NewFloat32("scales", []int64{4}, []float32{1, 1, 0.5, 0.5}))
		h = b.node("Resize", []*ir.Value{h, nil, scales}, ir.StringAttr("mode", "nearest"))
		b.out(b.node("Mod", []*ir.Value{h, b.constF(0.7)}, ir.IntAttr("fmod", 1)))
		ms = append(ms, b.model())
	}
	{ // GRU and RNN side by side, ScatterND
		b := newGB(14)
		x := b.input("x", 3, -1, 2)
		g := b.nodeN("GRU", []*ir.Value{x, b.param("gw", 1, 6, 2), b.param("gr", 1, 6, 2), b.param("gb", 1, 12)}, 2, ir.IntAttr("hidden_size", 2))
		r := b.nodeN("RNN", []*ir.Value{x, b.param("rw", 1, 2, 2), b.param("rr", 1, 2, 2)}, 2, ir.IntAttr("hidden_size", 2))
		b.out(b.node("Add", []*ir.Value{g[1], r[1]}))
		idx := b.g.AddInitializer(ir.NewInt64("idx", []int64{1, 1}, []int64{0}))
		b.out(b.node("ScatterND", []*ir.Value{b.param("sd", 2, 2), idx, b.param("su", 1, 2)}))
		ms = append(ms, b.model())
	}
	return ms
}

// The seeds themselves run: a fuzz target whose seeds fail early explores
// nothing.
func TestFuzzSeedsRun(t *testing.T) {
	for i, m := range fuzzSeeds() {
		b, err := onnxio.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := onnxio.Decode(b, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if _, err := ir.InferShapes(m2); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if r := fuzzModelOnce(b); r != "done" {
			t.Errorf("seed %d (%d bytes) stops at %s", i, len(b), r)
		}
	}
}
