package suite

import (
	"testing"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/doctor"
)

// BenchmarkStep: a training step without the doctor (off) and with it
// (warn); the overhead is the ratio. go run ./testdata/doctor prints it.
func BenchmarkStep(b *testing.B) {
	for _, m := range OverheadModels {
		model, err := onnxio.ReadFile("../../../testdata/models/" + m.Name + "/train.onnx")
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []doctor.Mode{doctor.Off, doctor.Warn} {
			b.Run(m.Name+"/"+mode.String(), StepBench(model, m.Shape, mode))
		}
	}
}
