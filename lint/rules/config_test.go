package rules_test

import (
	"testing"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
)

// staticCheck runs the static rules with a configuration.
func staticCheck(t *testing.T, file, config string) []lint.Diagnostic {
	t.Helper()
	cfg, err := lint.ParseConfig([]byte(config), ".nnlint.yaml", rules.All)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnxio.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := lint.Check(m, lint.Options{File: file, Rules: rules.All, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConfigThresholdsAndSuppressions shows each rule's settings acting on
// the fixtures, and suppressions and severity overrides in the driver.
func TestConfigThresholdsAndSuppressions(t *testing.T) {
	for _, c := range []struct {
		name, file, config string
		want               []want
	}{
		{"max-rate above the fixture's p", faults + "dropout_high.onnx", "rules: {NN301: {max-rate: 0.9}}", nil},
		{"max-rate below it", faults + "dropout_high.onnx", "rules: {dropout-rate: {max-rate: 0.1}}",
			[]want{{"NN301", "/2/Dropout", lint.Warning, `p = 0\.8 > 0\.1`}}},
		{"fewer sigmoids needed than present", models + "deep_sigmoid_mlp/train.onnx",
			"rules: {NN101: {min-sigmoid: 13, min-saturating: 13}}\nignore: [NN102]", nil},
		{"error bound below 0.25^12", models + "deep_sigmoid_mlp/train.onnx",
			"rules: {NN101: {error-bound: 1e-9}}\nselect: [NN101]",
			[]want{{"NN101", "/layers/layers.1/Sigmoid", lint.Warning, ""}}},
		{"deep-no-normalization threshold", models + "deep_sigmoid_mlp/train.onnx",
			"rules: {NN102: {min-layers: 14}}\nselect: [NN102]", nil},
		{"deep-plain-stack threshold", faults + "deep_plain_relu20.onnx",
			"rules: {NN103: {min-depth: 20}}\nselect: [NN103]",
			[]want{{"NN103", "/0/Gemm", lint.Warning, `crosses 20 weighted layers`}}},
		{"init-scale decades", models + "mlp_relu_6/train.onnx", "rules: {NN203: {info-decades: 5}}", nil},
		{"init-scale warning from 4 decades", models + "mlp_relu_6/train.onnx", "rules: {NN203: {warning-decades: 4}}",
			[]want{{"NN203", "/layers/layers.0/Gemm", lint.Warning, ""}}},
		{"suppress by node glob", models + "badinit_zero/train.onnx",
			"suppress: [{rules: [NN201], nodes: [\"/layers/layers.?/Gemm\"]}]", nil},
		{"suppress only the matching nodes", models + "badinit_zero/train.onnx",
			"suppress: [{rules: [constant-weights], nodes: [\"/layers/layers.[0]*\", \"*.2/*\", \"/layers/layers.4/Gemm\", \"/layers/layers.6/Gemm\"]}]",
			[]want{{"NN201", "/layers/layers.0/Gemm", lint.Error, ""}, {"NN201", "/layers/layers.8/Gemm", lint.Error, ""}}},
		{"severity override", models + "robustnet/train.onnx", "rules: {NN304: {severity: warning}}",
			[]want{{"NN304", "/fc1/Gemm", lint.Warning, ""}, {"NN304", "/fc2/Gemm", lint.Warning, ""}}},
		{"suppression wins over everything", models + "robustnet/train.onnx",
			"rules: {NN304: {severity: error}}\nsuppress: [{nodes: ['*']}]", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := staticCheck(t, c.file, c.config)
			cfg, _ := lint.ParseConfig([]byte(c.config), ".nnlint.yaml", rules.All)
			sel, err := lint.Select(rules.All, cfg.Select, cfg.Ignore)
			if err != nil {
				t.Fatal(err)
			}
			var kept []lint.Diagnostic
			for _, d := range got {
				for _, r := range sel {
					if r.ID == d.Rule {
						kept = append(kept, d)
					}
				}
			}
			expect(t, kept, c.want)
		})
	}
}

// TestZeroThresholdsDoNotPanic: settings at their extremes on models with
// and without layers.
func TestZeroThresholdsDoNotPanic(t *testing.T) {
	cfg := "rules: {NN101: {min-sigmoid: 0, min-saturating: 0}, NN102: {min-layers: 0}, NN103: {min-depth: 0}, NN203: {info-decades: 0}}"
	for _, f := range []string{models + "lstm_classifier/train.onnx", models + "transformer_encoder/eval.onnx", faults + "unsupported_einsum.onnx", models + "resnet_narrow/train.onnx"} {
		staticCheck(t, f, cfg)
	}
}
