package probe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
)

// resnet50 builds torchvision's ResNet-50 (Bottleneck [3, 4, 6, 3], 1000
// classes, 25.6 M parameters) as PyTorch's training-mode export at opset 13
// writes it — Conv without bias, BatchNormalization with its three training
// outputs, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm — with
// torchvision's initialization (kaiming_normal_(mode='fan_out'), BatchNorm
// γ = 1, β = 0), for input [batch, 3, size, size]. Built in Go so that the
// benchmark needs neither Python nor a 100 MB file in the repository.
func resnet50(size int64) (*ir.Model, error) {
	b := ir.NewBuilder("resnet50", nil)
	rng := rand.New(rand.NewPCG(50, 50))
	b.Input("input", ir.TensorType(ir.Float32, ir.Shape{{Param: "batch"}, {Value: 3}, {Value: size}, {Value: size}}), nil)
	n := 0
	node := func(op string, in, out []string, attrs ...*ir.Attribute) {
		n++
		b.Node(&ir.Node{Name: fmt.Sprintf("/%s_%d", op, n), OpType: op, Attrs: attrs}, in, out)
	}
	ints := func(name string, v ...int64) *ir.Attribute {
		return &ir.Attribute{Name: name, Type: ir.AttrInts, Ints: v}
	}
	conv := func(x, name string, cin, cout, k, stride int64) string {
		w := make([]float32, cout*cin*k*k)
		sd := math.Sqrt(2 / float64(cout*k*k)) // kaiming_normal_, fan_out, ReLU gain
		for i := range w {
			w[i] = float32(rng.NormFloat64() * sd)
		}
		b.Initializer(ir.NewFloat32(name+".weight", []int64{cout, cin, k, k}, w))
		y := name + "_out"
		node("Conv", []string{x, name + ".weight"}, []string{y},
			ints("kernel_shape", k, k), ints("strides", stride, stride), ints("pads", k/2, k/2, k/2, k/2))
		return y
	}
	bn := func(x, name string, c int64, relu bool) string {
		ones, zeros := make([]float32, c), make([]float32, c)
		for i := range ones {
			ones[i] = 1
		}
		for _, p := range []struct {
			s string
			v []float32
		}{{"weight", ones}, {"bias", zeros}, {"running_mean", zeros}, {"running_var", ones}} {
			b.Initializer(ir.NewFloat32(name+"."+p.s, []int64{c}, p.v))
		}
		y := name + "_out"
		node("BatchNormalization", []string{x, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"},
			[]string{y, name + "_rm", name + "_rv"}, ir.FloatAttr("epsilon", 1e-5), ir.FloatAttr("momentum", 0.9))
		if !relu {
			return y
		}
		node("Relu", []string{y}, []string{y + "_relu"})
		return y + "_relu"
	}
	x := bn(conv("input", "conv1", 3, 64, 7, 2), "bn1", 64, true)
	node("MaxPool", []string{x}, []string{"pool"}, ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1))
	x = "pool"
	in := int64(64)
	for li, blocks := range []int{3, 4, 6, 3} {
		width := int64(64) << li
		for bi := 0; bi < blocks; bi++ {
			p := fmt.Sprintf("layer%d.%d", li+1, bi)
			stride := int64(1)
			if bi == 0 && li > 0 {
				stride = 2
			}
			y := bn(conv(x, p+".conv1", in, width, 1, 1), p+".bn1", width, true)
			y = bn(conv(y, p+".conv2", width, width, 3, stride), p+".bn2", width, true)
			y = bn(conv(y, p+".conv3", width, 4*width, 1, 1), p+".bn3", 4*width, false)
			short := x
			if bi == 0 {
				short = bn(conv(x, p+".downsample.0", in, 4*width, 1, stride), p+".downsample.1", 4*width, false)
			}
			node("Add", []string{y, short}, []string{p + "_add"})
			node("Relu", []string{p + "_add"}, []string{p + "_out"})
			x, in = p+"_out", 4*width
		}
	}
	node("GlobalAveragePool", []string{x}, []string{"gap"})
	node("Flatten", []string{"gap"}, []string{"flat"}, ir.IntAttr("axis", 1))
	w := make([]float32, 1000*2048)
	bound := 1 / math.Sqrt(2048) // nn.Linear's default init bound
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * bound)
	}
	b.Initializer(ir.NewFloat32("fc.weight", []int64{1000, 2048}, w))
	b.Initializer(ir.NewFloat32("fc.bias", []int64{1000}, make([]float32, 1000)))
	node("Gemm", []string{"flat", "fc.weight", "fc.bias"}, []string{"output"}, ir.IntAttr("transB", 1))
	b.Output("output", ir.TensorType(ir.Float32, ir.Shape{{Param: "batch"}, {Value: 1000}}), nil)
	g, err := b.Finish()
	if err != nil {
		return nil, err
	}
	return &ir.Model{IRVersion: 7, Opsets: []ir.OpsetID{{Version: 13}}, ProducerName: "pytorch", Graph: g}, nil
}

// BenchmarkProbeResNet50 is issue 8's scaling target: the probe of
// ResNet-50 at 224×224 (batch chosen from the model's size: 2) in ≤ 3 s
// and ≤ 1.5 GB. "peak-MB" is the Go runtime's memory obtained from the OS
// (MemStats.Sys) after the run, an upper bound of the heap's peak.
//
//	go test ./lint/probe -run '^$' -bench ResNet50 -benchtime 3x
func BenchmarkProbeResNet50(b *testing.B) {
	m, err := resnet50(224)
	if err != nil {
		b.Fatal(err)
	}
	f, err := lint.NewFacts(m, "resnet50")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var r *lint.ProbeReport
	for i := 0; i < b.N; i++ {
		if r, err = Run(m, f, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "peak-MB")
	b.ReportMetric(float64(r.Batch), "batch")
	if len(r.Layers) != 54 || r.Batch != MinBatch {
		b.Fatalf("%d layers, batch %d; want 54 and %d", len(r.Layers), r.Batch, MinBatch)
	}
}
