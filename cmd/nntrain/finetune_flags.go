package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train"
)

// finetuneFlags are the "pretrained backbone, new head" controls:
// --freeze, --train-only, --num-classes, --train-frozen-bn.
type finetuneFlags struct {
	freeze, trainOnly globList
	numClasses        int
	trainFrozenBN     bool

	head   *train.Head
	frozen map[string]bool
}

// globList is a repeatable flag of comma-separated globs.
type globList []string

func (g *globList) String() string { return strings.Join(*g, ",") }
func (g *globList) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty pattern")
	}
	*g = append(*g, s)
	return nil
}

func (f *finetuneFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.freeze, "freeze", "keep the parameters matching `GLOB` fixed (repeatable or comma-separated; * matches dots too: 'layer1.*')")
	fs.Var(&f.trainOnly, "train-only", "train only the parameters matching `GLOB` (repeatable or comma-separated), freeze the rest")
	fs.IntVar(&f.numClasses, "num-classes", 0, "replace the final classifier (Gemm, MatMul+Add or Conv) with a fresh one of `N` outputs, initialized like nn.Linear/nn.Conv2d (seeded by --seed)")
	fs.BoolVar(&f.trainFrozenBN, "train-frozen-bn", false, "frozen BatchNorm layers still normalize with batch statistics and update their running statistics (PyTorch's requires_grad=False alone); default: they keep their running statistics, as FrozenBatchNorm2d")
}

// apply replaces the head and selects the frozen parameters, in that order
// (the new head's initializers keep their names, so globs can name them).
func (f *finetuneFlags) apply(m *ir.Model, seed uint64, set map[string]bool, opts *exec.Options) error {
	if set["num-classes"] {
		h, err := train.ReplaceHead(m, f.numClasses, seed)
		if err != nil {
			return cli.Usage(withFlags(err))
		}
		f.head = h
	}
	if set["train-frozen-bn"] && len(f.freeze) == 0 && len(f.trainOnly) == 0 {
		return cli.Usagef("--train-frozen-bn applies to layers frozen by --freeze or --train-only; there are none")
	}
	if len(f.freeze)+len(f.trainOnly) > 0 {
		frozen, err := train.Freeze(m, train.SplitGlobs(f.freeze), train.SplitGlobs(f.trainOnly))
		if err != nil {
			return cli.Usage(withFlags(err))
		}
		f.frozen = frozen
		opts.Frozen, opts.TrainFrozenBatchNorm = frozen, f.trainFrozenBN
	}
	return nil
}

// describe says what was replaced and frozen.
func (f *finetuneFlags) describe(w io.Writer, m *ir.Model, seed uint64) {
	if h := f.head; h != nil {
		bias := ""
		if h.Bias != "" {
			bias = " and " + h.Bias
		}
		fmt.Fprintf(w, "new head: %s (%s) now has %d outputs (was %d); %s%s drawn as %s initializes them (U(±%.3g), fan_in %d, seed %d)\n",
			h.Node, h.Op, h.New, h.Old, h.Weight, bias, h.PyTorchAPI, h.Bound, h.FanIn, seed)
	}
	if len(f.frozen) == 0 {
		return
	}
	var nf, nt, ef, et int64
	for _, v := range m.Graph.Parameters() {
		if f.frozen[v.Name] {
			nf++
			ef += v.Init.Len()
		} else {
			nt++
			et += v.Init.Len()
		}
	}
	bn := ""
	nbn := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == "BatchNormalization" && n.In(1) != nil && n.In(2) != nil && f.frozen[n.In(1).Name] && f.frozen[n.In(2).Name] {
			nbn++
		}
	}
	switch {
	case nbn > 0 && f.trainFrozenBN:
		bn = fmt.Sprintf("; %d frozen BatchNorm layers update their running statistics (--train-frozen-bn)", nbn)
	case nbn > 0:
		bn = fmt.Sprintf("; %d frozen BatchNorm layers keep their running statistics", nbn)
	}
	fmt.Fprintf(w, "frozen: %d parameters (%d values); training %d (%d values)%s\n", nf, ef, nt, et, bn)
}
