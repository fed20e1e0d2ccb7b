package train

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// BenchmarkTrainStep measures one full training step (forward in train
// mode, cross-entropy, backward, clip_grad_norm_ 1.0, Adam) on random
// batches, the workloads of README.md's Performance section (issue 13). bench/compare.py runs the PyTorch side in the same invocation and
// prints the ratios.
//
// With NNKIT_BENCH_MODELS set to a directory, it also trains the models
// found there as <dir>/<name>/train.onnx: bench/compare.py exports
// torchvision's vgg11_bn and alexnet at 224×224 into a temporary directory
// (hundreds of MB each, so they are not fixtures).
func BenchmarkTrainStep(b *testing.B) {
	type workload struct {
		name  string
		file  string
		shape []int
		batch int
	}
	fixtures := "../testdata/models/"
	cases := []workload{
		{"dropoutnet", fixtures + "dropoutnet/train.onnx", []int{784}, 64},
		{"robustnet", fixtures + "robustnet/train.onnx", []int{784}, 64},
		{"robustnet_b256", fixtures + "robustnet/train.onnx", []int{784}, 256},
		{"small_cnn", fixtures + "small_cnn/train.onnx", []int{1, 28, 28}, 64},
		{"resnet18", fixtures + "resnet18/train.onnx.gz", []int{3, 32, 32}, 16},
		{"mobilenet_v2", fixtures + "mobilenet_v2/train.onnx.gz", []int{3, 32, 32}, 16},
	}
	if dir := os.Getenv("NNKIT_BENCH_MODELS"); dir != "" {
		// batch sizes as in bench/compare.py's TRAIN list
		cases = append(cases,
			workload{"vgg11_bn", filepath.Join(dir, "vgg11_bn", "train.onnx"), []int{3, 224, 224}, 8},
			workload{"alexnet", filepath.Join(dir, "alexnet", "train.onnx"), []int{3, 224, 224}, 32})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m, err := onnxio.ReadFile(c.file)
			if err != nil {
				b.Fatal(err)
			}
			prog, err := exec.Compile(m, exec.Options{ShareInitializers: true}) // as nntrain compiles
			if err != nil {
				b.Fatal(err)
			}
			batch := c.batch
			r := rand.New(rand.NewPCG(1, 2))
			s := &data.Set{File: "random", N: batch, Shape: c.shape}
			for i := 0; i < batch*s.SampleSize(); i++ {
				s.X = append(s.X, float32(r.NormFloat64()))
			}
			for i := 0; i < batch; i++ {
				s.Labels = append(s.Labels, int64(r.IntN(10)))
			}
			opt, _ := optim.NewAdam(optim.DefaultAdam)
			l := &Loop{Model: prog, Train: s, Loss: loss.CrossEntropy{}, Opt: opt, BatchSize: batch, ClipNorm: 1}
			if err := l.Setup(); err != nil {
				b.Fatal(err)
			}
			var bt data.Batch
			for x := range s.Batches(batch, data.Order(batch, false, 0, 0)) {
				bt = x
			}
			for range 5 { // warm-up, as the PyTorch side does
				l.TrainStep(bt)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, _, _, err := l.TrainStep(bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
