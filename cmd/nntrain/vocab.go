package main

// nntrain's words for what the train package reports in its own terms:
// which flags configure which optimizer and schedule, the flags that set
// the settings train's messages name, and the flag names in the messages
// of train's typed errors.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
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

// settingFlags are the flags that set the settings train's and the
// doctor's messages name (train.Setting), and the command of the static
// check the doctor points to.
var settingFlags = map[train.Setting]string{
	train.SettingLR:            "--lr",
	train.SettingClipNorm:      "--clip-norm",
	train.SettingOptimizer:     "--optimizer",
	train.SettingWeightDecay:   "--weight-decay",
	train.SettingDropout:       "--dropout",
	train.SettingEarlyStopping: "--early-stopping",
	train.SettingSchedule:      "--scheduler",
	train.SettingEpochs:        "--epochs",
	train.SettingFindLR:        "--lr-find",
	train.SettingNormalize:     "--normalize",
	doctor.ModeSetting:         "--doctor",
	doctor.LintCheck:           "nnlint model.onnx", // a command, not a flag
}

// flagOf words a setting as its flag, with the value after it
// (Loop.Name).
func flagOf(c train.Change) string {
	f, ok := settingFlags[c.Setting]
	if !ok {
		return c.String()
	}
	if c.Value != "" {
		f += " " + c.Value
	}
	return f
}

// dataOptionFlags name the data.Options fields of data.OptionError.
var dataOptionFlags = map[data.Option]string{
	data.OptImageSize: "--image-size",
	data.OptLabelCol:  "--label-col",
	data.OptNormalize: "--normalize",
}

// inFlags words err, when it is or wraps one of train's typed errors,
// with the flags that change the setting it is about (Loop.Explain); the
// errors of an ir.ErrorList one by one.
func inFlags(err error) string {
	if list, ok := err.(ir.ErrorList); ok {
		lines := make([]string, len(list))
		for i, e := range list {
			lines[i] = inFlags(e)
		}
		return strings.Join(lines, "\n")
	}
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if words, ok := flagWords(e); ok {
			return strings.Replace(msg, e.Error(), words, 1)
		}
	}
	return msg
}

// flagWords words one typed error of train with nntrain's flags.
func flagWords(err error) (string, bool) {
	switch e := err.(type) {
	case *train.DivergedError:
		if e.Step > 0 {
			return e.Error() + " (try a lower --lr, --clip-norm, or check the data)", true
		}
		return e.Error() + " (try a lower --lr or --clip-norm)", true
	case *train.HeadError:
		if e.Classes > 0 {
			return fmt.Sprintf("--num-classes %d: %v", e.Classes, e.Err), true
		}
		return "--num-classes: " + e.Err.Error(), true
	case *train.SetupError:
		switch e.Kind {
		case train.InputCount:
			return e.Problem + "; nntrain feeds exactly one", true
		case train.InputType:
			return e.Problem + "; nntrain feeds float32 or int64", true
		case train.OutputShape:
			return e.Problem + "; nntrain needs [batch, ...]", true
		case train.DropLastEmpty:
			return "--drop-last " + e.Problem, true
		case train.SingleSampleBatchNorm:
			return e.Problem + ": change --batch-size or add --drop-last", true
		case train.LabelsNeedCE:
			return e.Problem + " need --loss ce", true
		case train.StepSizeMissing:
			return "--scheduler step needs --step-size N ≥ 1 (" + e.Problem + ")", true
		case train.PlateauNeedsVal:
			return "--scheduler plateau " + e.Problem + ": give val data or --val-split > 0", true
		}
	case *train.GlobError:
		if e.Globs == train.TrainOnlyGlobs {
			return e.In("--train-only"), true
		}
		return e.In("--freeze"), true
	case *train.AllFrozenError:
		return fmt.Sprintf("--freeze/--train-only leave no parameter to train (all %d frozen)", e.Params), true
	case *data.OptionError:
		if f, ok := dataOptionFlags[e.Option]; ok {
			return e.In(f), true
		}
	case *train.VersionError:
		return fmt.Sprintf("checkpoint version %d; this nntrain reads version %d", e.Version, e.Reads), true
	}
	if err == train.ErrNotCheckpoint {
		return "not an nntrain checkpoint", true
	}
	return "", false
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
