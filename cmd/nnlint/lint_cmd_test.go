package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/lint/rules"
)

const (
	zoo    = "../../testdata/models/"
	faults = "../../testdata/lint/"
)

// nnlint runs the command in-process and returns exit code, stdout, stderr.
func nnlint(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestLintExitCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		out  []string // substrings of stdout
		err  string   // substring of stderr
	}{
		{"healthy model", []string{zoo + "dropoutnet/train.onnx"}, cli.ExitOK, []string{"All checks passed (1 file)"}, ""},
		{"info only passes by default", []string{zoo + "cnn_digits/train.onnx"}, cli.ExitOK, []string{"info NN304", "Found 1 problem (0 errors, 0 warnings, 1 info)"}, ""},
		{"info fails with --fail-on info", []string{"--fail-on", "info", zoo + "cnn_digits/train.onnx"}, cli.ExitFindings, nil, ""},
		{"seeded fault", []string{zoo + "deep_sigmoid_mlp/train.onnx"}, cli.ExitFindings, []string{
			"deep_sigmoid_mlp/train.onnx: /layers/layers.1/Sigmoid [Sigmoid]: error NN101 saturating-chain: 12 saturating activations",
			"  fix: Use nn.ReLU()", "error NN601 vanishing-gradients"}, ""},
		{"flags after the file", []string{zoo + "deep_sigmoid_mlp/train.onnx", "--probe=false", "--fail-on", "none"}, cli.ExitOK, []string{"NN101"}, ""},
		{"warnings pass --fail-on error", []string{faults + "dropout_high.onnx", "--fail-on=error"}, cli.ExitOK, []string{"warning NN301"}, ""},
		{"select by prefix", []string{"--select", "NN3", zoo + "deep_sigmoid_mlp/train.onnx"}, cli.ExitOK, []string{"All checks passed"}, ""},
		{"ignore by ID and prefix", []string{zoo + "deep_sigmoid_mlp/train.onnx", "--ignore", "NN101,NN6", "--ignore=deep-no-normalization"}, cli.ExitOK, []string{"All checks passed"}, ""},
		{"select by name", []string{"--select", "dropout-rate", faults + "dropout_high.onnx"}, cli.ExitFindings, []string{"NN301"}, ""},
		{"probe off skips probe rules", []string{"--probe=false", faults + "dead_relu.onnx"}, cli.ExitOK, []string{"All checks passed"}, ""},
		{"probe batch", []string{"--probe-batch", "8", faults + "dead_relu.onnx"}, cli.ExitFindings, []string{"never fire over the probe batch of 8"}, ""},
		{"missing file", []string{"nope.onnx"}, cli.ExitUsage, []string{"nope.onnx: failed:"}, "nope.onnx"},
		{"one bad file among good ones", []string{zoo + "dropoutnet/train.onnx", "nope.onnx", faults + "dropout_high.onnx"}, cli.ExitUsage,
			[]string{"warning NN301", "Found 1 problem (0 errors, 1 warning, 0 info) in 3 files; 1 file could not be linted."}, "nope.onnx"},
		{"unknown flag", []string{"--frobnicate", zoo + "dropoutnet/train.onnx"}, cli.ExitUsage, nil, "frobnicate"},
		{"unknown format", []string{"--format", "xml", zoo + "dropoutnet/train.onnx"}, cli.ExitUsage, nil, `unknown --format "xml"`},
		{"bad fail-on", []string{"--fail-on", "sometimes", zoo + "dropoutnet/train.onnx"}, cli.ExitUsage, nil, `unknown --fail-on "sometimes"`},
		{"selector matching nothing", []string{"--select", "NN9", zoo + "dropoutnet/train.onnx"}, cli.ExitUsage, nil, `--select "NN9" matches no rule`},
		{"bad probe batch", []string{"--probe-batch", "-1", zoo + "dropoutnet/train.onnx"}, cli.ExitUsage, nil, "--probe-batch"},
		{"no files", []string{"--format", "json"}, cli.ExitUsage, nil, "Usage: nnlint"},
		{"help", []string{"-h"}, cli.ExitOK, nil, "Usage: nnlint"},
		{"version", []string{"--version"}, cli.ExitOK, []string{"nnlint 0.1.0\n"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := nnlint(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errs)
			}
			for _, s := range c.out {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if c.err != "" && !strings.Contains(errs, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, errs)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colour escapes written to a non-terminal")
			}
		})
	}
}

func TestCorruptModel(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(bad, []byte("this is not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := nnlint(t, bad)
	if code != cli.ExitUsage || !strings.Contains(errs, "bad.onnx") {
		t.Errorf("exit %d, stderr %q; want 2 naming the file", code, errs)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFiles(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	copyFile(t, faults+"dropout_high.onnx", model)

	if code, _, _ := nnlint(t, model); code != cli.ExitFindings {
		t.Fatalf("without a config: exit %d, want 1", code)
	}
	// .nnlint.yaml next to the model raises the threshold.
	if err := os.WriteFile(filepath.Join(dir, ".nnlint.yaml"), []byte("rules:\n  NN301: {max-rate: 0.9}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := nnlint(t, model); code != cli.ExitOK {
		t.Errorf(".nnlint.yaml next to the model: exit %d\n%s%s", code, out, errs)
	}
	// --config wins over the file next to the model.
	other := filepath.Join(t.TempDir(), "strict.json")
	if err := os.WriteFile(other, []byte(`{"rules": {"dropout-rate": {"max-rate": 0.5, "severity": "error"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := nnlint(t, "--config", other, model)
	if code != cli.ExitFindings || !strings.Contains(out, "error NN301") {
		t.Errorf("--config with a severity override: exit %d\n%s", code, out)
	}
	// fail-on from the config, unless the command line says otherwise.
	if err := os.WriteFile(other, []byte(`{"fail-on": "error"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := nnlint(t, "--config", other, model); code != cli.ExitOK {
		t.Errorf("config fail-on error: exit %d, want 0", code)
	}
	if code, _, _ := nnlint(t, "--config", other, "--fail-on", "warning", model); code != cli.ExitFindings {
		t.Errorf("--fail-on over the config: exit %d, want 1", code)
	}
	// Suppression by node glob.
	other = filepath.Join(filepath.Dir(other), "strict.yaml")
	if err := os.WriteFile(other, []byte("suppress:\n  - rules: [NN301]\n    nodes: [\"/2/*\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := nnlint(t, "--config", other, model); code != cli.ExitOK {
		t.Errorf("suppressed: exit %d\n%s", code, out)
	}
	// A broken config is a usage error naming the file and the key.
	if err := os.WriteFile(other, []byte("rules:\n  NN301: {max-rat: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := nnlint(t, "--config", other, model)
	if code != cli.ExitUsage || !strings.Contains(errs, "strict.yaml: rules.NN301.max-rat: NN301 (dropout-rate) has no such setting") {
		t.Errorf("bad config: exit %d, stderr %q", code, errs)
	}
}

func TestOutputFileAndFormats(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nnlint.sarif")
	code, stdout, _ := nnlint(t, "--format", "sarif", "-o", out, faults+"softmax_output.onnx")
	if code != cli.ExitFindings || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || log.Version != "2.1.0" || len(log.Runs[0].Results) != 1 || log.Runs[0].Results[0].RuleID != "NN401" {
		t.Errorf("SARIF file: %v %+v", err, log)
	}

	code, stdout, _ = nnlint(t, faults+"dropout_high.onnx", "--format=json")
	var rep struct {
		Diagnostics []map[string]any `json:"diagnostics"`
		Summary     struct {
			Failed bool `json:"failed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != cli.ExitFindings || len(rep.Diagnostics) != 1 || !rep.Summary.Failed {
		t.Fatalf("json: exit %d, %v, %s", code, err, stdout)
	}
	for _, k := range []string{"rule", "name", "severity", "node", "op", "message", "fix"} {
		if _, ok := rep.Diagnostics[0][k]; !ok {
			t.Errorf("json diagnostic lacks %q", k)
		}
	}

	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	code, stdout, _ = nnlint(t, "--format", "github", faults+"dropout_high.onnx")
	if code != cli.ExitFindings || !strings.HasPrefix(stdout, "::warning file=") {
		t.Errorf("github: exit %d\n%s", code, stdout)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "| NN301 dropout-rate | warning |") {
		t.Errorf("step summary: %v\n%s", err, md)
	}
}

func TestRulesAndExplain(t *testing.T) {
	code, out, _ := nnlint(t, "rules")
	if code != cli.ExitOK {
		t.Fatalf("rules: exit %d", code)
	}
	for _, r := range rules.All {
		if !strings.Contains(out, r.ID+"  ") || !strings.Contains(out, r.Name) {
			t.Errorf("nnlint rules lacks %s %s", r.ID, r.Name)
		}
	}
	code, out, _ = nnlint(t, "rules", "--format", "json")
	var list []struct {
		ID, Name, Severity string
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != cli.ExitOK || len(list) != len(rules.All) || list[0].ID != "NN101" || list[0].Severity != "warning" {
		t.Errorf("rules --format json: %v %+v", err, list)
	}
	code, out, _ = nnlint(t, "explain", "nn301")
	if code != cli.ExitOK || !strings.HasPrefix(out, "NN301 dropout-rate (default severity: warning)\n\nDropout drops more than half of the units\n") ||
		!strings.Contains(out, "max-rate  0.5") || !strings.Contains(out, "Fix: use nn.Dropout(p=0.2)") {
		t.Errorf("explain NN301:\n%s", out)
	}
	if code, out, _ = nnlint(t, "explain", "dead-relu"); code != cli.ExitOK || !strings.Contains(out, "Needs the probe") {
		t.Errorf("explain dead-relu:\n%s", out)
	}
	if code, _, errs := nnlint(t, "explain", "NN999"); code != cli.ExitUsage || !strings.Contains(errs, `no rule "NN999"`) {
		t.Errorf("explain NN999: exit %d %q", code, errs)
	}
	if code, _, _ := nnlint(t, "explain"); code != cli.ExitUsage {
		t.Errorf("explain without an ID: exit %d", code)
	}
}
