package exec

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// Golden files from testdata/make_fixtures.py (PyTorch 1.13, see
// testdata/README.md).

const modelsDir = "../testdata/models"

type goldenMeta struct {
	Model           string             `json:"model"`
	InputShape      []int              `json:"input_shape"`
	ParamNames      []string           `json:"param_names"`
	BufferNames     []string           `json:"buffer_names"`
	Float32Error    map[string]any     `json:"float32_error"`
	NegligibleGrads []string           `json:"negligible_grads"`
	Files           []string           `json:"files"`
	Dropout         map[string]float64 `json:"dropout"`
	GradPartial     *struct {
		Params []string `json:"params"`
	} `json:"grad_partial"`
}

// f32err is float32_error[key]: how far PyTorch's float32 golden value is
// from a float64 replay (0 if absent).
func (m *goldenMeta) f32err(key string) float64 {
	if v, ok := m.Float32Error[key].(float64); ok {
		return v
	}
	return 0
}

type array struct {
	shape []int
	f     []float64
}

type golden struct {
	dir    string
	meta   goldenMeta
	arrays map[string]array
}

func loadGolden(t testing.TB, name string) *golden {
	t.Helper()
	dir := filepath.Join(modelsDir, name)
	g := &golden{dir: dir, arrays: map[string]array{}}
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &g.meta); err != nil {
		t.Fatal(err)
	}
	r, err := npz.Open(filepath.Join(dir, "golden.npz"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, k := range r.Keys() {
		h := r.Header(k)
		a := array{shape: h.Descr.Shape}
		switch strings.Trim(h.Descr.Type, "'") {
		case "<f4":
			var v []float32
			if err := r.Read(k, &v); err != nil {
				t.Fatalf("%s: %s: %v", name, k, err)
			}
			a.f = make([]float64, len(v))
			for i, x := range v {
				a.f[i] = float64(x)
			}
		case "<f8":
			if len(a.shape) == 0 {
				var v float64
				if err := r.Read(k, &v); err != nil {
					t.Fatalf("%s: %s: %v", name, k, err)
				}
				a.f = []float64{v}
			} else if err := r.Read(k, &a.f); err != nil {
				t.Fatalf("%s: %s: %v", name, k, err)
			}
		default:
			t.Fatalf("%s: %s: dtype %s", name, k, h.Descr.Type)
		}
		g.arrays[strings.TrimSuffix(k, ".npy")] = a
	}
	return g
}

func (g *golden) get(t testing.TB, key string) array {
	t.Helper()
	a, ok := g.arrays[key]
	if !ok {
		t.Fatalf("%s: golden.npz has no %q", g.meta.Model, key)
	}
	return a
}

func (g *golden) f32(t testing.TB, key string) []float32 {
	a := g.get(t, key)
	out := make([]float32, len(a.f))
	for i, v := range a.f {
		out[i] = float32(v)
	}
	return out
}

// paramValue is the value of p's parameter called name, or nil if p has
// none.
func paramValue(p *Program, name string) []float32 {
	for _, q := range p.Params() {
		if q.Name == name {
			return q.Value
		}
	}
	return nil
}

// relErr is max|a−b| / max|b| over a tensor (max|a−b| when b is all zero):
// the error relative to the tensor's scale, so that elements near zero are
// not judged on their own tiny magnitude.
func relErr(a []float32, b []float64) float64 {
	var d, s float64
	for i, v := range b {
		d = math.Max(d, math.Abs(float64(a[i])-v))
		s = math.Max(s, math.Abs(v))
	}
	if s == 0 {
		return d
	}
	return d / s
}

func maxAbs(b []float64) float64 {
	var s float64
	for _, v := range b {
		s = math.Max(s, math.Abs(v))
	}
	return s
}
