package train

import (
	"fmt"
	"path"
	"strings"

	"github.com/nnkit/nnkit/ir"
)

// Globs says which of Freeze's glob lists a GlobError is about.
type Globs int

const (
	FreezeGlobs    Globs = iota + 1 // the parameters to freeze
	TrainOnlyGlobs                  // the parameters to train
)

func (g Globs) String() string {
	if g == TrainOnlyGlobs {
		return "train-only glob"
	}
	return "freeze glob"
}

// GlobError is a glob of Freeze that is malformed (Err is the syntax
// error) or matches no parameter. Problem says what is wrong after the
// glob; Error names the list in the library's terms, and a front end can
// name it in its own (Globs says which).
type GlobError struct {
	Globs   Globs
	Glob    string
	Problem string
	Err     error
}

func (e *GlobError) Error() string { return e.In(e.Globs.String()) }

// In words the error with list naming the glob list.
func (e *GlobError) In(list string) string {
	if e.Err != nil {
		return fmt.Sprintf("%s %q: %s", list, e.Glob, e.Problem)
	}
	return fmt.Sprintf("%s %q %s", list, e.Glob, e.Problem)
}

func (e *GlobError) Unwrap() error { return e.Err }

// AllFrozenError: Freeze's globs leave no parameter to train.
type AllFrozenError struct{ Params int }

func (e *AllFrozenError) Error() string {
	return fmt.Sprintf("the freeze and train-only globs leave no parameter to train (all %d frozen)", e.Params)
}

// Freeze selects the parameters to keep fixed from freeze and trainOnly
// globs (path.Match syntax on initializer names: `*` matches
// any run of characters, dots included, so "layer1.*" covers
// "layer1.0.conv1.weight"). With freeze globs, the parameters matching
// one are frozen; with train-only globs, those matching none are; with
// both, a parameter is trained when it matches a train-only glob and no
// freeze glob. A glob that matches no parameter is an error (a typo would
// otherwise silently train everything; a *GlobError in an ir.ErrorList),
// as is freezing every parameter (*AllFrozenError).
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
	match := func(list Globs, globs []string) []map[string]bool {
		hits := make([]map[string]bool, len(globs))
		for i, gl := range globs {
			hits[i] = map[string]bool{}
			if _, err := path.Match(gl, ""); err != nil {
				errs.Add(&GlobError{list, gl, "bad pattern: " + err.Error(), err})
				continue
			}
			for _, p := range params {
				if ok, _ := path.Match(gl, p.Name); ok {
					hits[i][p.Name] = true
				}
			}
			if len(hits[i]) == 0 {
				msg := "matches no parameter"
				for _, b := range buffers {
					if ok, _ := path.Match(gl, b); ok {
						msg += fmt.Sprintf(" (it matches the BatchNorm statistic %q, which follows its layer's scale and bias)", b)
						break
					}
				}
				errs.Add(&GlobError{list, gl, msg + "; parameters are named like " + examples(params), nil})
			}
		}
		return hits
	}
	fh := match(FreezeGlobs, freeze)
	th := match(TrainOnlyGlobs, trainOnly)
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
		return nil, &AllFrozenError{len(params)}
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

// SplitGlobs splits repeated, comma-separated glob lists into globs.
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
