package lint_test

import (
	"testing"

	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/rules"
)

// FuzzConfig feeds arbitrary bytes to the configuration parser, as YAML
// and as JSON, against the real rule registry, then uses whatever it
// accepts (rule selection, suppression globs). It must never panic or
// hang; an error is the only acceptable failure.
//
//	nice -n 10 go test ./lint -run '^$' -fuzz '^FuzzConfig$' -fuzztime 10m -fuzzminimizetime 10s -parallel 1
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"fail-on: error\nprobe: false\nprobe-batch: 8\n",
		"select: [NN1, dropout-rate]\nignore: [NN502]\n",
		"rules:\n  NN101: {severity: error, min-sigmoid: 4}\n  dropout-rate: {max-rate: 0.3}\n",
		"suppress:\n  - rules: [NN301]\n    nodes: [\"/encoder/*\", \"?x\"]\n    reason: intended\n",
		"a: &x [1, *x]\n",
		`{"fail-on": "warning", "rules": {"NN101": {"severity": "info"}}, "suppress": [{"nodes": ["*"]}]}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		name := ".nnlint.yaml"
		if asJSON {
			name = ".nnlint.json"
		}
		c, err := lint.ParseConfig(data, name, rules.All)
		if err != nil {
			return
		}
		if _, err := lint.Select(rules.All, c.Select, c.Ignore); err != nil {
			t.Fatalf("an accepted configuration's select/ignore is refused later: %v", err)
		}
		if _, err := lint.ParseFailOn(c.FailOn); c.FailOn != "" && err != nil {
			t.Fatalf("an accepted fail-on %q is refused later: %v", c.FailOn, err)
		}
		for _, s := range c.Suppress {
			for _, g := range s.Nodes {
				lint.MatchGlob(g, "/layer1/layer1.0/conv1/Conv")
			}
		}
	})
}
