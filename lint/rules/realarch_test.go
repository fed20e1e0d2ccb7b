package rules_test

// Real architectures (issue 8): reduced-width torchvision / torch.nn models
// from testdata/lint/realarch/make_corpus.py --small, in both export modes.
// Each file lists the findings it must produce (with the measured numbers
// pinned by regular expressions) and the rules that must stay silent; any
// other finding must be info. Unlike TestFixtures the set is not exact, so
// that the NN600/NN503 notes of models the executor cannot run yet
// (GroupNorm's InstanceNormalization, Swin's Mod) may disappear when it
// can. The full corpus (25 architectures, ≈1.2 GB) is regenerated and
// checked by testdata/lint/realarch/check_corpus.sh.

import (
	"regexp"
	"testing"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/probe"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
)

const realarch = "../../testdata/lint/realarch/"

var realArch = []struct {
	file   string
	want   []want
	absent []string // rules that must not fire
}{
	// SqueezeNet: 18 unnormalized weighted layers in series (NN102's
	// hypothesis), but the probe measures healthy propagation: info.
	{"squeezenet_s.train.onnx", []want{
		{"NN102", "/features/features.0/Conv", lint.Info, `^18 weighted layers in series .*the probe measured healthy propagation through it \(activation std 1 at its first layer's input → 0\.[0-9]+ .* = [0-9.]+ over its 26 weighted layers\), so this is informational$`},
	}, []string{"NN601", "NN602", "NN603"}},
	{"squeezenet_s.eval.onnx", []want{
		{"NN102", "/features/features.0/Conv", lint.Info, `healthy propagation`},
		{"NN501", "Identity_0", lint.Info, `module classifier/classifier\.0 left no node`},
	}, []string{"NN601", "NN602"}},
	// ViT zero-initializes its head: the probe measures with a substitute
	// instead of reporting "+Inf× slower".
	{"vit_s.train.onnx", nil, []string{"NN601", "NN602", "NN201"}},
	{"vit_s.eval.onnx", []want{
		{"NN501", "Identity_0", lint.Info, `mlp/mlp\.2.* left no node`},
	}, []string{"NN601", "NN602", "NN201"}},
	// Swin's eval export keeps ratio-0 Dropouts with training_mode on:
	// still an inference export.
	{"swin_s.eval.onnx", []want{
		{"NN501", "Identity_0", lint.Info, `layers read weights renamed onnx::\*`},
	}, nil},
	{"swin_s.train.onnx", nil, []string{"NN501"}},
	// AlexNet's eval export: no BatchNorm, Dropout gone, nothing folded; the
	// missing classifier.0 and classifier.3 give it away.
	{"alexnet_s.eval.onnx", []want{
		{"NN501", "/classifier/classifier.1/Gemm", lint.Info, `module classifier/classifier\.0, classifier/classifier\.3 left no node before the next weighted layer`},
	}, nil},
	{"alexnet_s.train.onnx", nil, []string{"NN501"}},
	// GroupNorm(4, 16): the conv biases do not cancel; GroupNorm(8, 8) is an
	// InstanceNorm and they do.
	{"gn_convnet_s.train.onnx", nil, []string{"NN304"}},
	{"gn_convnet_s.eval.onnx", nil, []string{"NN304"}},
	{"gn_instance_s.train.onnx", []want{
		{"NN304", "/features/features.0/Conv", lint.Info, `bias features\.0\.bias \(8 values\) is added right before InstanceNormalization`},
		{"NN304", "/features/features.3/Conv", lint.Info, ``},
	}, nil},
	// zero_init_residual: each block's last BatchNorm weight is 0 (folded
	// into a zero Conv by the eval export). By design: no NN201 error, and
	// the conv1 layers' exactly-zero gradients are not vanishing ones.
	{"resnet_zir_s.train.onnx", nil, []string{"NN201", "NN601"}},
	{"resnet_zir_s.eval.onnx", []want{
		{"NN201", "/blocks/blocks.0/conv2/Conv", lint.Info, `is all zeros \(576 values\) and ends a residual branch`},
		{"NN201", "/blocks/blocks.1/conv2/Conv", lint.Info, `ends a residual branch`},
	}, []string{"NN601"}},
	// Dropout → Linear → BatchNorm (Li et al. 2019): measured variance shift,
	// a warning at p = 0.5 (theory 2.47), info at p = 0.1 (theory 1.17).
	{"drop_lin_bn_s.train.onnx", []want{
		{"NN304", "/body/body.0/Gemm", lint.Info, ``},
		{"NN302", "/body/body.3/Dropout", lint.Warning, `^Dropout /body/body\.3/Dropout \(p = 0\.5\) reaches BatchNormalization /body/body\.5/BatchNormalization through /body/body\.4/MatMul: .* variance shift of 2\.[0-9]+ on average .* ≥ 1\.5`},
		{"NN302", "/body/body.7/Dropout", lint.Warning, `variance shift of 2\.[0-9]+ on average`},
	}, nil},
	{"drop_lin_bn_p1_s.train.onnx", []want{
		{"NN304", "/body/body.0/Gemm", lint.Info, ``},
		{"NN302", "/body/body.3/Dropout", lint.Info, `\(p = 0\.1\) .* variance shift of 1\.[0-3][0-9]* on average .* < 1\.5`},
		{"NN302", "/body/body.7/Dropout", lint.Info, `variance shift of 1\.[0-3][0-9]* on average`},
	}, nil},
	// Eval mode: Dropout is gone, nothing to measure.
	{"drop_lin_bn_s.eval.onnx", []want{
		{"NN304", "/body/body.0/Gemm", lint.Info, ``},
		{"NN501", "Identity_0", lint.Info, `3 BatchNormalizations use running statistics`},
	}, []string{"NN302"}},
}

func TestRealArchitectures(t *testing.T) {
	for _, c := range realArch {
		t.Run(c.file, func(t *testing.T) {
			path := realarch + c.file
			m, err := onnxio.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := lint.NewFacts(m, path)
			if err != nil {
				t.Fatal(err)
			}
			o := lint.Options{File: path, Rules: rules.All, Facts: f}
			o.Probe, o.ProbeErr = probe.Run(m, f, probe.Options{Batch: 32})
			diags, err := lint.Check(m, o)
			if err != nil {
				t.Fatal(err)
			}
			matched := make([]bool, len(diags))
			for _, w := range c.want {
				found := false
				for i, d := range diags {
					if matched[i] || d.Rule != w.rule || d.Node != w.node {
						continue
					}
					matched[i], found = true, true
					if d.Severity != w.sev {
						t.Errorf("%s @ %q: severity %s, want %s (%s)", w.rule, w.node, d.Severity, w.sev, d.Message)
					}
					if w.msg != "" && !regexp.MustCompile(w.msg).MatchString(d.Message) {
						t.Errorf("%s @ %q: message %q does not match %q", w.rule, w.node, d.Message, w.msg)
					}
					break
				}
				if !found {
					t.Errorf("missing %s %s @ %q", w.sev, w.rule, w.node)
				}
			}
			for i, d := range diags {
				for _, r := range c.absent {
					if d.Rule == r {
						t.Errorf("unexpected %s %s @ %q: %s", d.Severity, d.Rule, d.Node, d.Message)
					}
				}
				if !matched[i] && d.Severity > lint.Info {
					t.Errorf("unexpected %s %s @ %q: %s", d.Severity, d.Rule, d.Node, d.Message)
				}
			}
		})
	}
}

// A model that already normalizes is not told to add normalization
// (issue 8: "add BatchNorm" to a model full of it). The thresholds are set
// so that every layer looks vanishing, to see the fix each kind of model
// gets.
func TestFixDoesNotRecommendWhatTheModelHas(t *testing.T) {
	cfg := &lint.Config{Rules: map[string]lint.RuleConfig{"NN601": {Params: map[string]float64{"max-ratio": 1e9}}}}
	for _, c := range []struct {
		file     string
		suggests bool
	}{
		{models + "resnet_narrow/train.onnx", false}, // BatchNorm everywhere
		{models + "mlp_digits/train.onnx", true},     // no normalization
	} {
		found := false
		for _, d := range check(t, c.file, cfg) {
			if d.Rule != "NN601" {
				continue
			}
			found = true
			if got := regexp.MustCompile(`add nn\.BatchNorm1d/2d or nn\.LayerNorm`).MatchString(d.Fix); got != c.suggests {
				t.Errorf("%s: fix %q suggests normalization: %v, want %v", c.file, d.Fix, got, c.suggests)
			}
		}
		if !found {
			t.Errorf("%s: no NN601 with max-ratio 1e9", c.file)
		}
	}
}

// A static finding the probe found healthy does not ask for a change.
func TestHealthyFindingFix(t *testing.T) {
	found := false
	for _, d := range check(t, realarch+"squeezenet_s.train.onnx", nil) {
		if d.Rule == "NN102" {
			found = true
			if d.Severity != lint.Info || !regexp.MustCompile(`^Nothing is needed while propagation measures healthy`).MatchString(d.Fix) {
				t.Errorf("NN102 %s, fix %q", d.Severity, d.Fix)
			}
		}
	}
	if !found {
		t.Error("squeezenet_s: no NN102")
	}
}
