package main

// nntrain's words for what the train package reports in its own terms:
// which flags configure which optimizer and schedule, and the flag names
// in the messages of train's typed errors.

import (
	"fmt"

	"github.com/nnkit/nnkit/train"
)

// optimizerFlags lists which optimizer flags each --optimizer accepts.
var optimizerFlags = map[string][]string{
	"sgd":     {"lr", "momentum", "dampening", "nesterov", "weight-decay"},
	"adam":    {"lr", "betas", "eps", "weight-decay"},
	"adamw":   {"lr", "betas", "eps", "weight-decay"},
	"rmsprop": {"lr", "alpha", "eps", "weight-decay", "momentum", "centered"},
}

// scheduleFlags lists which flags each --scheduler accepts.
var scheduleFlags = map[string][]string{
	"none":    {},
	"step":    {"step-size", "gamma"},
	"cosine":  {"t-max", "eta-min"},
	"plateau": {"patience", "factor", "threshold", "cooldown", "min-lr"},
}

// inFlags words err, when it is one of train's typed errors, with the
// flags that change the setting it is about (Loop.Explain).
func inFlags(err error) string {
	switch e := err.(type) {
	case *train.DivergedError:
		if e.Step > 0 {
			return e.Error() + " (try a lower --lr, --clip-norm, or check the data)"
		}
		return e.Error() + " (try a lower --lr or --clip-norm)"
	case *train.HeadError:
		if e.Classes > 0 {
			return fmt.Sprintf("--num-classes %d: %v", e.Classes, e.Err)
		}
		return "--num-classes: " + e.Err.Error()
	case *train.SetupError:
		switch e.Kind {
		case train.InputCount:
			return e.Problem + "; nntrain feeds exactly one"
		case train.InputType:
			return e.Problem + "; nntrain feeds float32 or int64"
		case train.OutputShape:
			return e.Problem + "; nntrain needs [batch, ...]"
		case train.DropLastEmpty:
			return "--drop-last " + e.Problem
		case train.SingleSampleBatchNorm:
			return e.Problem + ": change --batch-size or add --drop-last"
		case train.LabelsNeedCE:
			return e.Problem + " need --loss ce"
		case train.StepSizeMissing:
			return "--scheduler step needs --step-size N ≥ 1 (" + e.Problem + ")"
		case train.PlateauNeedsVal:
			return "--scheduler plateau " + e.Problem + ": give val data or --val-split > 0"
		}
	}
	return err.Error()
}

// flagError is a train error worded with nntrain's flags; errors.Is and
// errors.As still find the original.
type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }
func (e *flagError) Unwrap() error { return e.err }

// withFlags returns err worded by inFlags (nil stays nil).
func withFlags(err error) error {
	if err == nil {
		return nil
	}
	if msg := inFlags(err); msg != err.Error() {
		return &flagError{msg, err}
	}
	return err
}
