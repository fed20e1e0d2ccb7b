package main

import (
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
