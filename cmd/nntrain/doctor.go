package main

import (
	"flag"
	"io"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train/doctor"
)

// The training doctor's flag (kept out of train_cmd.go, which several
// features share).

func (c *trainCmd) registerDoctor(fs *flag.FlagSet) {
	fs.StringVar(&c.doctor, "doctor", "warn", "training doctor: off, warn (diagnose problems while training: NaN loss, exploding/vanishing gradients, dying ReLUs, over/underfitting, LR trouble) or fix (diagnose, roll back and repair)")
}

// doctorHook builds the doctor for this run (nil when off).
func (c *trainCmd) doctorHook(m *ir.Model, human io.Writer) (*doctor.Doctor, error) {
	mode, err := doctor.ParseMode(c.doctor)
	if err != nil {
		return nil, cli.Usagef("--doctor wants off, warn or fix, got %q", c.doctor)
	}
	if mode == doctor.Off {
		return nil, nil
	}
	s := doctor.Settings{Optimizer: c.opt, Schedule: c.sched, Dropout: c.dropout, DropoutSet: c.set["dropout"], EarlyStopping: c.earlyStop}
	return doctor.New(m, s, doctor.Config{Mode: mode, Summary: human, Seed: c.seed}), nil
}
