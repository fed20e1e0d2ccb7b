package lint_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/lint"
)

// testRules is a small registry for configuration tests.
var testRules = []*lint.Rule{
	{ID: "NN101", Name: "saturating-chain", Severity: lint.Warning, Params: []lint.Param{{Name: "min-sigmoid", Default: 3, Doc: "d"}}},
	{ID: "NN102", Name: "deep-no-normalization", Severity: lint.Warning},
	{ID: "NN301", Name: "dropout-rate", Severity: lint.Warning, Params: []lint.Param{{Name: "max-rate", Default: 0.5, Doc: "d"}}},
	{ID: "NN502", Name: "unused-initializer", Severity: lint.Info},
}

const yamlConfig = `
fail-on: error
select: [NN1, dropout-rate]
ignore: NN102
probe: false
probe-batch: 8
rules:
  NN301: {max-rate: 0.6, severity: error}
  saturating-chain:
    min-sigmoid: 5
suppress:
  - rules: [NN3]
    nodes: ["/features/*", "/head/Drop?ut"]
    reason: checked by hand
  - nodes: ["*"]
    rules: unused-initializer
`

func TestParseConfigYAMLAndJSON(t *testing.T) {
	y, err := lint.ParseConfig([]byte(yamlConfig), ".nnlint.yaml", testRules)
	if err != nil {
		t.Fatal(err)
	}
	const jsonConfig = `{"fail-on": "error", "select": ["NN1", "dropout-rate"], "ignore": ["NN102"],
		"probe": false, "probe-batch": 8,
		"rules": {"NN301": {"max-rate": 0.6, "severity": "error"}, "saturating-chain": {"min-sigmoid": 5}},
		"suppress": [{"rules": ["NN3"], "nodes": ["/features/*", "/head/Drop?ut"], "reason": "checked by hand"},
		             {"nodes": ["*"], "rules": "unused-initializer"}]}`
	j, err := lint.ParseConfig([]byte(jsonConfig), ".nnlint.json", testRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*lint.Config{y, j} {
		if c.FailOn != "error" || !reflect.DeepEqual(c.Select, []string{"NN1", "dropout-rate"}) ||
			!reflect.DeepEqual(c.Ignore, []string{"NN102"}) || c.Probe == nil || *c.Probe || c.ProbeBatch != 8 {
			t.Errorf("%s: top-level settings wrong: %+v", c.Path, c)
		}
		if r := c.Rules["NN301"]; r.Severity != lint.Error || r.Params["max-rate"] != 0.6 {
			t.Errorf("%s: NN301 = %+v", c.Path, r)
		}
		if r := c.Rules["NN101"]; r.Params["min-sigmoid"] != 5 {
			t.Errorf("%s: rule named by its name not resolved to NN101: %+v", c.Path, c.Rules)
		}
		if len(c.Suppress) != 2 || c.Suppress[0].Reason != "checked by hand" {
			t.Errorf("%s: suppressions %+v", c.Path, c.Suppress)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{"fail-on: sometimes", "fail-on: want error, warning, info or none"},
		{"selekt: [NN1]", "selekt: unknown key"},
		{"rules: {NN999: {}}", "rules.NN999: no such rule"},
		{"rules: {NN301: {max-rat: 1}}", "rules.NN301.max-rat: NN301 (dropout-rate) has no such setting; it has severity, max-rate"},
		{"rules: {NN301: {max-rate: high}}", "rules.NN301.max-rate: want a number"},
		{"rules: {NN102: {severity: fatal}}", `rules.NN102.severity: unknown severity "fatal"`},
		{"suppress: [{rules: [NN4]}]", `suppress[0].rules: "NN4" matches no rule`},
		{"suppress: [{rules: [NN3]}]", "suppress[0]: needs nodes"},
		{"ignore: [NN7]", `"NN7" matches no rule`},
		{"probe-batch: 0", "probe-batch: want a whole number"},
		{"[1, 2]", "want a mapping at the top level"},
		{"rules: [", ".nnlint.yaml: yaml:"},
	} {
		_, err := lint.ParseConfig([]byte(c.cfg), ".nnlint.yaml", testRules)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
	if _, err := lint.ParseConfig([]byte(`{"fail-on": "error",}`), "x.json", testRules); err == nil || !strings.HasPrefix(err.Error(), "x.json: ") {
		t.Errorf("bad JSON: error %v, want one naming x.json", err)
	}
	if c, err := lint.ParseConfig(nil, ".nnlint.yaml", testRules); err != nil || c == nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestSelect(t *testing.T) {
	ids := func(rs []*lint.Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		sel, ign []string
		want     []string
	}{
		{nil, nil, []string{"NN101", "NN102", "NN301", "NN502"}},
		{[]string{"NN1"}, nil, []string{"NN101", "NN102"}},
		{[]string{"nn10"}, []string{"deep-no-normalization"}, []string{"NN101"}},
		{[]string{"ALL"}, []string{"NN5", "NN301"}, []string{"NN101", "NN102"}},
		{[]string{"dropout-rate", "NN502"}, nil, []string{"NN301", "NN502"}},
	} {
		got, err := lint.Select(testRules, c.sel, c.ign)
		if err != nil || !reflect.DeepEqual(ids(got), c.want) {
			t.Errorf("Select(%v, %v) = %v, %v; want %v", c.sel, c.ign, ids(got), err, c.want)
		}
	}
	if _, err := lint.Select(testRules, []string{"NN9"}, nil); err == nil {
		t.Error("Select accepted a selector matching no rule")
	}
}

func TestMatchGlob(t *testing.T) {
	for _, c := range []struct {
		glob, name string
		want       bool
	}{
		{"/features/*", "/features/features.0/Conv", true},
		{"/features/*", "/classifier/classifier.0/Gemm", false},
		{"*Conv", "/layer1/layer1.0/conv1/Conv", true},
		{"/fc?/Gemm", "/fc1/Gemm", true},
		{"/fc?/Gemm", "/fc10/Gemm", false},
		{"a.b", "axb", false}, // . is literal
		{"*", "", true},
	} {
		if got := lint.MatchGlob(c.glob, c.name); got != c.want {
			t.Errorf("MatchGlob(%q, %q) = %v", c.glob, c.name, got)
		}
	}
}

func TestFindConfig(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.MkdirAll(models, 0o755); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(models, "m.onnx")
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if got := lint.FindConfig("", model); got != "" {
		t.Errorf("no config anywhere: got %q", got)
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("fail-on: none\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, ".nnlint.json"))
	if got := lint.FindConfig("", model); got != ".nnlint.json" {
		t.Errorf("config in the working directory: got %q", got)
	}
	write(filepath.Join(models, ".nnlint.yaml"))
	if got := lint.FindConfig("", model); got != filepath.Join(models, ".nnlint.yaml") {
		t.Errorf("config next to the model wins: got %q", got)
	}
	if got := lint.FindConfig("explicit.yaml", model); got != "explicit.yaml" {
		t.Errorf("--config wins: got %q", got)
	}
}

func TestParseFailOn(t *testing.T) {
	for s, want := range map[string]lint.Severity{"error": lint.Error, "warning": lint.Warning, "info": lint.Info, "none": 0, "NONE": 0} {
		if got, err := lint.ParseFailOn(s); err != nil || got != want {
			t.Errorf("ParseFailOn(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := lint.ParseFailOn("fatal"); err == nil {
		t.Error("ParseFailOn accepted fatal")
	}
	d := []lint.Diagnostic{{Severity: lint.Warning}}
	if !lint.AtLeast(d, lint.Info) || !lint.AtLeast(d, lint.Warning) || lint.AtLeast(d, lint.Error) || lint.AtLeast(d, 0) {
		t.Error("AtLeast wrong")
	}
}
