package format_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/format"
	"github.com/nnkit/nnkit/lint/probe"
	"github.com/nnkit/nnkit/lint/rules"
	"github.com/nnkit/nnkit/onnxio"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenRules is a small fixed registry so that the golden files do not
// change whenever a real rule's documentation does.
var goldenRules = []*lint.Rule{
	{ID: "NN101", Name: "saturating-chain", Severity: lint.Warning, Doc: "Saturating activations in series\n\nWhy: sigmoid′ ≤ 0.25.\n\nFix: use nn.ReLU()."},
	{ID: "NN201", Name: "constant-weights", Severity: lint.Error, Doc: "Constant weights\n\nWhy: symmetry.\n\nFix: nn.init.kaiming_normal_."},
	{ID: "NN502", Name: "unused-initializer", Severity: lint.Info, Doc: "Initializer not used by any node\n\nWhy: dead weight.\n\nFix: remove it."},
}

func goldenReport() *format.Report {
	return &format.Report{
		Rules:  goldenRules,
		FailOn: lint.Warning,
		Results: []format.Result{
			{
				File: "models/deep.onnx",
				Diagnostics: []lint.Diagnostic{
					{Rule: "NN101", Name: "saturating-chain", Severity: lint.Error, File: "models/deep.onnx", Node: "/layers/layers.1/Sigmoid", Op: "Sigmoid",
						Message: "12 saturating activations in series: the gradient is bounded by 0.25^12 = 6.0e-08", Fix: "Use nn.ReLU().",
						Related: []string{"/layers/layers.1/Sigmoid", "/layers/layers.3/Sigmoid"}},
					{Rule: "NN201", Name: "constant-weights", Severity: lint.Error, File: "models/deep.onnx", Node: "/fc, 2/Gemm", Op: "Gemm",
						Message: "weight fc.weight [64, 64] is all zeros: 100% of units identical\nsecond line", Fix: "Initialize randomly."},
					{Rule: "NN502", Name: "unused-initializer", Severity: lint.Info, File: "models/deep.onnx", Node: "leftover.weight", Op: "initializer",
						Message: "initializer leftover.weight [4] (4 values) is not used by any node", Fix: "Remove it."},
				},
				Probe: &lint.ProbeReport{
					Batch: 32, Seed: 7, Loss: 2.3026, LossKind: "cross-entropy against random labels over 10 classes",
					Inputs: []lint.ProbeInput{{Name: "input", DType: "float32", Shape: []int{32, 64}, Fill: "N(0,1)"}},
					Notes:  []string{"symbolic dimension \"seq\" of input input set to 16"},
					Layers: []lint.ProbeLayer{
						{Node: "/layers/layers.0/Gemm", Op: "Gemm", Param: "layers.0.weight", InStd: 1, OutStd: 0.58, WeightNorm: 4.6, GradNorm: 6.8e-11, Elements: 4096},
						{Node: "/head/Gemm", Op: "Gemm", Param: "head.weight", InStd: 0.1, OutStd: 0.31, WeightNorm: 1.5, GradNorm: 0.56, Elements: 640},
					},
					ReLUs:  []lint.ProbeReLU{{Node: "/r/Relu", Op: "Relu", Units: 64, Dead: 50}},
					Shifts: []lint.ProbeShift{{Node: "/bn/BatchNormalization", Dropouts: []string{"/drop/Dropout"}, Through: []string{"/fc/Gemm"}, Channels: 64, Mean: 2.4, Max: 3.1}},
				},
			},
			{File: "models/clean.onnx"},
			{File: "models/broken.onnx", Err: errors.New("models/broken.onnx: proto: cannot parse invalid wire-format data")},
		},
	}
}

func render(t *testing.T, name string, o format.Options, r *format.Report) []byte {
	t.Helper()
	f, err := format.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Format(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden compares every formatter with its golden file
// (go test ./lint/format -update rewrites them).
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		golden, format string
		opts           format.Options
	}{
		{"report.txt", "text", format.Options{}},
		{"report_color.txt", "text", format.Options{Color: true}},
		{"report_verbose.txt", "text", format.Options{Verbose: true}},
		{"report.json", "json", format.Options{}},
		{"report.sarif", "sarif", format.Options{}},
		{"report.github", "github", format.Options{}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			got := render(t, c.format, c.opts, goldenReport())
			path := filepath.Join("testdata", c.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", c.format, path, got, want)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := format.New("xml", format.Options{}); err == nil || !strings.Contains(err.Error(), "text, json, sarif, github") {
		t.Errorf("New(xml) error = %v", err)
	}
}

func compile(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // check "uri", "uri-reference", "date-time" too
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, out []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("output does not validate: %v\n%s", err, out)
	}
}

// realReport lints a few fixtures with every rule and the probe, so that
// the schema tests see real messages, numbers and all rule docs.
func realReport(t *testing.T) *format.Report {
	t.Helper()
	r := &format.Report{Rules: rules.All, FailOn: lint.Warning}
	for _, file := range []string{
		"../../testdata/models/deep_sigmoid_mlp/train.onnx",
		"../../testdata/models/badinit_zero/eval.onnx",
		"../../testdata/lint/nan_weight.onnx",
		"../../testdata/lint/unsupported_einsum.onnx",
		"../../testdata/lint/unused_initializer.onnx",
	} {
		m, err := onnxio.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := lint.NewFacts(m, file)
		if err != nil {
			t.Fatal(err)
		}
		o := lint.Options{File: file, Rules: rules.All, Facts: f}
		o.Probe, o.ProbeErr = probe.Run(m, f, probe.Options{Batch: 8})
		d, err := lint.Check(m, o)
		if err != nil {
			t.Fatal(err)
		}
		r.Results = append(r.Results, format.Result{File: file, Diagnostics: d, Probe: o.Probe})
	}
	r.Results = append(r.Results, format.Result{File: "missing.onnx", Err: errors.New("open missing.onnx: no such file or directory")})
	return r
}

// TestSARIFValidatesAgainstSchema checks SARIF output against the official
// SARIF 2.1.0 JSON schema (OASIS errata 01, lint/testdata), plus what GitHub
// code scanning needs beyond the schema.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	s := compile(t, "../testdata/sarif-schema-2.1.0.json")
	golden := render(t, "sarif", format.Options{}, goldenReport())
	validate(t, s, golden)
	// The validator is live: a wrong level, a missing message and an
	// unknown property are each rejected.
	for _, bad := range [][2]string{
		{`"level": "error"`, `"level": "fatal"`},
		{`"message": {`, `"messages": {`},
		{`"columnKind"`, `"columnKinds"`},
	} {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(bytes.Replace(golden, []byte(bad[0]), []byte(bad[1]), 1)))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(inst) == nil {
			t.Errorf("schema accepted SARIF with %s", bad[1])
		}
	}
	out := render(t, "sarif", format.Options{}, realReport(t))
	validate(t, s, out)

	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string            `json:"ruleId"`
				RuleIndex int               `json:"ruleIndex"`
				Level     string            `json:"level"`
				Finger    map[string]string `json:"partialFingerprints"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != len(rules.All) {
		t.Errorf("SARIF describes %d rules, the registry has %d", len(run.Tool.Driver.Rules), len(rules.All))
	}
	for i, r := range run.Tool.Driver.Rules {
		if r.ID != rules.All[i].ID || !strings.Contains(r.Help.Text, "Fix:") {
			t.Errorf("rule %d: id %s, help without a fix", i, r.ID)
		}
	}
	if len(run.Results) < 10 {
		t.Fatalf("only %d results from the real report", len(run.Results))
	}
	seen := map[string]bool{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule index %d (%s)", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		// GitHub: a location with a relative path and a start line, and
		// fingerprints that are unique within the run.
		l := res.Locations[0].Physical
		if strings.HasPrefix(l.Artifact.URI, "/") || l.Region.StartLine != 1 {
			t.Errorf("%s: location %+v", res.RuleID, l)
		}
		fp := res.Finger["primaryLocationLineHash"] + l.Artifact.URI + res.RuleID
		if res.Finger["primaryLocationLineHash"] == "" || seen[fp] {
			t.Errorf("%s: missing or duplicate fingerprint %q", res.RuleID, fp)
		}
		seen[fp] = true
	}
}

// TestSARIFFingerprintsIgnoreNumbers: a re-run with different measured
// numbers must keep the same alert identity.
func TestSARIFFingerprintsIgnoreNumbers(t *testing.T) {
	a := render(t, "sarif", format.Options{}, goldenReport())
	r := goldenReport()
	r.Results[0].Diagnostics[0].Message = "13 saturating activations in series: bounded by 1.5e-08"
	b := render(t, "sarif", format.Options{}, r)
	fp := regexp.MustCompile(`"primaryLocationLineHash": "[^"]+"`)
	if x, y := fp.FindAll(a, -1), fp.FindAll(b, -1); len(x) != 3 || !bytes.Equal(bytes.Join(x, nil), bytes.Join(y, nil)) {
		t.Errorf("fingerprints changed with the message: %s vs %s", x, y)
	}
}

func TestJSONValidatesAgainstItsSchema(t *testing.T) {
	s := compile(t, "nnlint.schema.json")
	validate(t, s, render(t, "json", format.Options{}, goldenReport()))
	validate(t, s, render(t, "json", format.Options{}, realReport(t)))
	// NaN and Inf measurements are written as null, not as invalid JSON.
	r := goldenReport()
	r.Results[0].Probe.Loss = 0
	r.Results[0].Probe.Layers[0].GradNorm = 1 / r.Results[0].Probe.Loss
	out := render(t, "json", format.Options{}, r)
	validate(t, s, out)
	if !bytes.Contains(out, []byte(`"grad_norm": null`)) {
		t.Error("an infinite gradient norm is not written as null")
	}
}

// TestGitHubAnnotationLimit: at most 10 annotations of each type, the rest
// listed in a group and counted in the summary.
func TestGitHubAnnotationLimit(t *testing.T) {
	var d []lint.Diagnostic
	for i := 0; i < 23; i++ {
		d = append(d, lint.Diagnostic{Rule: "NN101", Name: "saturating-chain", Severity: lint.Warning, Node: "/n" + strings.Repeat("x", i), Message: "m"})
	}
	d = append(d, lint.Diagnostic{Rule: "NN201", Name: "constant-weights", Severity: lint.Error, Node: "/e", Message: "m"})
	for i := 0; i < 12; i++ {
		d = append(d, lint.Diagnostic{Rule: "NN502", Name: "unused-initializer", Severity: lint.Info, Node: "w", Message: "m"})
	}
	out := string(render(t, "github", format.Options{}, &format.Report{Rules: goldenRules, Results: []format.Result{{File: "a.onnx", Diagnostics: d}}}))
	count := func(prefix string) int {
		return strings.Count(out, "\n"+prefix) + map[bool]int{true: 1}[strings.HasPrefix(out, prefix)]
	}
	if w, e, n := count("::warning "), count("::error "), count("::notice "); w != 10 || e != 1 || n != 10 {
		t.Errorf("annotations: %d warnings, %d errors, %d notices; want 10, 1, 10\n%s", w, e, n, out)
	}
	if !strings.Contains(out, "::group::nnlint: 13 warning, 2 notice beyond GitHub's 10 annotations per type per step\n") ||
		!strings.Contains(out, "::endgroup::\n") || strings.Count(out, "a.onnx: ") != 15 {
		t.Errorf("overflow group wrong:\n%s", out)
	}
	if !strings.HasSuffix(out, "nnlint: 1 errors, 23 warnings, 12 info in 1 files; 15 not shown as annotations (see the group above)\n") {
		t.Errorf("summary wrong:\n%s", out)
	}
}
