package loss

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type lossCase struct {
	Name   string    `json:"name"`
	N      int       `json:"n"`
	K      int       `json:"k"`
	Out    []float32 `json:"out"`
	Labels []int64   `json:"labels"`
	Values []float32 `json:"values"`
	Loss   float64   `json:"loss"`
	Grad   []float32 `json:"grad"`
}

// TestLossesAgainstPyTorch checks values and gradients against PyTorch's
// float32 results (testdata/train/make_train_golden.py pieces).
func TestLossesAgainstPyTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "train", "pieces.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Losses []lossCase `json:"losses"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Losses) == 0 {
		t.Fatal("no loss cases")
	}
	for _, c := range p.Losses {
		t.Run(c.Name, func(t *testing.T) {
			name := c.Name[:indexByte(c.Name, '_')]
			f, err := ByName(name)
			if err != nil {
				t.Fatal(err)
			}
			grad := make([]float32, len(c.Out))
			got := f.Eval(grad, c.Out, c.N, c.K, Target{Labels: c.Labels, Values: c.Values})
			// Loss: PyTorch accumulates in float32 (a few ulps of the
			// result), we in float64: 2e-6 relative.
			if math.Abs(got-c.Loss) > 2e-6*math.Abs(c.Loss) {
				t.Errorf("loss %v, PyTorch %v", got, c.Loss)
			}
			var gmax float64
			for _, g := range c.Grad {
				gmax = math.Max(gmax, math.Abs(float64(g)))
			}
			for i, w := range c.Grad {
				// Gradients: PyTorch's float32 softmax/sigmoid carry a few
				// ulps of the largest term; where (p − y) cancels, that
				// error is absolute: 4 ulps (5e-7) of the largest gradient.
				if d := math.Abs(float64(grad[i] - w)); d > 5e-7*gmax {
					t.Fatalf("grad[%d] = %v, PyTorch %v", i, grad[i], w)
				}
				if w == 0 && grad[i] != 0 { // L1's tie: sign(0) = 0 exactly
					t.Fatalf("grad[%d] = %v, PyTorch exactly 0", i, grad[i])
				}
			}
		})
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

func TestCorrect(t *testing.T) {
	out := []float32{0.1, 2, -1, 3, 0, 0.5}
	if c, n := (CrossEntropy{}).Correct(out, 2, 3, Target{Labels: []int64{1, 2}}); c != 1 || n != 2 {
		t.Errorf("ce correct %d/%d, want 1/2", c, n)
	}
	if c, n := (MSE{}).Correct([]float32{0.9, 2.6}, 2, 1, Target{Labels: []int64{1, 2}}); c != 1 || n != 2 {
		t.Errorf("mse labels correct %d/%d, want 1/2", c, n)
	}
	if _, n := (MSE{}).Correct([]float32{0.9}, 1, 1, Target{Values: []float32{1}}); n != 0 {
		t.Errorf("mse float targets counted %d, want 0", n)
	}
	if c, n := (BCEWithLogits{}).Correct([]float32{-1, 2}, 2, 1, Target{Labels: []int64{0, 0}}); c != 1 || n != 2 {
		t.Errorf("bce correct %d/%d, want 1/2", c, n)
	}
	if _, err := ByName("hinge"); err == nil {
		t.Error("unknown loss accepted")
	}
}
