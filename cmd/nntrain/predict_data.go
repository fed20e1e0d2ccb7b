package main

import (
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/loss"
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
		return nil, 0, nil, withFlags(err)
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
		return nil, 0, nil, cli.Usagef("--split must be train, val or all, not %q", pf.split)
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
		if len(sets) == 1 {
			x = s.X // no copy: the data may be a GiB
		} else {
			if x == nil {
				total := 0
				for _, s := range sets {
					total += len(s.X)
				}
				x = make([]float32, 0, total)
			}
			x = append(x, s.X...)
		}
		n += s.N
	}
	t := &exec.Tensor{DType: ir.Float32, Shape: append([]int{n}, shape...), F: x}
	if err := predFits(t, spec); err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(lab.parts) == 0 {
		lab = nil
	}
	return map[string]*exec.Tensor{spec.Name: t}, n, lab, nil
}

// scoring says how an output scores a part's labels: k classes per
// label, with w labels per sample (w > 1: labels per position, the output
// [n, k, positions...] scored along axis 1, as cross-entropy does), or
// ok false when the output does not score these labels (no accuracy).
func scoring(out *exec.Tensor, p labelPart) (k, w int, ok bool) {
	if out == nil || out.DType != ir.Float32 || len(out.Shape) == 0 {
		return 0, 0, false
	}
	w = p.set.LabelWidth()
	if w == 1 {
		k = 1
		for _, d := range out.Shape[1:] {
			k *= d
		}
		return k, 1, true
	}
	if len(out.Shape) < 2 || out.Shape[1] < 1 {
		return 0, 0, false
	}
	rest := 1
	for _, d := range out.Shape[2:] {
		rest *= d
	}
	return out.Shape[1], w, rest == w
}

// check reports labels that no output of the model can match: outside
// 0..k−1 for k classes (the ignore index −100 aside, for labels per
// position), not 0 or 1 for a single logit. An accuracy against them would
// be meaningless.
func (l *labelled) check(out *exec.Tensor) error {
	for _, p := range l.parts {
		k, w, ok := scoring(out, p)
		var err error
		switch {
		case !ok:
		case w > 1:
			err = p.set.CheckLabels(k, true, loss.DefaultIgnoreIndex)
		case k == 1:
			err = p.set.CheckBinary()
		default:
			err = p.set.CheckClasses(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// accuracy compares the arg-max of a [n, classes] output (or the sign of a
// [n] or [n, 1] logit) with the labels, per split; labels per position are
// compared with the arg-max over the class axis at each position, positions
// labelled with the ignore index −100 left out.
func (l *labelled) accuracy(out *exec.Tensor) string {
	var parts []string
	for _, p := range l.parts {
		k, w, ok := scoring(out, p)
		if !ok {
			continue
		}
		correct, total := 0, 0
		for j, y := range p.labels {
			if w > 1 && y == loss.DefaultIgnoreIndex {
				continue
			}
			i, pos := p.start+j/w, j%w
			score := func(c int) float32 { return out.F[(i*k+c)*w+pos] } // [n, k, w] layout; w = 1: [n, k]
			var pred int64
			if k == 1 {
				if score(0) > 0 {
					pred = 1
				}
			} else {
				best := score(0)
				for c := 1; c < k; c++ {
					if v := score(c); v > best {
						best, pred = v, int64(c)
					}
				}
			}
			total++
			if pred == y {
				correct++
			}
		}
		if total > 0 {
			parts = append(parts, fmt.Sprintf("%s accuracy %.4f (%d/%d)", p.name, float64(correct)/float64(total), correct, total))
		}
	}
	return strings.Join(parts, ", ")
}
