package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	lintfmt "github.com/nnkit/nnkit/lint/format"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/export"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

const trainUsage = `nntrain: fine-tune an ONNX model exported from PyTorch, with PyTorch-exact optimizers,
schedulers, clipping and regularization

Usage:
  nntrain [flags] model.onnx data/
  nntrain predict model.onnx input.npy -o out.npy
  nntrain export train.onnx -o infer.onnx

data/ holds train.npz [val.npz] (arrays x, y), train.csv [val.csv] (header row, label last
or --label-col), or image folders train/<class>/*.png|jpg [val/<class>/...].
Flags may come before or after the model and data. Exit codes: 0 success, 1 training failed
(e.g. the loss became NaN), 2 usage or input error, 130 interrupted (Ctrl-C finishes the
epoch and writes the model; a second Ctrl-C aborts).
The model written is the inference graph to deploy (BatchNorm on running statistics, Dropout
removed); --keep-training-graph writes the training graph to fine-tune further instead.

`

// trainCmd holds the parsed command line.
type trainCmd struct {
	fs *flag.FlagSet

	out, log           string
	doctor             string // --doctor (doctor.go)
	epochs, batchSize  int
	shuffle, dropLast  bool
	seed               uint64
	lossName           string
	opt                train.OptimizerSettings
	betas              string
	sched              train.ScheduleSettings
	clipNorm, clipVal  float64
	l1                 float64
	dropout            float64
	earlyStop          int
	minDelta           float64
	valSplit           float64
	data               dataFlags
	lrFind             bool
	lrFindStart        float64
	lrFindEnd          float64
	lrFindSteps        int
	checkpointEvery    int
	threads            int
	quiet              bool
	ft                 finetuneFlags
	ce                 ceFlags
	graph              graphChoice
	ck                 checkpointFlags
	plot               plotFlag
	set                map[string]bool
	modelPath, dataDir string
}

func newTrainCmd(stderr io.Writer) *trainCmd {
	c := &trainCmd{fs: cli.NewFlagSet("nntrain", stderr)}
	fs := c.fs
	fs.StringVar(&c.out, "out", "", "write the fine-tuned model here (default <model>.finetuned.onnx)")
	fs.StringVar(&c.log, "log", "", "write a JSON-lines log here (one object per epoch and per event; - for stdout)")
	fs.IntVar(&c.epochs, "epochs", 10, "number of epochs")
	fs.IntVar(&c.batchSize, "batch-size", 64, "samples per batch")
	fs.BoolVar(&c.shuffle, "shuffle", true, "shuffle the training samples every epoch (--shuffle=false keeps file order)")
	fs.BoolVar(&c.dropLast, "drop-last", false, "drop the last, incomplete batch of every epoch")
	fs.Uint64Var(&c.seed, "seed", 0, "seed for shuffling, the validation split and dropout masks")
	fs.StringVar(&c.lossName, "loss", "", "ce|bce|mse|l1 (default: ce for integer labels, mse for float targets)")
	fs.StringVar(&c.opt.Name, "optimizer", "adam", "sgd|adam|adamw|rmsprop")
	fs.Float64Var(&c.opt.LR, "lr", 0, "learning rate (default: PyTorch's for the optimizer: adam/adamw 1e-3, rmsprop 1e-2, sgd 1e-3)")
	fs.Float64Var(&c.opt.Momentum, "momentum", 0, "momentum (sgd, rmsprop)")
	fs.Float64Var(&c.opt.Dampening, "dampening", 0, "dampening for momentum (sgd)")
	fs.BoolVar(&c.opt.Nesterov, "nesterov", false, "Nesterov momentum (sgd; needs --momentum > 0, no dampening)")
	fs.Float64Var(&c.opt.WeightDecay, "weight-decay", 0, "L2 weight decay (adamw: decoupled, default 0.01; others: coupled, default 0)")
	fs.StringVar(&c.betas, "betas", "0.9,0.999", "Adam's β₁,β₂ (adam, adamw)")
	fs.Float64Var(&c.opt.Eps, "eps", 1e-8, "term added to the denominator (adam, adamw, rmsprop)")
	fs.Float64Var(&c.opt.Alpha, "alpha", 0.99, "smoothing constant (rmsprop)")
	fs.BoolVar(&c.opt.Centered, "centered", false, "centered RMSprop (rmsprop)")
	fs.StringVar(&c.sched.Name, "scheduler", "none", "none|step|cosine|plateau, stepped once per epoch after validation")
	fs.IntVar(&c.sched.StepSize, "step-size", 0, "step: decay the LR every N epochs (required)")
	fs.Float64Var(&c.sched.Gamma, "gamma", 0.1, "step: LR decay factor")
	fs.IntVar(&c.sched.TMax, "t-max", 0, "cosine: half-period in epochs (default --epochs)")
	fs.Float64Var(&c.sched.EtaMin, "eta-min", 0, "cosine: minimum LR")
	fs.IntVar(&c.sched.Plateau.Patience, "patience", 10, "plateau: bad epochs tolerated before reducing the LR")
	fs.Float64Var(&c.sched.Plateau.Factor, "factor", 0.1, "plateau: LR reduction factor")
	fs.Float64Var(&c.sched.Plateau.Threshold, "threshold", 1e-4, "plateau: relative improvement that counts")
	fs.IntVar(&c.sched.Plateau.Cooldown, "cooldown", 0, "plateau: epochs to wait after a reduction")
	fs.Float64Var(&c.sched.Plateau.MinLR, "min-lr", 0, "plateau: lower bound of the LR")
	fs.Float64Var(&c.clipNorm, "clip-norm", 0, "clip the total gradient norm (all parameters together) to this value")
	fs.Float64Var(&c.clipVal, "clip-value", 0, "clamp every gradient element to [-v, v]")
	fs.Float64Var(&c.l1, "l1", 0, "add λ·Σ|θ| over all trainable parameters to the loss")
	fs.Var((*unsetFloat)(&c.dropout), "dropout", "override every Dropout ratio `P` (0 turns dropout off; default: the model's ratios)")
	fs.IntVar(&c.earlyStop, "early-stopping", 0, "stop after N epochs without validation-loss improvement and keep the best weights")
	fs.Float64Var(&c.minDelta, "min-delta", 0, "early stopping: smallest decrease of the validation loss that counts")
	fs.Float64Var(&c.valSplit, "val-split", 0.1, "fraction of the training data held out when there is no validation set")
	c.data.register(fs)
	c.registerDoctor(fs)
	fs.BoolVar(&c.lrFind, "lr-find", false, "run a learning-rate range test, suggest a learning rate, and exit")
	fs.Float64Var(&c.lrFindStart, "lr-find-start", 1e-7, "LR range test: first learning rate")
	fs.Float64Var(&c.lrFindEnd, "lr-find-end", 10, "LR range test: last learning rate")
	fs.IntVar(&c.lrFindSteps, "lr-find-steps", 100, "LR range test: number of steps")
	fs.IntVar(&c.checkpointEvery, "checkpoint-every", 0, "also write the model to --out every N epochs")
	fs.IntVar(&c.threads, "threads", 0, "worker threads (default: all CPUs)")
	fs.BoolVar(&c.quiet, "quiet", false, "print only the final summary")
	c.ft.register(fs)
	c.ce.register(fs)
	c.graph.register(fs)
	c.ck.register(fs)
	c.plot.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, trainUsage+"Flags:\n")
		fs.PrintDefaults()
	}
	return c
}

// unsetFloat is a float flag without a printed default.
type unsetFloat float64

func (f *unsetFloat) String() string {
	if f == nil || *f == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(*f), 'g', -1, 64)
}

func (f *unsetFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	*f = unsetFloat(v)
	return nil
}

// errInterrupted: Ctrl-C ended training early; the model was written.
// The shell's convention for a SIGINT is exit code 128 + 2.
const errInterrupted = cli.Code(130)

func runTrain(args []string, stdout, stderr io.Writer) int {
	err := trainMain(args, stdout, stderr)
	// Messages name files and nodes from the user's model and data:
	// control characters are written visibly.
	return cli.Reporter{W: stderr, Prefix: "nntrain", Clean: cleanMsg}.Report(err)
}

// cleanMsg makes a multi-line message safe to print on a terminal or in a
// CI log.
func cleanMsg(s string) string { return lintfmt.CleanLines(s, "  ") }

func trainMain(args []string, stdout, stderr io.Writer) error {
	c := newTrainCmd(stderr)
	pos, err := cli.Parse(c.fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return cli.Usagef("need a model and a data directory (got %d arguments); nntrain -h for help", len(pos))
	}
	c.modelPath, c.dataDir = pos[0], pos[1]
	c.set = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return c.run(stdout, stderr)
}

// defaultOut is <model>.finetuned.onnx next to the model (x.onnx.gz →
// x.finetuned.onnx).
func defaultOut(model string) string {
	base := model
	for _, ext := range []string{".gz", ".onnx"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
		}
	}
	return base + ".finetuned.onnx"
}

// resolve fills in PyTorch's per-optimizer defaults and rejects options the
// chosen optimizer or scheduler does not take.
func (c *trainCmd) resolve() error {
	if err := c.checkFlags(); err != nil { // flagcheck.go
		return err
	}
	def, err := train.OptimizerDefaults(c.opt.Name)
	if err != nil {
		return cli.Usage(err)
	}
	if !c.set["lr"] {
		c.opt.LR = def.LR
	}
	if !c.set["weight-decay"] {
		c.opt.WeightDecay = def.WeightDecay
	}
	b := strings.Split(c.betas, ",")
	if len(b) != 2 {
		return cli.Usagef("--betas wants two numbers β₁,β₂, got %q", c.betas)
	}
	for i, s := range b {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return cli.Usagef("--betas: %q is not a number", s)
		}
		c.opt.Betas[i] = v
	}
	optFlags := []string{"momentum", "dampening", "nesterov", "betas", "eps", "alpha", "centered"}
	for _, f := range optFlags {
		if c.set[f] && !slices.Contains(optimizerFlags[c.opt.Name], f) {
			return cli.Usagef("--%s does not apply to --optimizer %s (it takes --%s)", f, c.opt.Name, strings.Join(optimizerFlags[c.opt.Name], ", --"))
		}
	}
	if _, ok := scheduleFlags[c.sched.Name]; !ok {
		return cli.Usagef("unknown scheduler %q (want none, step, cosine or plateau)", c.sched.Name)
	}
	for _, list := range scheduleFlags {
		for _, f := range list {
			if c.set[f] && !slices.Contains(scheduleFlags[c.sched.Name], f) {
				return cli.Usagef("--%s does not apply to --scheduler %s", f, c.sched.Name)
			}
		}
	}
	if c.sched.Name == "cosine" && !c.set["t-max"] {
		c.sched.TMax = c.epochs
	}
	c.sched.Plateau.Eps = optim.DefaultPlateau.Eps
	switch {
	case c.epochs < 1:
		return cli.Usagef("--epochs must be ≥ 1")
	case c.batchSize < 1:
		return cli.Usagef("--batch-size must be ≥ 1")
	case c.clipNorm < 0 || c.clipVal < 0 || c.l1 < 0 || c.minDelta < 0:
		return cli.Usagef("--clip-norm, --clip-value, --l1 and --min-delta must be ≥ 0")
	case c.set["dropout"] && !(c.dropout >= 0 && c.dropout < 1):
		return cli.Usagef("--dropout must be in [0, 1), got %v", c.dropout)
	case c.valSplit < 0 || c.valSplit >= 1:
		return cli.Usagef("--val-split must be in [0, 1), got %v", c.valSplit)
	case c.earlyStop < 0:
		return cli.Usagef("--early-stopping must be ≥ 0")
	}
	if c.lossName != "" && !slices.Contains(loss.Names, c.lossName) {
		return cli.Usagef("unknown loss %q (want ce, bce, mse or l1)", c.lossName)
	}
	return nil
}

// trainRun is what run sets up, piece by piece: the model and its
// compiled program, the data, the loop, and where the output goes.
type trainRun struct {
	m        *ir.Model
	prog     *exec.Program
	d        *data.Data
	lossName string
	human    io.Writer // progress and summaries
	logW     io.Writer // the JSON-lines log; nil without --log
	l        *train.Loop
}

// run fine-tunes: model, data, criterion, optimizer and schedule, the loop
// and its outputs; then the LR range test, or training and writing the
// model.
func (c *trainCmd) run(stdout, stderr io.Writer) error {
	if err := c.resolve(); err != nil {
		return err
	}
	r := &trainRun{}
	var err error
	if r.m, r.prog, err = c.loadModel(); err != nil {
		return err
	}
	if r.d, err = c.loadData(r.prog); err != nil {
		return err
	}
	crit, err := c.criterion(r)
	if err != nil {
		return err
	}
	o, sched, err := c.optimizer(r.d)
	if err != nil {
		return err
	}
	closeLog, err := c.outputs(r, stdout, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	c.newLoop(r, crit, o, sched)
	if err := c.ck.prepare(c, r.d, r.human); err != nil {
		return err
	}
	if err := c.plot.check(); err != nil {
		return err
	}
	if c.lrFind {
		return c.runLRFind(r.l, r.human, r.logW)
	}
	return c.fit(r)
}

// loadModel reads the model, applies the fine-tuning flags and compiles
// it for training.
func (c *trainCmd) loadModel() (*ir.Model, *exec.Program, error) {
	m, err := onnxio.ReadFile(c.modelPath)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	// One program trains the model and WriteBack + write save it: the
	// program may keep the initializers' values as its parameters instead
	// of a second copy (half a GB for a VGG).
	opts := exec.Options{Seed: c.seed, Threads: c.threads, ShareInitializers: true}
	if opts.MaxBytes, err = cli.MaxMemory(); err != nil {
		return nil, nil, err
	}
	if c.set["dropout"] {
		opts.OverrideDropout, opts.DropoutRatio = true, float32(c.dropout)
	}
	if err := c.ft.apply(m, c.seed, c.set, &opts); err != nil {
		return nil, nil, err
	}
	prog, err := exec.Compile(m, opts)
	if err != nil {
		return nil, nil, cli.Usagef("%s: %w", c.modelPath, err)
	}
	if err := c.graph.check(c.modelPath, m); err != nil {
		return nil, nil, err
	}
	return m, prog, nil
}

// loadData reads the data directory, shaped for the program's input.
func (c *trainCmd) loadData(prog *exec.Program) (*data.Data, error) {
	ins := prog.Inputs()
	var inShape []int
	if len(ins) == 1 && len(ins[0].Shape) > 0 {
		inShape = ins[0].Shape[1:]
	}
	dopts, err := c.data.options(inShape, c.valSplit, c.seed)
	if err != nil {
		return nil, err
	}
	d, err := data.Load(c.dataDir, dopts)
	if err != nil {
		return nil, cli.Usage(withFlags(err))
	}
	return d, nil
}

// criterion picks the loss: --loss, else cross-entropy for class labels
// and MSE for float targets.
func (c *trainCmd) criterion(r *trainRun) (loss.Func, error) {
	r.lossName = c.lossName
	if r.lossName == "" {
		r.lossName = "mse"
		if r.d.Train.IsClassification() {
			r.lossName = "ce"
		}
	}
	crit, _ := loss.ByName(r.lossName)
	crit, err := c.ce.apply(crit, c.set)
	if err != nil {
		return nil, err
	}
	if r.lossName == "ce" && !r.d.Train.IsClassification() && !c.set["loss"] {
		return nil, cli.Usagef("float targets: use --loss mse, l1, bce or ce (soft labels)")
	}
	return crit, nil
}

// optimizer builds the optimizer and the schedule (nil for none), and
// checks that what watches the validation loss has one.
func (c *trainCmd) optimizer(d *data.Data) (optim.Optimizer, optim.Schedule, error) {
	o, err := train.NewOptimizer(c.opt)
	if err != nil {
		return nil, nil, cli.Usage(err)
	}
	c.sched.HasValSet = d.Val != nil
	sched, err := train.NewSchedule(c.sched, c.opt.LR)
	if err != nil {
		return nil, nil, cli.Usage(withFlags(err))
	}
	if c.earlyStop > 0 && d.Val == nil {
		return nil, nil, cli.Usagef("--early-stopping watches the validation loss: give val data or --val-split > 0")
	}
	return o, sched, nil
}

// outputs opens the --log and chooses where the progress goes (standard
// error when the log is standard output). The returned function closes the
// log file.
func (c *trainCmd) outputs(r *trainRun, stdout, stderr io.Writer) (func(), error) {
	r.human = stdout
	switch c.log {
	case "":
	case "-":
		r.logW, r.human = stdout, stderr
	default:
		f, err := openRunLog(c.log, c.ck.resume)
		if err != nil {
			return nil, cli.Usage(err)
		}
		r.logW = f
		return func() { f.Close() }, nil
	}
	return func() {}, nil
}

// newLoop makes the training loop with the log and progress hooks, and
// says what is about to happen.
func (c *trainCmd) newLoop(r *trainRun, crit loss.Func, o optim.Optimizer, sched optim.Schedule) {
	r.l = &train.Loop{Model: r.prog, Train: r.d.Train, Val: r.d.Val, Loss: crit, Opt: o, Sched: sched,
		Epochs: c.epochs, BatchSize: c.batchSize, Shuffle: c.shuffle, DropLast: c.dropLast, Seed: c.seed,
		ClipNorm: c.clipNorm, ClipValue: c.clipVal, L1: c.l1, BatchNormInputs: train.BatchNormInputs(r.m),
		Explain: inFlags, Name: flagOf}
	if r.logW != nil {
		r.l.Hooks = append(r.l.Hooks, train.NewJSONLog(r.logW))
	}
	if !c.quiet {
		tty := cli.LiveProgress(r.human) // the live line only on a terminal (cmd/internal/cli)
		pr := train.NewProgress(r.human, tty)
		pr.Width = cli.TerminalWidth(r.human)
		r.l.Hooks = append(r.l.Hooks, pr)
		c.describe(r.human, r.m, r.d, r.lossName)
	}
}

// fit trains and writes the model to --out; Ctrl-C finishes the epoch in
// progress and writes the model, a second one ends the process.
func (c *trainCmd) fit(r *trainRun) error {
	out := c.out
	if out == "" {
		out = defaultOut(c.modelPath)
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return cli.Usagef("--out %s: the directory %s does not exist", out, filepath.Dir(out))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		fmt.Fprintln(r.human, "\ninterrupted: finishing this epoch, then writing the model (Ctrl-C again to abort)")
		r.l.Interrupt()
		signal.Stop(sig)
	}()
	defer close(sig)
	var written *export.Report
	save := func() error {
		if err := r.prog.WriteBack(); err != nil {
			return err
		}
		var err error
		if written, err = c.graph.write(out, r.m); err != nil {
			return err
		}
		return syncDir(filepath.Dir(out))
	}
	es, err := c.trainingHooks(r, out, save)
	if err != nil {
		return err
	}
	res, err := r.l.Run()
	c.plot.run(r.human, res, es)
	if err != nil {
		err = withFlags(err)
		var div *train.DivergedError
		if errors.As(err, &div) {
			return fmt.Errorf("%w; no model written", err)
		}
		if res == nil { // Setup refused the model or data (shapes, labels, targets)
			return cli.Usage(err)
		}
		return err
	}
	if err := save(); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	c.summarize(r.human, out, res, es, written)
	if strings.HasPrefix(res.Stopped, "interrupted") {
		return errInterrupted
	}
	return nil
}

// trainingHooks adds the doctor, early stopping and the checkpoints to
// the loop's hooks; save writes the model to out.
func (c *trainCmd) trainingHooks(r *trainRun, out string, save func() error) (*train.EarlyStopping, error) {
	l := r.l
	doc, err := c.doctorHook(r.m, r.human)
	if err != nil {
		return nil, err
	}
	if doc != nil {
		l.Hooks = append(l.Hooks, doc)
	}
	var es *train.EarlyStopping
	if c.earlyStop > 0 {
		es = &train.EarlyStopping{Patience: c.earlyStop, MinDelta: c.minDelta}
		l.Hooks = append(l.Hooks, es)
	}
	if c.checkpointEvery > 0 {
		l.Hooks = append(l.Hooks, &train.Checkpoint{Every: c.checkpointEvery, Save: func(int) (string, error) { return out, save() }})
	}
	if resume, save := c.ck.hooks(c, r.d, es); save != nil {
		if resume != nil {
			l.Hooks = append([]train.Hook{resume}, l.Hooks...) // first: the others start from the resumed state
		}
		l.Hooks = append(l.Hooks, save)
	}
	return es, nil
}

// summarize prints the line saying what was written.
func (c *trainCmd) summarize(w io.Writer, out string, res *train.Result, es *train.EarlyStopping, written *export.Report) {
	last := res.Epochs[len(res.Epochs)-1]
	msg := fmt.Sprintf("wrote %s after %d epochs: train_loss %.4f", out, len(res.Epochs), last.TrainLoss)
	if es != nil && es.BestEpoch > 0 && es.BestEpoch != last.Epoch {
		msg = fmt.Sprintf("wrote %s with the weights of epoch %d (best val_loss %.4f of %d epochs)", out, es.BestEpoch, es.Best, len(res.Epochs))
	} else if !math.IsNaN(last.ValLoss) {
		msg += fmt.Sprintf(", val_loss %.4f", last.ValLoss)
		if !math.IsNaN(last.ValAcc) {
			msg += fmt.Sprintf(", val_acc %.4f", last.ValAcc)
		}
	}
	fmt.Fprintln(w, msg)
	if d := c.graph.describe(written); d != "" && !c.quiet {
		fmt.Fprintln(w, d)
	}
}

// describe prints what is about to happen.
func (c *trainCmd) describe(w io.Writer, m *ir.Model, d *data.Data, lossName string) {
	src := d.Format
	if d.Split {
		src += fmt.Sprintf(", %.0f%% held out for validation (seed %d)", c.valSplit*100, c.seed)
	}
	fmt.Fprintf(w, "model %s, data %s (%s), loss %s\n", c.modelPath, c.dataDir, src, lossName)
	c.ft.describe(w, m, c.seed)
	if c.set["dropout"] {
		n := 0
		for _, node := range m.Graph.Nodes {
			if node.OpType == "Dropout" {
				n++
			}
		}
		if n == 0 {
			fmt.Fprintln(w, "note: the model has no Dropout layers; --dropout changes nothing (was it exported in eval mode?)")
		}
	}
}

func (c *trainCmd) runLRFind(l *train.Loop, w, logW io.Writer) error {
	r, err := l.FindLR(l.Opt, c.lrFindStart, c.lrFindEnd, c.lrFindSteps)
	if err != nil {
		return cli.Usage(withFlags(err))
	}
	if len(r.LRs) == 0 {
		return fmt.Errorf("LR range test: the loss was not finite even at lr %g", c.lrFindStart)
	}
	fmt.Fprintf(w, "LR range test: %d steps, lr %g → %g (%s)\n", len(r.LRs), c.lrFindStart, r.LRs[len(r.LRs)-1], c.opt.Name)
	fmt.Fprintf(w, "%12s  %10s  %10s\n", "lr", "loss", "smoothed")
	stride := max(1, len(r.LRs)/15)
	for i := 0; i < len(r.LRs); i += stride {
		fmt.Fprintf(w, "%12.3g  %10.4f  %10.4f\n", r.LRs[i], r.Losses[i], r.Smoothed[i])
	}
	if r.Stopped != "" {
		fmt.Fprintf(w, "stopped early: %s\n", r.Stopped)
	}
	fmt.Fprintf(w, "suggested --lr %.3g (steepest descent of the loss); minimum loss at lr %.3g (a common choice is a tenth of it: %.3g)\n", r.Suggested, r.MinLossLR, r.MinLossLR/10)
	c.plot.lrFind(w, r)
	if logW != nil {
		j := train.NewJSONLog(logW)
		for i := range r.LRs {
			j.OnEvent(l, train.Event{Name: "lr_find_step", Fields: map[string]any{"step": i + 1, "lr": r.LRs[i], "loss": r.Losses[i], "smoothed": r.Smoothed[i]}})
		}
		j.OnEvent(l, train.Event{Name: "lr_find", Message: "suggested learning rate", Fields: map[string]any{"suggested_lr": r.Suggested, "min_loss_lr": r.MinLossLR, "stopped": r.Stopped}})
	}
	return nil
}
