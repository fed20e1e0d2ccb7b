package main

// Validation of every numeric flag, with errors naming the flag. The
// ranges are PyTorch's where PyTorch checks (torch.optim raises
// ValueError for a negative lr, momentum, eps, weight_decay or alpha, betas
// outside [0, 1), a plateau factor ≥ 1) and otherwise the range in which
// the option means what its help says: a negative eta_min or gamma would
// turn training into gradient ascent, which PyTorch does not check.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/train/data"
)

// maxThreads bounds --threads (far above any CPU count; a typo such as
// 1000000 would otherwise start that many goroutines per kernel).
const maxThreads = 4096

// flagErrs collects flag problems; all are reported at once.
type flagErrs []string

func (e *flagErrs) addf(format string, a ...any) { *e = append(*e, fmt.Sprintf(format, a...)) }

func (e flagErrs) err() error {
	if len(e) == 0 {
		return nil
	}
	return cli.Usage(errors.New(strings.Join(e, "\n")))
}

// float checks a float flag: finite and in [lo, hi] (hiOpen: [lo, hi)).
func (e *flagErrs) float(name string, v, lo, hi float64, hiOpen bool) {
	ok := !math.IsNaN(v) && !math.IsInf(v, 0) && v >= lo && (v < hi || !hiOpen && v == hi)
	if ok {
		return
	}
	rng := fmt.Sprintf("in [%v, %v]", lo, hi)
	switch {
	case math.IsInf(hi, 1):
		rng = fmt.Sprintf("a finite number ≥ %v", lo)
	case hiOpen:
		rng = fmt.Sprintf("in [%v, %v)", lo, hi)
	}
	*e = append(*e, fmt.Sprintf("--%s must be %s, got %v", name, rng, v))
}

func (e *flagErrs) int(name string, v, lo, hi int) {
	if v < lo || v > hi {
		if hi == math.MaxInt {
			e.addf("--%s must be ≥ %d, got %d", name, lo, v)
		} else {
			e.addf("--%s must be in [%d, %d], got %d", name, lo, hi, v)
		}
	}
}

var inf = math.Inf(1)

// maxClasses bounds --num-classes.
const maxClasses = 1 << 20

// checkFlags validates every training flag.
func (c *trainCmd) checkFlags() error {
	var e flagErrs
	e.int("epochs", c.epochs, 1, math.MaxInt)
	e.int("batch-size", c.batchSize, 1, math.MaxInt)
	if c.set["lr"] {
		e.float("lr", c.opt.LR, 0, inf, false)
	}
	e.float("momentum", c.opt.Momentum, 0, inf, false)
	e.float("dampening", c.opt.Dampening, 0, 1, false) // the gradient is scaled by 1−dampening
	if c.set["weight-decay"] {
		e.float("weight-decay", c.opt.WeightDecay, 0, inf, false)
	}
	for i, s := range strings.Split(c.betas, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && i < 2 {
			e.float(fmt.Sprintf("betas (β%d)", i+1), v, 0, 1, true)
		}
	}
	e.float("eps", c.opt.Eps, 0, inf, false)
	e.float("alpha", c.opt.Alpha, 0, 1, false) // square_avg = α·square_avg + (1−α)·g²
	if c.set["step-size"] {
		e.int("step-size", c.sched.StepSize, 1, math.MaxInt)
	}
	e.float("gamma", c.sched.Gamma, 0, inf, false)
	if c.set["t-max"] {
		e.int("t-max", c.sched.TMax, 1, math.MaxInt)
	}
	e.float("eta-min", c.sched.EtaMin, 0, inf, false)
	e.int("patience", c.sched.Plateau.Patience, 0, math.MaxInt)
	e.float("factor", c.sched.Plateau.Factor, 0, 1, true)
	e.float("threshold", c.sched.Plateau.Threshold, 0, inf, false)
	e.int("cooldown", c.sched.Plateau.Cooldown, 0, math.MaxInt)
	e.float("min-lr", c.sched.Plateau.MinLR, 0, inf, false)
	// Clipping to 0 is not "off" in PyTorch: clip_grad_norm_(max_norm=0)
	// multiplies every gradient by 0/(norm+1e-6) and clip_grad_value_(0)
	// clamps every element to [0, 0] — training would not move. nnkit
	// refuses it rather than train nothing or silently differ.
	for _, f := range []struct {
		name string
		v    float64
		fn   string
	}{{"clip-norm", c.clipNorm, "clip_grad_norm_(max_norm=0)"}, {"clip-value", c.clipVal, "clip_grad_value_(clip_value=0)"}} {
		if c.set[f.name] && f.v == 0 {
			e.addf("--%s 0 would zero every gradient (as PyTorch's %s does) and nothing would train; leave --%s out to disable clipping", f.name, f.fn, f.name)
			continue
		}
		e.float(f.name, f.v, 0, inf, false)
	}
	e.float("l1", c.l1, 0, inf, false)
	if c.set["dropout"] {
		e.float("dropout", c.dropout, 0, 1, true)
	}
	e.int("early-stopping", c.earlyStop, 0, math.MaxInt)
	e.float("min-delta", c.minDelta, 0, inf, false)
	e.float("val-split", c.valSplit, 0, 1, true)
	if c.lrFind || c.set["lr-find-start"] || c.set["lr-find-end"] {
		e.float("lr-find-start", c.lrFindStart, math.SmallestNonzeroFloat64, inf, false)
		e.float("lr-find-end", c.lrFindEnd, math.SmallestNonzeroFloat64, inf, false)
		if c.lrFindEnd <= c.lrFindStart {
			e.addf("--lr-find-end (%v) must be larger than --lr-find-start (%v)", c.lrFindEnd, c.lrFindStart)
		}
	}
	e.int("lr-find-steps", c.lrFindSteps, 2, math.MaxInt)
	e.int("checkpoint-every", c.checkpointEvery, 0, math.MaxInt)
	e.int("threads", c.threads, 0, maxThreads)
	if c.set["num-classes"] {
		// The new head's weight is classes × fan_in floats, allocated at
		// once: bound the count (ImageNet-21k has 21841 classes).
		if n := c.ft.numClasses; n < 1 || n > maxClasses {
			e.addf("--num-classes must be ≥ 1 and at most %d, got %d", maxClasses, n)
		}
	}
	c.data.check(&e)
	if c.out != "" {
		if _, err := safefile.Resolve(c.out); err != nil {
			e.addf("--out %v", err)
		}
	}
	return e.err()
}

// check validates the data flags' numbers (their syntax is checked when
// they are turned into options).
func (d *dataFlags) check(e *flagErrs) {
	if d.normalize != "" {
		vals := strings.Split(d.normalize, ",")
		for i, s := range vals {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				continue // reported with the syntax
			}
			if math.IsNaN(v) || math.IsInf(float64(float32(v)), 0) {
				e.addf("--normalize: %q is not a finite number", s)
			} else if i >= len(vals)/2 && v <= 0 {
				e.addf("--normalize: std %q must be > 0", s)
			}
		}
	}
	if d.imageSize != "" {
		h, w, ok := strings.Cut(strings.ToLower(d.imageSize), "x")
		if !ok {
			w = h
		}
		hi, err1 := strconv.Atoi(h)
		wi, err2 := strconv.Atoi(w)
		if err1 == nil && err2 == nil && hi > 0 && wi > 0 && int64(hi)*int64(wi) > data.MaxImagePixels {
			e.addf("--image-size %s is more than the %d pixels nnkit decodes", d.imageSize, data.MaxImagePixels)
		}
	}
	switch d.format {
	case "auto", "npz", "csv", "images":
	default:
		e.addf("--data-format must be auto, npz, csv or images, got %q", d.format)
	}
}

// checkPredictFlags validates predict's flags.
func checkPredictFlags(pf *predictFlags) error {
	var e flagErrs
	e.int("batch-size", pf.batchSize, 1, math.MaxInt)
	e.int("threads", pf.threads, 0, maxThreads)
	switch pf.split {
	case "train", "val", "all":
	default:
		e.addf("--split must be train, val or all, got %q", pf.split)
	}
	pf.data.check(&e)
	if pf.output != "" {
		if _, err := safefile.Resolve(pf.output); err != nil {
			e.addf("-o %v", err)
		}
	}
	return e.err()
}

// openLog opens the --log file for appending lines as training goes: a
// regular file is created or truncated; a FIFO is opened without waiting
// for a reader (no reader is an error, not a hang); devices are written
// as they are.
func openLog(path string) (io.WriteCloser, error) {
	if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("--log %s: no process is reading this pipe", path)
		}
		return f, err
	} else if err == nil && st.IsDir() {
		return nil, fmt.Errorf("--log %s: is a directory", path)
	}
	return os.Create(path)
}
