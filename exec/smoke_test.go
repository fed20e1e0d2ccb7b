package exec

import (
	"testing"

	"github.com/nnkit/nnkit/onnxio"
)

func TestSmoke(t *testing.T) {
	for _, name := range []string{"mlp_digits", "dropoutnet", "robustnet", "small_cnn", "lstm_classifier", "transformer_encoder", "mobilenet_block", "resnet_narrow", "vgg_bn"} {
		g := loadGolden(t, name)
		for _, f := range []string{"eval.onnx", "train.onnx"} {
			m, err := onnxio.ReadFile(g.dir + "/" + f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m, Options{OverrideDropout: true})
			if err != nil {
				t.Fatal(err)
			}
			in := &Tensor{DType: 1, Shape: g.get(t, "input").shape, F: g.f32(t, "input")}
			mode, key := Eval, "eval_output"
			if f == "train.onnx" {
				mode, key = Train, "train_output"
			}
			out, err := p.Run(mode, map[string]*Tensor{"input": in})
			if err != nil {
				t.Fatalf("%s %s: %v", name, f, err)
			}
			t.Logf("%s %s %s rel err %.3g", name, f, key, relErr(out["output"].F, g.get(t, key).f))
		}
	}
}
