package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/tensor"
	"github.com/nnkit/nnkit/train/data"
)

// Point 13 of issue 9: every flag is validated, NaN included, and the
// error names the flag; clipping to 0 (which zeroes gradients in PyTorch)
// is refused with an explanation rather than read as "off".
func TestFlagValidation(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.onnx")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--scheduler", "cosine", "--eta-min", "-1"}, "--eta-min must be a finite number ≥ 0, got -1"},
		{[]string{"--clip-norm", "0"}, "--clip-norm 0 would zero every gradient (as PyTorch's clip_grad_norm_(max_norm=0) does)"},
		{[]string{"--clip-value", "0"}, "--clip-value 0 would zero every gradient"},
		{[]string{"--clip-norm", "nan"}, "--clip-norm must be a finite number ≥ 0, got NaN"},
		{[]string{"--clip-value", "-1"}, "--clip-value must be a finite number ≥ 0"},
		{[]string{"--val-split", "nan"}, "--val-split must be in [0, 1), got NaN"},
		{[]string{"--checkpoint-every", "-1"}, "--checkpoint-every must be ≥ 0, got -1"},
		{[]string{"--threads", "-1"}, "--threads must be in [0, 4096], got -1"},
		{[]string{"--normalize", "nan,nan"}, `--normalize: "nan" is not a finite number`},
		{[]string{"--normalize", "0.5,0"}, `--normalize: std "0" must be > 0`},
		{[]string{"--lr", "-0.1"}, "--lr must be a finite number ≥ 0, got -0.1"},
		{[]string{"--lr", "inf"}, "--lr must be a finite number ≥ 0, got +Inf"},
		{[]string{"--betas", "1,0.999"}, "--betas (β1) must be in [0, 1), got 1"},
		{[]string{"--optimizer", "sgd", "--momentum", "-0.5"}, "--momentum must be a finite number ≥ 0"},
		{[]string{"--optimizer", "sgd", "--dampening", "2"}, "--dampening must be in [0, 1], got 2"},
		{[]string{"--optimizer", "rmsprop", "--alpha", "nan"}, "--alpha must be in [0, 1], got NaN"},
		{[]string{"--weight-decay", "-1"}, "--weight-decay must be a finite number ≥ 0"},
		{[]string{"--eps", "-1e-8"}, "--eps must be a finite number ≥ 0"},
		{[]string{"--scheduler", "step", "--step-size", "2", "--gamma", "-0.5"}, "--gamma must be a finite number ≥ 0"},
		{[]string{"--scheduler", "plateau", "--factor", "1"}, "--factor must be in [0, 1), got 1"},
		{[]string{"--scheduler", "plateau", "--min-lr", "nan"}, "--min-lr must be a finite number ≥ 0"},
		{[]string{"--scheduler", "cosine", "--t-max", "0"}, "--t-max must be ≥ 1, got 0"},
		{[]string{"--early-stopping", "-2"}, "--early-stopping must be ≥ 0"},
		{[]string{"--min-delta", "nan"}, "--min-delta must be a finite number ≥ 0, got NaN"},
		{[]string{"--l1", "-1"}, "--l1 must be a finite number ≥ 0"},
		{[]string{"--dropout", "nan"}, "--dropout must be in [0, 1), got NaN"},
		{[]string{"--lr-find", "--lr-find-start", "1", "--lr-find-end", "0.1"}, "--lr-find-end (0.1) must be larger than --lr-find-start (1)"},
		{[]string{"--lr-find-steps", "1"}, "--lr-find-steps must be ≥ 2, got 1"},
		{[]string{"--image-size", "100000"}, "--image-size 100000 is more than the 89478485 pixels"},
		{[]string{"--data-format", "parquet"}, "--data-format must be auto, npz, csv or images"},
		{[]string{"--epochs", "0"}, "--epochs must be ≥ 1, got 0"},
		{[]string{"--num-classes", "1000000000000"}, "--num-classes must be ≥ 1 and at most 1048576, got 1000000000000"},
		{[]string{"--out", t.TempDir()}, "is a directory"},
	}
	for _, c := range cases {
		args := append([]string{mlp, digits, "--out", out}, c.args...)
		code, _, stderr := runCmd(args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused command line trained and wrote a model")
	}
	// Several problems are reported together.
	_, _, stderr := runCmd(mlp, digits, "--threads", "-1", "--val-split", "2")
	if !strings.Contains(stderr, "--threads") || !strings.Contains(stderr, "--val-split") {
		t.Errorf("not every problem reported: %q", stderr)
	}
	pcases := []struct {
		args []string
		want string
	}{
		{[]string{"--threads", "-1"}, "--threads must be in [0, 4096], got -1"},
		{[]string{"--batch-size", "0"}, "--batch-size must be ≥ 1, got 0"},
		{[]string{"--normalize", "nan,nan"}, `--normalize: "nan" is not a finite number`},
		{[]string{"--split", "test"}, "--split must be train, val or all"},
	}
	for _, c := range pcases {
		args := append([]string{"predict", mlp, digits, "-o", filepath.Join(t.TempDir(), "o.npy")}, c.args...)
		code, _, stderr := runCmd(args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("predict %v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// Point 13: predict refuses labels no output can match instead of
// reporting an accuracy against them.
func TestPredictLabelsOutOfRange(t *testing.T) {
	for _, label := range []string{"-1", "10", "4611686018427387904"} {
		dir := t.TempDir()
		var b strings.Builder
		for i := range 64 {
			b.WriteString("p" + itoa(i) + ",")
		}
		b.WriteString("label\n")
		for _, l := range []string{"0", label, "3"} {
			b.WriteString(strings.Repeat("0.5,", 64) + l + "\n")
		}
		os.WriteFile(filepath.Join(dir, "train.csv"), []byte(b.String()), 0o644)
		out := filepath.Join(dir, "o.npy")
		code, stdout, stderr := runCmd("predict", mlp, dir, "-o", out)
		want := "train.csv line 3: label " + label + " is out of range for a model with 10 outputs"
		if code != 2 || !strings.Contains(stderr, want) || strings.Contains(stdout, "accuracy") {
			t.Errorf("label %s: exit %d, stdout %q, stderr %q; want 2 and %q", label, code, stdout, stderr, want)
		}
	}
}

// externalCopy writes the model at src to dir/model.onnx with every
// initializer in model.onnx.data.
func externalCopy(t *testing.T, src, dir string) string {
	t.Helper()
	m, err := onnxio.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.onnx")
	if err := onnxio.WriteFile(p, m, &onnxio.WriteOptions{External: onnxio.ExternalAll, Threshold: 1}); err != nil {
		t.Fatal(err)
	}
	return p
}

// weights reads a model and returns its initializers' bytes by name.
func weights(t *testing.T, path string) map[string]string {
	t.Helper()
	m, err := onnxio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]string{}
	for _, v := range m.Graph.Initializers {
		w[v.Name] = string(v.Init.Raw)
	}
	return w
}

func sameWeights(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Point 10: fine-tuning a model whose weights live in an external data file
// never changes what the original model reads — with the default --out,
// with --out naming the original itself, and with checkpoints.
func TestFineTuneLeavesExternalDataAlone(t *testing.T) {
	dir := t.TempDir()
	model := externalCopy(t, mlp, dir)
	dataFile := model + ".data"
	before := weights(t, model)
	rawBefore, _ := os.ReadFile(dataFile)
	modelBefore, _ := os.ReadFile(model)

	if code, o, e := runCmd(model, digits, "--epochs", "2", "--checkpoint-every", "1", "--quiet"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	if raw, _ := os.ReadFile(dataFile); !bytes.Equal(raw, rawBefore) {
		t.Fatal("fine-tuning with the default --out changed the original's external data file")
	}
	if !sameWeights(weights(t, model), before) {
		t.Fatal("the original model no longer loads the same weights")
	}
	if raw, _ := os.ReadFile(model); !bytes.Equal(raw, modelBefore) {
		t.Fatal("the original model file changed")
	}
	tuned := filepath.Join(dir, "model.finetuned.onnx")
	if sameWeights(weights(t, tuned), before) {
		t.Fatal("the fine-tuned model has the original weights: training or writing did nothing")
	}
	if _, err := os.Stat(tuned + ".data"); err != nil {
		t.Fatalf("the fine-tuned model's weights are not in its own data file: %v", err)
	}

	// --out naming the original: the new model is written beside new
	// external data; the old data file is not rewritten (a crash between
	// the renames leaves the old model intact).
	if code, o, e := runCmd(model, digits, "--epochs", "1", "--quiet", "--out", model); code != 0 {
		t.Fatalf("in place: exit %d\n%s%s", code, o, e)
	}
	if raw, _ := os.ReadFile(dataFile); !bytes.Equal(raw, rawBefore) {
		t.Fatal("fine-tuning in place rewrote the data file the old model read")
	}
	inPlace := weights(t, model)
	if sameWeights(inPlace, before) {
		t.Fatal("in place: weights unchanged")
	}
	// Once more in place: the data file now in use is left alone again.
	second, _ := os.ReadFile(model + ".1.data")
	if len(second) == 0 {
		t.Fatal("in place: no model.onnx.1.data")
	}
	if code, o, e := runCmd(model, digits, "--epochs", "1", "--quiet", "--out", model); code != 0 {
		t.Fatalf("in place again: exit %d\n%s%s", code, o, e)
	}
	if raw, _ := os.ReadFile(model + ".1.data"); !bytes.Equal(raw, second) {
		t.Fatal("the second in-place run rewrote the data file the model read")
	}
	weights(t, model)
}

// Point 11: --out and -o naming a device are written, never replaced by a
// regular file; a directory is refused before training; temporaries left
// by a killed run are removed by the next successful write.
func TestOutputsToDevicesAndStaleTemporaries(t *testing.T) {
	if code, o, e := runCmd(mlp, digits, "--epochs", "1", "--quiet", "--out", "/dev/null"); code != 0 {
		t.Fatalf("--out /dev/null: exit %d\n%s%s", code, o, e)
	}
	dir := t.TempDir()
	if code, o, e := runCmd("predict", mlp, digits, "-o", "/dev/null"); code != 0 {
		t.Fatalf("predict -o /dev/null: exit %d\n%s%s", code, o, e)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null was replaced: %v %v", st.Mode(), err)
	}
	fifo := filepath.Join(dir, "out.npy")
	syscall.Mkfifo(fifo, 0o644)
	code, _, stderr := runWithin(t, "predict", mlp, digits, "-o", fifo)
	if code != 1 || !strings.Contains(stderr, "no process is reading this pipe") {
		t.Fatalf("-o FIFO without a reader: exit %d %q", code, stderr)
	}
	if st, _ := os.Lstat(fifo); st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatal("the FIFO was replaced")
	}

	out := filepath.Join(dir, "o.onnx")
	stale := []string{filepath.Join(dir, ".o.onnx.tmp123456"), filepath.Join(dir, ".o.onnx.data.tmp42")}
	keep := []string{filepath.Join(dir, ".other.onnx.tmp1"), filepath.Join(dir, "o.onnx.tmp7")}
	for _, p := range append(stale, keep...) {
		os.WriteFile(p, []byte("left by kill -9"), 0o644)
	}
	model := externalCopy(t, mlp, t.TempDir()) // so that o.onnx.data is written too
	if code, o, e := runCmd(model, digits, "--epochs", "1", "--quiet", "--out", out); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("stale temporary %s survived a successful write", filepath.Base(p))
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s is not ours to remove: %v", filepath.Base(p), err)
		}
	}
}

// runWithin runs the command and fails the test if it does not finish
// within a minute (a hang on a FIFO).
func runWithin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type res struct {
		code int
		o, e string
	}
	done := make(chan res, 1)
	go func() {
		c, o, e := runCmd(args...)
		done <- res{c, o, e}
	}()
	select {
	case r := <-done:
		return r.code, r.o, r.e
	case <-time.After(time.Minute):
		t.Fatalf("%v did not finish: blocked on a FIFO?", args)
	}
	return 0, "", ""
}

// Point 7: a FIFO where the model, the data or predict's input is
// expected is refused at once with exit 2.
func TestFIFOInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	syscall.Mkfifo(fifo, 0o644)
	code, _, stderr := runWithin(t, fifo, digits)
	if code != 2 || !strings.Contains(stderr, "is a named pipe (FIFO), not a model file") {
		t.Errorf("FIFO model: exit %d %q", code, stderr)
	}
	code, _, stderr = runWithin(t, "predict", fifo, digits, "-o", filepath.Join(dir, "o.npy"))
	if code != 2 || !strings.Contains(stderr, "is a named pipe (FIFO)") {
		t.Errorf("predict, FIFO model: exit %d %q", code, stderr)
	}
	in := filepath.Join(dir, "in.npy")
	syscall.Mkfifo(in, 0o644)
	code, _, stderr = runWithin(t, "predict", mlp, in, "-o", filepath.Join(dir, "o.npy"))
	if code != 2 || !strings.Contains(stderr, "in.npy: is a named pipe (FIFO), not a regular file") {
		t.Errorf("predict, FIFO input: exit %d %q", code, stderr)
	}
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o755)
	syscall.Mkfifo(filepath.Join(data, "train.csv"), 0o644)
	code, _, stderr = runWithin(t, mlp, data)
	if code != 2 || !strings.Contains(stderr, "train.csv: is a named pipe (FIFO), not a regular file") {
		t.Errorf("FIFO train.csv: exit %d %q", code, stderr)
	}
	// The log may be a FIFO read by another process, but one nobody reads
	// is an error, not a hang.
	logFifo := filepath.Join(dir, "log")
	syscall.Mkfifo(logFifo, 0o644)
	code, _, stderr = runWithin(t, mlp, digits, "--log", logFifo, "--out", filepath.Join(dir, "o.onnx"))
	if code != 2 || !strings.Contains(stderr, "no process is reading this pipe") {
		t.Errorf("--log FIFO: exit %d %q", code, stderr)
	}
}

// Point 7: a FIFO where --resume expects its checkpoint is refused, not
// waited on.
func TestFIFOCheckpoint(t *testing.T) {
	dir := t.TempDir()
	syscall.Mkfifo(filepath.Join(dir, checkpointName), 0o644)
	code, _, stderr := runWithin(t, mlp, digits, "--checkpoint-dir", dir, "--resume", "--out", filepath.Join(t.TempDir(), "o.onnx"))
	if code != 2 || !strings.Contains(stderr, "named pipe (FIFO)") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}

// An input with no samples is an error, not a crash (it panicked in
// tensor.EncodeNpy on a nil output).
func TestPredictZeroSamples(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.npy")
	hdr := "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 64), }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	os.WriteFile(in, append([]byte("\x93NUMPY\x01\x00"+string([]byte{byte(len(hdr)), 0})), hdr...), 0o644)
	code, _, stderr := runCmd("predict", mlp, in, "-o", filepath.Join(dir, "o.npy"))
	if code != 2 || !strings.Contains(stderr, "x.npy: no samples (the first axis is 0)") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}

// Labels per position (segmentation masks) are scored per position with
// the arg-max over the class axis, ignore index −100 left out (it
// panicked indexing the output as one row per label).
func TestPredictPerPositionAccuracy(t *testing.T) {
	const unet, seg = "../../testdata/models/unet_tiny/train.onnx", "../../testdata/train/families/seg"
	out := filepath.Join(t.TempDir(), "o.npy")
	code, stdout, stderr := runCmd("predict", unet, seg, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	y, err := tensor.ReadNpyFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := data.Load(seg, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, w := y.Shape[1], d.Train.LabelWidth()
	var want []string
	start := 0
	for _, s := range []*data.Set{d.Train, d.Val} {
		correct, total := 0, 0
		for i := range s.N {
			for p := range w {
				label := s.Labels[i*w+p]
				if label == -100 {
					continue
				}
				best, arg := float32(0), -1
				for c := range k {
					if v := y.F[((start+i)*k+c)*w+p]; arg < 0 || v > best {
						best, arg = v, c
					}
				}
				total++
				if int64(arg) == label {
					correct++
				}
			}
		}
		want = append(want, fmt.Sprintf("accuracy %.4f (%d/%d)", float64(correct)/float64(total), correct, total))
		start += s.N
	}
	if !strings.Contains(stdout, "train "+want[0]) || !strings.Contains(stdout, "val "+want[1]) {
		t.Fatalf("stdout %q, want train %s, val %s", stdout, want[0], want[1])
	}
}
