package train

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// BenchmarkTrainStepFrozen measures a training step (batch 64, Adam) of
// resnet_narrow with everything trained, and with the backbone frozen
// (--train-only 'fc.*', frozen BatchNorm on running statistics): what
// skipping the frozen part's backward pass and optimizer work saves.
//
//	go test ./train -run '^$' -bench TrainStepFrozen -benchtime 50x
func BenchmarkTrainStepFrozen(b *testing.B) {
	for _, trainOnly := range []string{"", "fc.*"} {
		name := "all"
		if trainOnly != "" {
			name = "train-only=" + strings.TrimSuffix(trainOnly, ".*")
		}
		b.Run(name, func(b *testing.B) {
			m, err := onnxio.ReadFile("../testdata/models/resnet_narrow/train.onnx")
			if err != nil {
				b.Fatal(err)
			}
			opts := exec.Options{}
			if trainOnly != "" {
				if opts.Frozen, err = Freeze(m, nil, []string{trainOnly}); err != nil {
					b.Fatal(err)
				}
			}
			prog, err := exec.Compile(m, opts)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			r := rand.New(rand.NewPCG(1, 2))
			s := &data.Set{File: "random", N: batch, Shape: []int{3, 16, 16}}
			for i := 0; i < batch*s.SampleSize(); i++ {
				s.X = append(s.X, float32(r.NormFloat64()))
			}
			for i := 0; i < batch; i++ {
				s.Labels = append(s.Labels, int64(r.IntN(10)))
			}
			opt, _ := optim.NewAdam(optim.DefaultAdam)
			l := &Loop{Model: prog, Train: s, Loss: loss.CrossEntropy{}, Opt: opt, BatchSize: batch}
			if err := l.Setup(); err != nil {
				b.Fatal(err)
			}
			var bt data.Batch
			for x := range s.Batches(batch, data.Order(batch, false, 0, 0)) {
				bt = x
			}
			for range 3 {
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
