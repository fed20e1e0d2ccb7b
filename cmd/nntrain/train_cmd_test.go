package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
)

const (
	mlp    = "../../testdata/models/mlp_digits/train.onnx"
	cnn    = "../../testdata/models/cnn_digits/train.onnx"
	digits = "../../testdata/data/digits"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestOutOfTheBox is the README's example: defaults only, flags after the
// positionals.
func TestOutOfTheBox(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.onnx")
	code, stdout, stderr := runCmd(mlp, digits, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"epoch 10/10", "val_acc", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	m, err := onnxio.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph.Initializer("fc1.weight") == nil {
		t.Fatal("written model lacks fc1.weight")
	}
}

func TestJSONLogAndFlagsBeforePositionals(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log.jsonl")
	code, stdout, stderr := runCmd("--epochs", "3", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9",
		"--scheduler", "plateau", "--patience", "0", "--threshold", "0.9", "--factor", "0.5",
		"--log", logPath, "--out", filepath.Join(dir, "o.onnx"), cnn, digits, "--shuffle=false", "--clip-norm", "0.5", "--l1", "1e-4")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var epochs, reductions int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if ev, ok := m["event"]; ok {
			if ev == "lr_reduced" {
				reductions++
			}
			continue
		}
		epochs++
		for _, k := range []string{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm", "seconds"} {
			if _, ok := m[k]; !ok {
				t.Errorf("epoch line lacks %q: %s", k, sc.Text())
			}
		}
	}
	if epochs != 3 || reductions != 2 {
		t.Fatalf("%d epoch lines, %d lr_reduced events; want 3 and 2", epochs, reductions)
	}
}

func TestDefaultOut(t *testing.T) {
	for in, want := range map[string]string{
		"a/model.onnx":    "a/model.finetuned.onnx",
		"a/model.onnx.gz": "a/model.finetuned.onnx",
		"x.ONNX":          "x.finetuned.onnx",
		"weights":         "weights.finetuned.onnx",
	} {
		if got := defaultOut(in); got != want {
			t.Errorf("defaultOut(%q) = %q, want %q", in, got, want)
		}
	}
	// A gzipped model is read and the default output written next to it.
	dir := t.TempDir()
	raw, err := os.ReadFile(mlp)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	in := filepath.Join(dir, "m.onnx.gz")
	if err := os.WriteFile(in, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, o, e := runCmd(in, digits, "--epochs", "1", "--quiet"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	if _, err := onnxio.ReadFile(filepath.Join(dir, "m.finetuned.onnx")); err != nil {
		t.Fatal(err)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	for i := 0; i < 64; i++ {
		csv.WriteString("p" + strconv.Itoa(i) + ",")
	}
	csv.WriteString("label\n")
	for _, label := range []string{"0", "12", "1"} {
		csv.WriteString(strings.Repeat("0.5,", 64) + label + "\n")
	}
	os.WriteFile(filepath.Join(dir, "train.csv"), []byte(csv.String()), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{mlp}, "need a model and a data directory"},
		{[]string{mlp, digits, "--bogus"}, "flag provided but not defined"},
		{[]string{mlp, digits, "--optimizer", "adam", "--momentum", "0.9"}, "--momentum does not apply to --optimizer adam"},
		{[]string{mlp, digits, "--scheduler", "cosine", "--step-size", "3"}, "--step-size does not apply to --scheduler cosine"},
		{[]string{mlp, digits, "--scheduler", "step"}, "needs --step-size"},
		{[]string{mlp, digits, "--optimizer", "lbfgs"}, "unknown optimizer"},
		{[]string{mlp, digits, "--optimizer", "sgd", "--nesterov"}, "nesterov momentum requires a momentum > 0"},
		{[]string{mlp, digits, "--dropout", "1"}, "--dropout must be in [0, 1)"},
		{[]string{mlp, "/nonexistent/data"}, "no such file"},
		{[]string{"/nonexistent.onnx", digits}, "nonexistent.onnx"},
		{[]string{cnn, filepath.Join(digits, "train.csv"), "--image-size", "0"}, "--image-size"},
		{[]string{mlp, dir, "--val-split", "0"}, "line 3: label 12 is out of range for a model with 10 outputs"},
		{[]string{mlp, dir, "--val-split", "0", "--early-stopping", "2"}, "--early-stopping watches the validation loss"},
	}
	for _, c := range cases {
		code, _, stderr := runCmd(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestDivergenceExits1(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.onnx")
	code, stdout, stderr := runCmd(mlp, digits, "--optimizer", "sgd", "--lr", "1e30", "--epochs", "3", "--out", out)
	if code != 1 || !strings.Contains(stderr, "training diverged") || !strings.Contains(stderr, "no model written") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a diverged run wrote a model")
	}
}

func TestLRFind(t *testing.T) {
	code, stdout, stderr := runCmd(mlp, digits, "--lr-find", "--lr-find-steps", "60")
	if code != 0 || !strings.Contains(stdout, "suggested --lr") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestCSVAndEarlyStopping(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "l.jsonl")
	code, stdout, stderr := runCmd(mlp, filepath.Join(digits, "train.csv"), "--val-split", "0.2", "--seed", "3",
		"--optimizer", "sgd", "--lr", "3", "--epochs", "40", "--early-stopping", "1", "--min-delta", "0.01",
		"--out", filepath.Join(dir, "o.onnx"), "--log", logPath)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "20% held out for validation (seed 3)") || !strings.Contains(stdout, "early stopping at epoch") {
		t.Fatalf("output:\n%s", stdout)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), `"event":"early_stop"`) {
		t.Fatalf("log lacks the early_stop event:\n%s", b)
	}
}

func TestImageFolderAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.onnx")
	logPath := filepath.Join(dir, "l.jsonl")
	code, stdout, stderr := runCmd(cnn, "../../testdata/train/images", "--epochs", "3", "--batch-size", "2",
		"--normalize", "0.5,0.25", "--checkpoint-every", "1", "--out", out, "--log", logPath)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "(images)") || !strings.Contains(stdout, "training on 5 samples (1 validation samples)") {
		t.Fatalf("output:\n%s", stdout)
	}
	b, _ := os.ReadFile(logPath)
	if n := strings.Count(string(b), `"event":"checkpoint"`); n != 2 {
		t.Fatalf("%d checkpoint events (epochs 1 and 2; the final write is not a checkpoint):\n%s", n, b)
	}
	if _, err := onnxio.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(cnn, "../../testdata/train/images", "--normalize", "0.5,0.5,0.5,0.2,0.2,0.2")
	if code != 2 || !strings.Contains(stderr, "--normalize has 3 values per statistic; the images have 1 channels") {
		t.Fatalf("3-channel normalization for a 1-channel model: exit %d %s", code, stderr)
	}
}

// TestDropoutAndSeed: --dropout changes training, and a seed reproduces a
// run exactly (shuffling, dropout masks).
func TestDropoutAndSeed(t *testing.T) {
	model := "../../testdata/train/bn_mlp_digits.onnx" // has Dropout(0.2)
	runLog := func(args ...string) string {
		t.Helper()
		dir := t.TempDir()
		logPath := filepath.Join(dir, "l.jsonl")
		args = append([]string{model, digits, "--epochs", "2", "--quiet", "--out", filepath.Join(dir, "o.onnx"), "--log", logPath}, args...)
		if code, o, e := runCmd(args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, o, e)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		// drop the wall-clock field
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			json.Unmarshal([]byte(l), &m)
			delete(m, "seconds")
			j, _ := json.Marshal(m)
			lines = append(lines, string(j))
		}
		return strings.Join(lines, "\n")
	}
	a := runLog("--seed", "5", "--dropout", "0.5")
	if b := runLog("--seed", "5", "--dropout", "0.5"); a != b {
		t.Fatalf("same seed, different runs:\n%s\n%s", a, b)
	}
	if c := runLog("--seed", "6", "--dropout", "0.5"); a == c {
		t.Fatal("different seeds, same run")
	}
	if d := runLog("--seed", "5", "--dropout", "0"); a == d {
		t.Fatal("--dropout 0.5 and 0 gave the same run")
	}
	code, stdout, _ := runCmd(mlp, digits, "--epochs", "1", "--dropout", "0.3", "--out", filepath.Join(t.TempDir(), "o.onnx"))
	if code != 0 || !strings.Contains(stdout, "the model has no Dropout layers") {
		t.Fatalf("--dropout on a model without Dropout: exit %d\n%s", code, stdout)
	}
}
