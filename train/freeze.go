package train

import (
	"fmt"
	"path"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Freeze selects the parameters to keep fixed from --freeze and
// --train-only globs (path.Match syntax on initializer names: `*` matches
// any run of characters, dots included, so "layer1.*" covers
// "layer1.0.conv1.weight"). With freeze globs, the parameters matching
// one are frozen; with train-only globs, those matching none are; with
// both, a parameter is trained when it matches a train-only glob and no
// freeze glob. A glob that matches no parameter is an error (a typo would
// otherwise silently train everything), as is freezing every parameter.
//
// The result is for exec.Options.Frozen. BatchNorm running statistics are
// buffers, not parameters: they follow their layer (see exec.Options).
func Freeze(m *ir.Model, freeze, trainOnly []string) (map[string]bool, error) {
	params := m.Graph.Parameters()
	var buffers []string
	for _, v := range m.Graph.Buffers() {
		buffers = append(buffers, v.Name)
	}
	var errs ir.ErrorList
	match := func(flag string, globs []string) []map[string]bool {
		hits := make([]map[string]bool, len(globs))
		for i, gl := range globs {
			hits[i] = map[string]bool{}
			if _, err := path.Match(gl, ""); err != nil {
				errs.Add(fmt.Errorf("--%s %q: bad pattern: %w", flag, gl, err))
				continue
			}
			for _, p := range params {
				if ok, _ := path.Match(gl, p.Name); ok {
					hits[i][p.Name] = true
				}
			}
			if len(hits[i]) == 0 {
				msg := fmt.Sprintf("--%s %q matches no parameter", flag, gl)
				for _, b := range buffers {
					if ok, _ := path.Match(gl, b); ok {
						msg += fmt.Sprintf(" (it matches the BatchNorm statistic %q, which follows its layer's scale and bias)", b)
						break
					}
				}
				errs.Add(fmt.Errorf("%s; parameters are named like %s", msg, examples(params)))
			}
		}
		return hits
	}
	fh := match("freeze", freeze)
	th := match("train-only", trainOnly)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	in := func(hits []map[string]bool, name string) bool {
		for _, h := range hits {
			if h[name] {
				return true
			}
		}
		return false
	}
	frozen := map[string]bool{}
	for _, p := range params {
		if in(fh, p.Name) || (len(trainOnly) > 0 && !in(th, p.Name)) {
			frozen[p.Name] = true
		}
	}
	if len(frozen) > 0 && len(frozen) == len(params) {
		return nil, fmt.Errorf("--freeze/--train-only leave no parameter to train (all %d frozen)", len(params))
	}
	return frozen, nil
}

// examples lists a few parameter names for an error message.
func examples(params []*ir.Value) string {
	var names []string
	for i, p := range params {
		if i == 4 {
			names = append(names, fmt.Sprintf("… (%d in all)", len(params)))
			break
		}
		names = append(names, fmt.Sprintf("%q", p.Name))
	}
	if len(names) == 0 {
		return "(the model has none)"
	}
	return strings.Join(names, ", ")
}

// SplitGlobs splits repeated, comma-separated flag values into globs.
func SplitGlobs(values []string) []string {
	var out []string
	for _, v := range values {
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}
