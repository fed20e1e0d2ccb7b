package main

import (
	"flag"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/train/loss"
)

// ceFlags configures cross-entropy: --ignore-index, PyTorch's ignore_index
// (default −100, as nn.CrossEntropyLoss): labels with that value (unlabeled
// pixels of a segmentation mask, padding tokens) add neither loss nor
// gradient and are left out of the mean and the accuracy.
type ceFlags struct {
	ignoreIndex int64
}

func (f *ceFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&f.ignoreIndex, "ignore-index", loss.DefaultIgnoreIndex, "ce: class label to ignore (unlabeled pixels, padding), as nn.CrossEntropyLoss's ignore_index")
}

// apply sets the criterion's ignore index; other criteria do not use it.
func (f *ceFlags) apply(crit loss.Func, set map[string]bool) (loss.Func, error) {
	ce, ok := crit.(loss.CrossEntropy)
	if !ok {
		if set["ignore-index"] {
			return nil, cli.Usagef("--ignore-index applies to --loss ce only")
		}
		return crit, nil
	}
	ce.Ignore, ce.IgnoreIndex = true, f.ignoreIndex
	return ce, nil
}
