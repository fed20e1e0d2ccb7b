package exec

import (
	"math"
	"slices"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// TestObserveSeesEveryValueAsComputed: Observe receives each watched value
// once per Run, in the order the nodes run, with the same contents Value
// returns when everything is kept, also when Keep lets the observed values
// share memory (a frozen first layer leaves the parameter-free middle of
// keepModel without backward, so its values are pooled).
func TestObserveSeesEveryValueAsComputed(t *testing.T) {
	m := keepModel()
	var names []string
	for _, n := range m.Graph.Nodes {
		names = append(names, n.Outputs[0].Name)
	}
	x := &Tensor{DType: ir.Float32, Shape: []int{4, 6}, F: make([]float32, 24)}
	for i := range x.F {
		x.F[i] = float32(math.Sin(float64(i)))
	}
	frozen := map[string]bool{"w1": true, "b1": true}
	full, err := Compile(m, Options{Threads: 1, Frozen: frozen})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.Run(Train, map[string]*Tensor{"x": x}); err != nil {
		t.Fatal(err)
	}
	var order []string
	seen := map[string][]float32{}
	o := Options{Threads: 1, Frozen: frozen,
		Keep:  func(string) bool { return false },
		Watch: func(n string) bool { return n != names[0] },
		Observe: func(n string, v *Tensor) {
			order = append(order, n)
			seen[n] = slices.Clone(v.F)
		}}
	p, err := Compile(m, o)
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		order = nil
		if _, err := p.Run(Train, map[string]*Tensor{"x": x}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(order, names[1:]) {
			t.Fatalf("run %d observed %v, want %v (every node's output but the unwatched first, in order)", run, order, names[1:])
		}
		for _, n := range names[1:] {
			if want := full.Value(n).F; !slices.Equal(seen[n], want) {
				t.Errorf("run %d: observed %s = %v, want %v", run, n, seen[n], want)
			}
		}
	}
	// The middle values were observed yet not kept: Neg's output shares
	// memory (Sigmoid's forward is its only reader).
	if p.Value(names[2]) != nil {
		t.Errorf("%s was kept though only observed", names[2])
	}
}
