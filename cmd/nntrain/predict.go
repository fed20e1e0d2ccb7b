package main

// nntrain predict: run a model in eval mode over an array of inputs.

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
)

type predictFlags struct {
	output    string
	batchSize int
	threads   int
	quiet     bool
	data      dataFlags
	split     string
}

func newPredictFlagSet(stderr io.Writer) (*flag.FlagSet, *predictFlags) {
	pf := &predictFlags{}
	fs := cli.NewFlagSet("nntrain predict", stderr)
	fs.StringVar(&pf.output, "o", "", "output file: .npy (the model's single output) or .npz (every output, by name)")
	fs.StringVar(&pf.output, "output", "", "same as -o")
	fs.IntVar(&pf.batchSize, "batch-size", 256, "samples per forward pass")
	fs.IntVar(&pf.threads, "threads", 0, "worker threads (0: all CPUs)")
	fs.BoolVar(&pf.quiet, "q", false, "do not print the summary line")
	fs.StringVar(&pf.split, "split", "all", "data directories: predict the train set, the val set, or all (train then val)")
	pf.data.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: nntrain predict [flags] model.onnx INPUT -o output.npy|output.npz

Runs the model in eval mode (Dropout off, BatchNorm on running statistics)
over the first axis of the input, --batch-size samples at a time, and writes
the outputs. INPUT is
  input.npy                one array, first axis = samples
  input.npz                one array per model input, named like the input,
                           or a single array "x"
  data/ or data.csv        anything nntrain trains on (train.npz/val.npz,
                           train.csv/val.csv, image folders); with labels, the
                           accuracy is printed too (--split chooses the set)
Exit codes: 0 success, 1 failure while running or writing, 2 usage, model
or input error.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs, pf
}

func runPredict(args []string, stdout, stderr io.Writer) int {
	err := predictMain(args, stdout, stderr)
	return cli.Reporter{W: stderr, Prefix: "nntrain predict", Clean: cleanMsg}.Report(err)
}

func predictMain(args []string, stdout, stderr io.Writer) error {
	fs, pf := newPredictFlagSet(stderr)
	pos, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 2:
		fs.Usage()
		return cli.Usagef("want a model and an input file, got %d arguments", len(pos))
	case pf.output == "":
		return cli.Usagef("no output file: give -o output.npy (or .npz)")
	}
	if err := checkPredictFlags(pf); err != nil { // flagcheck.go
		return cli.Usage(err)
	}
	outExt := strings.ToLower(filepath.Ext(pf.output))
	if outExt != ".npy" && outExt != ".npz" {
		// A device or pipe (/dev/stdout) takes .npy for one output, .npz
		// for several.
		if t, err := safefile.Resolve(pf.output); err != nil || !t.Direct {
			return cli.Usagef("%s: the output must be an .npy or .npz file (or a device or pipe such as /dev/stdout)", pf.output)
		}
		outExt = ""
	}
	modelPath, inputPath := pos[0], pos[1]
	start := time.Now()

	m, err := onnxio.ReadFile(modelPath)
	if err != nil {
		return cli.Usage(err)
	}
	maxBytes, err := cli.MaxMemory()
	if err != nil {
		return cli.Usage(err)
	}
	prog, err := exec.Compile(m, exec.Options{Threads: pf.threads, Inference: true, MaxBytes: maxBytes})
	if err != nil {
		return cli.Usagef("%s: %w", modelPath, err)
	}
	names := prog.OutputNames()
	if outExt == "" {
		outExt = ".npz"
		if len(names) == 1 {
			outExt = ".npy"
		}
	}
	if outExt == ".npy" && len(names) != 1 {
		return cli.Usagef("%s has %d outputs (%s); write them all with -o %s.npz",
			modelPath, len(names), strings.Join(names, ", "), strings.TrimSuffix(pf.output, filepath.Ext(pf.output)))
	}
	inputs, n, lab, err := loadInputs(inputPath, prog.Inputs(), pf)
	if err != nil {
		return cli.Usage(err)
	}
	if n == 0 {
		return cli.Usagef("%s: no samples (the first axis is 0)", inputPath)
	}
	outs, batches, err := predictBatches(prog, inputs, n, pf.batchSize)
	if err != nil {
		return cli.Usagef("%s: %w", inputPath, err)
	}
	if lab != nil {
		if err := lab.check(outs[names[0]]); err != nil {
			return cli.Usage(err)
		}
	}
	var enc []byte
	if outExt == ".npy" {
		enc, err = tensor.EncodeNpy(outs[names[0]])
	} else {
		enc, err = tensor.EncodeNpz(names, outs)
	}
	if err == nil {
		err = onnxio.WriteFileAtomic(pf.output, enc)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", pf.output, err) // exit 1: the run failed
	}
	if !pf.quiet {
		var parts []string
		for _, name := range names {
			o := outs[name]
			parts = append(parts, fmt.Sprintf("%s %s %s", name, predShape(o.Shape), o.DType))
		}
		fmt.Fprintf(stdout, "wrote %s: %s (%d samples, %d batches, %.2f s)\n", pf.output, strings.Join(parts, ", "), n, batches, time.Since(start).Seconds())
		if lab != nil {
			if line := lab.accuracy(outs[names[0]]); line != "" {
				fmt.Fprintln(stdout, line)
			}
		}
	}
	return nil
}

func predShape(s []int) string { return ir.DimsString(s) }

// loadInputs reads the inputs for the model and checks them against the
// model's input specs (all but the first, batch, dimension). It returns the
// tensors, the number of samples and, for labelled data sets, the labels.
func loadInputs(path string, specs []exec.InputSpec, pf *predictFlags) (map[string]*exec.Tensor, int, *labelled, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() || strings.EqualFold(filepath.Ext(path), ".csv") {
		return loadDataInputs(path, specs, pf)
	}
	in, n, err := loadArrays(path, specs)
	return in, n, nil, err
}

// loadArrays reads .npy and .npz inputs.
func loadArrays(path string, specs []exec.InputSpec) (map[string]*exec.Tensor, int, error) {
	arrays := map[string]*exec.Tensor{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		if len(specs) != 1 {
			return nil, 0, fmt.Errorf("%s: the model has %d inputs (%s); give an .npz with one array per input", path, len(specs), predSpecNames(specs))
		}
		t, err := tensor.ReadNpyFile(path)
		if err != nil {
			return nil, 0, err
		}
		arrays[specs[0].Name] = t
	case ".npz":
		r, err := tensor.OpenNpz(path)
		if err != nil {
			return nil, 0, err
		}
		defer r.Close()
		keys := map[string]string{}
		var avail []string
		for _, k := range r.Keys() {
			name := strings.TrimSuffix(k, ".npy")
			keys[name] = k
			avail = append(avail, name)
		}
		sort.Strings(avail)
		for _, s := range specs {
			k, ok := keys[s.Name]
			if !ok && len(specs) == 1 {
				if k, ok = keys["x"]; !ok && len(keys) == 1 {
					k, ok = keys[avail[0]], true
				}
			}
			if !ok {
				return nil, 0, fmt.Errorf("%s: no array for model input %q (arrays: %s)", path, s.Name, strings.Join(avail, ", "))
			}
			t, err := r.Read(k)
			if err != nil {
				return nil, 0, fmt.Errorf("%s: array %s: %w", path, strings.TrimSuffix(k, ".npy"), err)
			}
			arrays[s.Name] = t
		}
	default:
		return nil, 0, fmt.Errorf("%s: inputs are read from .npy or .npz files, .csv files or data directories", path)
	}
	n := -1
	for _, s := range specs {
		t := arrays[s.Name]
		if err := predFits(t, s); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if n >= 0 && t.Shape[0] != n {
			return nil, 0, fmt.Errorf("%s: inputs have different numbers of samples (%d and %d)", path, n, t.Shape[0])
		}
		n = t.Shape[0]
	}
	return arrays, n, nil
}

func predSpecNames(specs []exec.InputSpec) string {
	var s []string
	for _, x := range specs {
		s = append(s, x.Name)
	}
	return strings.Join(s, ", ")
}

// fits checks an input array against a model input: same rank, same sizes
// wherever the model fixes them except the first (batch) axis, compatible
// element type.
func predFits(t *exec.Tensor, s exec.InputSpec) error {
	if (t.DType == ir.Float32) != (s.DType == ir.Float32) {
		return fmt.Errorf("array for input %q holds %s values, the model expects %s", s.Name, t.DType, s.DType)
	}
	bad := len(t.Shape) == 0 || s.Shape != nil && len(t.Shape) != len(s.Shape)
	for i := 1; !bad && s.Shape != nil && i < len(s.Shape); i++ {
		bad = s.Shape[i] >= 0 && s.Shape[i] != t.Shape[i]
	}
	if bad && len(t.Shape) > 0 && len(s.Shape) > 0 {
		// Reshape each sample to the model's input when the element counts
		// agree (64 features → [1, 8, 8]), as training does.
		want, have, known := 1, 1, true
		for _, d := range s.Shape[1:] {
			known = known && d >= 0
			want *= d
		}
		for _, d := range t.Shape[1:] {
			have *= d
		}
		if known && want == have {
			t.Shape = append([]int{t.Shape[0]}, s.Shape[1:]...)
			return nil
		}
	}
	if bad {
		return fmt.Errorf("array of shape %s does not fit model input %q of shape %s (the first axis is the batch)", predShape(t.Shape), s.Name, predShape(s.Shape))
	}
	return nil
}

// predictBatches runs the samples through the model batch by batch and
// concatenates the outputs along the first axis.
func predictBatches(prog *exec.Program, inputs map[string]*exec.Tensor, n, batch int) (map[string]*exec.Tensor, int, error) {
	specs := prog.Inputs()
	// a model with a fixed first dimension is fed exactly that many samples
	for _, s := range specs {
		if len(s.Shape) > 0 && s.Shape[0] > 0 {
			if n%s.Shape[0] != 0 {
				return nil, 0, fmt.Errorf("model input %q has a fixed batch of %d, which does not divide %d samples", s.Name, s.Shape[0], n)
			}
			batch = s.Shape[0]
		}
	}
	outs := map[string]*exec.Tensor{}
	batches := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		feed := map[string]*exec.Tensor{}
		for _, s := range specs {
			t := inputs[s.Name]
			per := 1
			for _, d := range t.Shape[1:] {
				per *= d
			}
			v := &exec.Tensor{DType: t.DType, Shape: append([]int{hi - lo}, t.Shape[1:]...)}
			if t.DType == ir.Float32 {
				v.F = t.F[lo*per : hi*per]
			} else {
				v.I = t.I[lo*per : hi*per]
			}
			feed[s.Name] = v
		}
		res, err := prog.Run(exec.Eval, feed)
		if err != nil {
			return nil, 0, fmt.Errorf("samples %d..%d: %w", lo, hi-1, err)
		}
		for name, o := range res {
			acc := outs[name]
			if acc == nil {
				if len(o.Shape) == 0 || o.Shape[0] != hi-lo {
					if hi-lo == n {
						outs[name] = predClone(o)
						continue
					}
					return nil, 0, fmt.Errorf("output %q has shape %s, without the batch as its first axis; use --batch-size %d", name, predShape(o.Shape), n)
				}
				acc = &exec.Tensor{DType: o.DType, Shape: append([]int{0}, o.Shape[1:]...)}
				outs[name] = acc
			}
			if len(o.Shape) == 0 || o.Shape[0] != hi-lo {
				return nil, 0, fmt.Errorf("output %q has shape %s for a batch of %d", name, predShape(o.Shape), hi-lo)
			}
			acc.Shape[0] += o.Shape[0]
			acc.F = append(acc.F, o.F...)
			acc.I = append(acc.I, o.I...)
		}
		batches++
	}
	return outs, batches, nil
}

func predClone(t *exec.Tensor) *exec.Tensor {
	return &exec.Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...), F: append([]float32(nil), t.F...), I: append([]int64(nil), t.I...)}
}
