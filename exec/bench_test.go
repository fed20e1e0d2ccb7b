package exec

import (
	binpkg "encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// Benchmarks for the baselines README.md's Performance section compares
// against.
// bench/compare.py runs the PyTorch side of the training and SGEMM
// benchmarks in the same invocation and prints the ratios.
//
//	go test -run XXX -bench . -benchmem ./exec/

// benchTrain times one training step (Run in Train mode with the model's
// dropout, Backward, plain SGD update, ZeroGrad) at batch 64 on random data.
func benchTrain(b *testing.B, model string, batch int) { benchTrainFile(b, model, "train.onnx", batch) }

func benchTrainFile(b *testing.B, model, file string, batch int) {
	m, err := onnxio.ReadFile(filepath.Join(modelsDir, model, file))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m, Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	shape := append([]int{batch}, p.Inputs()[0].Shape[1:]...)
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, numel(shape))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: shape, F: x}}
	dy := make([]float32, batch*10)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64()) / float32(batch)
	}
	grads := map[string]*Tensor{"output": {DType: ir.Float32, Shape: []int{batch, 10}, F: dy}}
	step := func() {
		if _, err := p.Run(Train, in); err != nil {
			b.Fatal(err)
		}
		if err := p.Backward(grads); err != nil {
			b.Fatal(err)
		}
		for _, q := range p.Params() {
			for i, g := range q.Grad {
				q.Value[i] -= 1e-4 * g
			}
		}
		p.ZeroGrad()
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// Linear(784,256)-ReLU-Dropout(0.5)-Linear(256,10): PyTorch 15,000 samples/s
func BenchmarkTrainMLP(b *testing.B) { benchTrain(b, "dropoutnet", 64) }

// Linear(784,512)-BN-ReLU-Dropout-Linear(512,256)-BN-ReLU-Dropout-Linear(256,10): 4,000 samples/s
func BenchmarkTrainBNMLP(b *testing.B) { benchTrain(b, "robustnet", 64) }

// Conv(1,32,3)-BN-ReLU-MaxPool-Conv(32,64,3)-BN-ReLU-MaxPool-Linear(3136,128)-ReLU-Linear(128,10), 28×28: 1,450 samples/s
func BenchmarkTrainCNN(b *testing.B) { benchTrain(b, "small_cnn", 64) }

// torchvision's mobilenet_v2 at 32×32 (depthwise convolutions), batch 16.
func BenchmarkTrainMobileNetV2(b *testing.B) {
	benchTrainFile(b, "mobilenet_v2", "train.onnx.gz", 16)
}

// torchvision's resnet18 at 32×32, batch 16.
func BenchmarkTrainResNet18(b *testing.B) { benchTrainFile(b, "resnet18", "train.onnx.gz", 16) }

// 2-layer transformer encoder (d 32, 4 heads, sequence 8), batch 64.
func BenchmarkTrainTransformer(b *testing.B) { benchTrain(b, "transformer_encoder", 64) }

// LSTM(8→16) over 6 steps + Linear, batch 64.
func BenchmarkTrainLSTM(b *testing.B) { benchTrain(b, "lstm_classifier", 64) }

// Inference (eval forward) of the same CNN, for nntrain predict.
func BenchmarkPredictCNN(b *testing.B) {
	m, err := onnxio.ReadFile(filepath.Join(modelsDir, "small_cnn", "eval.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	in := map[string]*Tensor{"input": {DType: ir.Float32, Shape: []int{batch, 1, 28, 28}, F: make([]float32, batch*784)}}
	p.Run(Eval, in)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Run(Eval, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// predictWorkloads replaces BenchmarkPredict's fixtures by other models
// and inputs: "name=model.onnx,input.bin,NxCxHxW;..." with the input as
// little-endian float32 (bench/compare.py passes the ONNX files and input
// arrays it also gives PyTorch and ONNX Runtime).
var predictWorkloads = flag.String("predict.workloads", "", "BenchmarkPredict workloads: name=model.onnx,input.bin,NxCxHxW;...")

// Inference (a forward-only program, exec.Options{Inference: true}, as
// nntrain predict runs it) of the ResNet-18 and MobileNetV2 fixtures
// (torchvision, 10 classes, 32×32 input, random normal data) at batch 1 and
// 32, or of -predict.workloads; bench/compare.py runs PyTorch's eval mode
// under no_grad and ONNX Runtime beside it. "<name>/serial" is the same on
// one thread, in samples per second of that thread's CPU time.
func BenchmarkPredict(b *testing.B) {
	type workload struct {
		name, model string
		x           []float32
		shape       []int
	}
	var ws []workload
	if *predictWorkloads == "" {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, model := range []string{"resnet18", "mobilenet_v2"} {
			for _, batch := range []int{1, 32} {
				x := make([]float32, batch*3*32*32)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				ws = append(ws, workload{fmt.Sprintf("%s_b%d", model, batch), filepath.Join(modelsDir, model, "eval.onnx.gz"), x, []int{batch, 3, 32, 32}})
			}
		}
	}
	for _, spec := range strings.Split(*predictWorkloads, ";") {
		if spec == "" {
			continue
		}
		name, rest, _ := strings.Cut(spec, "=")
		parts := strings.Split(rest, ",")
		if len(parts) != 3 {
			b.Fatalf("-predict.workloads: %q is not name=model.onnx,input.bin,NxCxHxW", spec)
		}
		w := workload{name: name, model: parts[0]}
		for _, d := range strings.Split(parts[2], "x") {
			n, err := strconv.Atoi(d)
			if err != nil {
				b.Fatalf("-predict.workloads: %q: shape %q", spec, parts[2])
			}
			w.shape = append(w.shape, n)
		}
		raw, err := os.ReadFile(parts[1])
		if err != nil {
			b.Fatal(err)
		}
		if len(raw) != 4*numel(w.shape) {
			b.Fatalf("%s: %d bytes for shape %v", parts[1], len(raw), w.shape)
		}
		w.x = make([]float32, len(raw)/4)
		for i := range w.x {
			w.x[i] = math.Float32frombits(binpkg.LittleEndian.Uint32(raw[4*i:]))
		}
		ws = append(ws, w)
	}
	// one program per model file and thread count, as nntrain predict
	// keeps one
	type key struct {
		file    string
		threads int
	}
	programs := map[key]*Program{}
	program := func(file string, threads int) *Program {
		if p := programs[key{file, threads}]; p != nil {
			return p
		}
		m, err := onnxio.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Compile(m, Options{Inference: true, Threads: threads})
		if err != nil {
			b.Fatal(err)
		}
		programs[key{file, threads}] = p
		return p
	}
	for _, w := range ws {
		p := program(w.model, 0)
		in := map[string]*Tensor{p.Inputs()[0].Name: {DType: ir.Float32, Shape: w.shape, F: w.x}}
		b.Run(w.name, func(b *testing.B) {
			if _, err := p.Run(Eval, in); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.Run(Eval, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.shape[0])*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
		// one thread, timed by its CPU time: the per-core speed, which a
		// loaded machine does not distort
		ps := program(w.model, 1)
		b.Run(w.name+"/serial", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if _, err := ps.Run(Eval, in); err != nil {
				b.Fatal(err)
			}
			t0 := threadCPU()
			for b.Loop() {
				if _, err := ps.Run(Eval, in); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(float64(w.shape[0])*float64(b.N)/cpu.Seconds(), "cpu-samples/s")
			}
		})
	}
}

// SGEMM through the executor's GEMM on the nets' shapes, all four transpose
// combinations among them: "simd" is the default (package sgemm's AVX2/
// AVX-512 kernel over the worker pool), "gonum" the previous default and
// today's fallback (gonum's pure-Go Sgemm on tiles over the same pool).
// bench/compare.py prints torch.mm on the same shapes.
func BenchmarkSGEMM(b *testing.B) {
	for _, s := range gemmShapes {
		a := randMat(s.m * s.k)
		bb := randMat(s.k * s.n)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		// one thread, timed by its CPU time: the kernel's per-core speed,
		// which a loaded machine does not distort
		b.Run(s.name+"/serial", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			gemmSerial(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			t0 := threadCPU()
			for b.Loop() {
				gemmSerial(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOPS")
			}
		})
		for _, impl := range []string{"simd", "gonum"} {
			b.Run(fmt.Sprintf("%s/%s", s.name, impl), func(b *testing.B) {
				if impl == "gonum" {
					SetBLAS(blas32.Implementation())
					defer SetBLAS(nil)
				}
				g := newGemmer[float32](newPool(0))
				b.ReportAllocs()
				for b.Loop() {
					g.gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

// gemmShapes: C[m×n] = op(A)·op(B) with inner dimension k, as the fixtures
// produce them (names are model/layer/pass) and square ones. Kept in sync
// with GEMM in bench/compare.py.
var gemmShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
}{
	{"fc784x512/fwd", false, true, 64, 512, 784},
	{"fc784x512/dX", false, false, 64, 784, 512},
	{"fc784x512/dW", true, false, 512, 784, 64},
	{"fc3136x128/fwd", false, true, 64, 128, 3136},
	{"fc3136x128/dW", true, false, 128, 3136, 64},
	{"conv32x64/fwd", false, false, 64, 12544, 288},
	{"conv32x64/dW", false, true, 64, 288, 12544},
	{"conv32x64/dcol", true, false, 288, 12544, 64},
	{"square256/TT", true, true, 256, 256, 256},
	{"square512", false, false, 512, 512, 512},
	{"square1024", false, false, 1024, 1024, 1024},
}

func randMat(n int) []float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	m := make([]float32, n)
	for i := range m {
		m[i] = float32(rng.NormFloat64())
	}
	return m
}

// TestGEMMKernelName logs the float32 GEMM kernel this machine selects
// (bench/compare.py prints it) and checks it is one the package names.
func TestGEMMKernelName(t *testing.T) {
	k := GEMMKernel()
	if k == "" || k == "SetBLAS" {
		t.Fatalf("GEMMKernel() = %q with no SetBLAS", k)
	}
	t.Logf("kernel: %s", k)
}
