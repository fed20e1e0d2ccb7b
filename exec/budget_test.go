package exec

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// Shapes that come from the file (a constant shape, a fixed input
// dimension) can ask for any amount of memory; a plan over budget is
// refused with an error naming the value and its size, before anything is
// allocated.
func TestBudgetRefusesHugeValues(t *testing.T) {
	for _, c := range []struct {
		name   string
		shape  []int64
		limit  int64
		inShap []int
		want   []string
	}{
		{"16 GiB Expand", []int64{65536, 65536}, 0, []int{1, 1}, []string{`value "big"`, "Expand", "[65536, 65536]", "exceeds the memory budget of 4.0 GiB"}},
		{"overflowing Expand", []int64{1 << 31, 1 << 31, 1 << 31}, 0, []int{1, 1, 1}, []string{`value "big"`, "no buffer can hold"}},
		{"small budget", []int64{64, 64}, 16 << 10, []int{1, 1}, []string{`value "big"`, "needs 32.0 KiB", "16.0 KiB"}},
	} {
		if strconv.IntSize == 32 && c.name == "16 GiB Expand" {
			// 2^32 elements: more than a tensor can have on a 32-bit
			// platform (maxElems), whatever the budget.
			c.want = []string{`value "big"`, "[65536, 65536]", "no buffer can hold"}
		}
		t.Run(c.name, func(t *testing.T) {
			b := newGB(13)
			x := b.input("x", c.inShap...)
			n := b.g.AddNode("Expand", "expand", []*ir.Value{x, b.ints("shape", c.shape...)}, 1)
			n.Outputs[0].Name = "big"
			b.out(b.node("Relu", []*ir.Value{n.Outputs[0]}))
			p, err := Compile(b.model(), Options{MaxBytes: c.limit})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Run(Train, map[string]*Tensor{"x": {DType: ir.Float32, Shape: c.inShap, F: []float32{1}}})
			var be *BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("Run: %v, want a *BudgetError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// The input itself counts: a budget smaller than the input is refused.
func TestBudgetCountsInputs(t *testing.T) {
	b := newGB(13)
	b.out(b.node("Relu", []*ir.Value{b.input("x", 4, 1024)}))
	p, err := Compile(b.model(), Options{MaxBytes: 1024, Inference: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(Eval, map[string]*Tensor{"x": {DType: ir.Float32, Shape: []int{4, 1024}, F: make([]float32, 4096)}})
	if err == nil || !strings.Contains(err.Error(), `value "x" of shape [4, 1024] needs 16.0 KiB`) {
		t.Fatalf("Run: %v, want the input refused", err)
	}
}
