package main

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/data"
)

// labelled remembers the class labels of data-set inputs, per split, so that
// predict can report accuracy.
type labelled struct {
	parts []labelPart
}

type labelPart struct {
	name   string // "train" or "val"
	start  int    // first sample in the concatenated inputs
	labels []int64
	set    *data.Set // for messages naming the file and row
}

// loadDataInputs reads a data directory (or a .csv file) the way nntrain
// reads training data, without holding anything out, and returns the
// samples of the chosen split(s) as the model's single input.
func loadDataInputs(path string, specs []exec.InputSpec, pf *predictFlags) (map[string]*exec.Tensor, int, *labelled, error) {
	if len(specs) != 1 {
		return nil, 0, nil, fmt.Errorf("%s: the model has %d inputs (%s); data directories feed one, give an .npz with one array per input", path, len(specs), predSpecNames(specs))
	}
	spec := specs[0]
	if spec.DType != ir.Float32 {
		return nil, 0, nil, fmt.Errorf("%s: the model's input %q is %s; data directories hold float samples", path, spec.Name, spec.DType)
	}
	var inShape []int
	if len(spec.Shape) > 0 {
		inShape = spec.Shape[1:]
	}
	opts, err := pf.data.options(inShape, 0, 0)
	if err != nil {
		return nil, 0, nil, err
	}
	d, err := data.Load(path, opts)
	if err != nil {
		return nil, 0, nil, err
	}
	var sets []*data.Set
	var names []string
	switch pf.split {
	case "all":
		sets, names = []*data.Set{d.Train}, []string{"train"}
		if d.Val != nil {
			sets, names = append(sets, d.Val), append(names, "val")
		}
	case "train":
		sets, names = []*data.Set{d.Train}, []string{"train"}
	case "val":
		if d.Val == nil {
			return nil, 0, nil, fmt.Errorf("%s: --split val, but the data has no validation set", path)
		}
		sets, names = []*data.Set{d.Val}, []string{"val"}
	default:
		return nil, 0, nil, usagef("--split must be train, val or all, not %q", pf.split)
	}
	n := 0
	var x []float32
	lab := &labelled{}
	var shape []int
	for i, s := range sets {
		if inShape != nil {
			if err := s.Reshape(inShape); err != nil {
				return nil, 0, nil, err
			}
		}
		shape = s.Shape
		if s.Labels != nil {
			lab.parts = append(lab.parts, labelPart{names[i], n, s.Labels, s})
		}
		x = append(x, s.X...)
		n += s.N
	}
	t := &exec.Tensor{DType: ir.Float32, Shape: append([]int{n}, shape...), F: x}
	if err := predFits(t, spec); err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(lab.parts) == 0 {
		lab = nil
	}
	return map[string]*exec.Tensor{spec.Name: t}, n, lab, nil
}

// classes is the number of classes an output scores (k for [n, k]; 1 for
// a [n] or [n, 1] logit), or 0 when accuracy does not apply.
func classes(out *exec.Tensor) int {
	if out == nil || out.DType != ir.Float32 || len(out.Shape) == 0 {
		return 0
	}
	k := 1
	for _, d := range out.Shape[1:] {
		k *= d
	}
	return k
}

// check reports labels that no output of the model can match: outside
// 0..k−1 for k classes, not 0 or 1 for a single logit. An accuracy against
// them would be meaningless.
func (l *labelled) check(out *exec.Tensor) error {
	k := classes(out)
	if k == 0 {
		return nil
	}
	for _, p := range l.parts {
		var err error
		if k == 1 {
			err = p.set.CheckBinary()
		} else {
			err = p.set.CheckClasses(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// accuracy compares the arg-max of a [n, classes] output (or the sign of a
// [n] or [n, 1] logit) with the labels, per split.
func (l *labelled) accuracy(out *exec.Tensor) string {
	if out == nil || out.DType != ir.Float32 || len(out.Shape) == 0 {
		return ""
	}
	k := 1
	for _, d := range out.Shape[1:] {
		k *= d
	}
	var parts []string
	for _, p := range l.parts {
		correct := 0
		for i, y := range p.labels {
			row := out.F[(p.start+i)*k : (p.start+i+1)*k]
			var pred int64
			if k == 1 {
				if row[0] > 0 {
					pred = 1
				}
			} else {
				best := row[0]
				for j, v := range row {
					if v > best {
						best, pred = v, int64(j)
					}
				}
			}
			if pred == y {
				correct++
			}
		}
		parts = append(parts, fmt.Sprintf("%s accuracy %.4f (%d/%d)", p.name, float64(correct)/float64(len(p.labels)), correct, len(p.labels)))
	}
	return strings.Join(parts, ", ")
}
