package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
)

const cnnBN = "../../testdata/train/cnn_bn_digits.onnx"

// --freeze keeps the frozen parameters and their BatchNorm statistics
// bit-identical in the written model while the rest trains; with
// --train-frozen-bn the statistics move but the parameters still do not.
func TestFreezeKeepsFrozenBitIdentical(t *testing.T) {
	src, err := onnxio.ReadFile(cnnBN)
	if err != nil {
		t.Fatal(err)
	}
	for _, trainBN := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "o.onnx")
		args := []string{cnnBN, digits, "--epochs", "2", "--freeze", "conv.*", "--freeze", "bn.*", "--out", out}
		if trainBN {
			args = append(args, "--train-frozen-bn")
		}
		code, stdout, stderr := runCmd(args...)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "frozen: 3 parameters") || !strings.Contains(stdout, "1 frozen BatchNorm layers") {
			t.Errorf("no freeze summary:\n%s", stdout)
		}
		got, err := onnxio.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range src.Graph.Initializers {
			same := string(v.Init.Raw) == string(got.Graph.Initializer(v.Name).Raw)
			frozen := strings.HasPrefix(v.Name, "conv.") || v.Name == "bn.weight" || v.Name == "bn.bias"
			stat := strings.HasPrefix(v.Name, "bn.running_")
			want := frozen || (stat && !trainBN)
			if same != want {
				t.Errorf("train-frozen-bn=%v: %s unchanged=%v, want %v", trainBN, v.Name, same, want)
			}
		}
	}
}

// --train-only trains the named head alone; --num-classes gives it a new
// width, and the written model has that many outputs.
func TestNewHeadTrainOnly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.onnx")
	code, stdout, stderr := runCmd(mlp, digits, "--epochs", "2", "--num-classes", "10", "--train-only", "fc2.*", "--seed", "4", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "new head: /fc2/Gemm (Gemm) now has 10 outputs (was 10)") {
		t.Errorf("no head summary:\n%s", stdout)
	}
	src, _ := onnxio.ReadFile(mlp)
	got, err := onnxio.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fc1.weight", "fc1.bias"} {
		if string(src.Graph.Initializer(name).Raw) != string(got.Graph.Initializer(name).Raw) {
			t.Errorf("%s changed though only fc2.* trains", name)
		}
	}
	// Fewer classes than the labels use: the labels are checked.
	code, _, stderr = runCmd(mlp, digits, "--epochs", "1", "--num-classes", "3", "--out", out)
	if code != 2 || !strings.Contains(stderr, "3") {
		t.Errorf("--num-classes 3 on 10-class data: exit %d: %s", code, stderr)
	}
}

func TestFreezeUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "o.onnx")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--freeze", "fc9.*"}, `--freeze "fc9.*" matches no parameter`},
		{[]string{"--train-only", "fc1.*,nothing*"}, `--train-only "nothing*" matches no parameter`},
		{[]string{"--freeze", "*"}, "no parameter to train"},
		{[]string{"--train-frozen-bn"}, "--train-frozen-bn applies to layers frozen"},
		{[]string{"--num-classes", "0"}, "--num-classes must be ≥ 1"},
	} {
		code, _, stderr := runCmd(append([]string{mlp, digits, "--epochs", "1", "--out", out}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// Stopping after 2 epochs and resuming to 4 writes the same bytes as 4
// epochs at once; other settings on resume are refused, naming them.
func TestResumeCommand(t *testing.T) {
	dir := t.TempDir()
	common := []string{bnMLP, digits, "--seed", "3", "--scheduler", "step", "--step-size", "1", "--gamma", "0.7"}
	full := filepath.Join(dir, "full.onnx")
	if code, o, e := runCmd(append(common, "--epochs", "4", "--out", full, "--checkpoint-dir", filepath.Join(dir, "a"))...); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	part := filepath.Join(dir, "part.onnx")
	ck := filepath.Join(dir, "b")
	if code, o, e := runCmd(append(common, "--epochs", "2", "--out", part, "--checkpoint-dir", ck, "--resume")...); code != 0 || !strings.Contains(o, "no checkpoint in") {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	log := filepath.Join(dir, "run.jsonl")
	os.WriteFile(log, []byte("{\"epoch\":1}\n{\"epoch\":2}\n"), 0o644) // as the first part's --log left it
	code, o, e := runCmd(append(common, "--epochs", "4", "--out", part, "--checkpoint-dir", ck, "--resume", "--log", log)...)
	if code != 0 || !strings.Contains(o, "resuming after epoch 2 of 4") || strings.Contains(o, "epoch 2/4") {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	// --resume appends to the log: the whole run is in it.
	if lb, _ := os.ReadFile(log); !bytes.HasPrefix(lb, []byte("{\"epoch\":1}\n{\"epoch\":2}\n")) || !bytes.Contains(lb, []byte(`"event":"resumed"`)) || !bytes.Contains(lb, []byte(`"epoch":4,`)) {
		t.Errorf("log after resuming:\n%s", lb)
	}
	a, _ := os.ReadFile(full)
	b, _ := os.ReadFile(part)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("2 + 2 resumed epochs differ from 4 epochs")
	}
	code, o, e = runCmd(append(common, "--epochs", "4", "--out", part, "--checkpoint-dir", ck, "--resume")...)
	if code != 0 || !strings.Contains(o, "the checkpoint has all 4 epochs: nothing left to train (raise --epochs to train longer)") {
		t.Errorf("resuming a finished run: exit %d\n%s%s", code, o, e)
	}
	code, _, e = runCmd(append(common, "--epochs", "5", "--out", part, "--checkpoint-dir", ck, "--resume", "--lr", "0.01", "--gamma", "0.5")...)
	if code != 2 || !strings.Contains(e, "--gamma: 0.7 → 0.5") || !strings.Contains(e, "--lr: 0.001 → 0.01") {
		t.Errorf("changed settings: exit %d: %s", code, e)
	}
	if code, _, e = runCmd(append(common, "--resume", "--out", part)...); code != 2 || !strings.Contains(e, "--resume needs --checkpoint-dir") {
		t.Errorf("--resume alone: exit %d: %s", code, e)
	}
	os.WriteFile(filepath.Join(ck, checkpointName), []byte("garbage"), 0o644)
	if code, _, e = runCmd(append(common, "--epochs", "4", "--out", part, "--checkpoint-dir", ck, "--resume")...); code != 2 || !strings.Contains(e, "not an nntrain checkpoint") {
		t.Errorf("damaged checkpoint: exit %d: %s", code, e)
	}
}
