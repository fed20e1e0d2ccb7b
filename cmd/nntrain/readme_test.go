package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/export"
)

// readmeCommands returns the `go run ./cmd/<cmd> ...` lines of the sh code
// blocks in the README section whose heading starts with heading.
func readmeCommands(t *testing.T, heading, cmd string) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+heading)
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	s = s[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	var out [][]string
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "go run ./cmd/"+cmd+" "); ok {
			out = append(out, strings.Fields(rest))
		}
	}
	return out
}

// The README's first steps fine-tune two shipped models on the shipped
// digits: the sigmoid MLP stays at chance and the doctor names vanishing
// gradients; the BatchNorm CNN learns and the file written is an inference
// graph, with its curves plotted. These are the README's own command lines, run here.
func TestReadmeFirstSteps(t *testing.T) {
	cmds := readmeCommands(t, "First steps", "nntrain")
	if len(cmds) != 2 {
		t.Fatalf("README first steps: %d nntrain commands, want 2", len(cmds))
	}
	valAcc := regexp.MustCompile(`val_acc ([0-9.]+)\n`)
	dir := t.TempDir()
	for i, args := range cmds {
		for k, a := range args {
			if strings.HasPrefix(a, "testdata/") {
				args[k] = "../../" + a
			}
			if strings.HasPrefix(a, "/tmp/") {
				args[k] = filepath.Join(dir, filepath.Base(a))
			}
		}
		code, stdout, stderr := runCmd(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		m := valAcc.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("%v: no final val_acc in\n%s", args, stdout)
		}
		acc, _ := strconv.ParseFloat(m[1], 64)
		switch i {
		case 0: // the sigmoid MLP: chance is 0.1
			if acc > 0.2 || !strings.Contains(stdout, "doctor: vanishing-gradients at epoch 2") {
				t.Errorf("sigmoid MLP: val_acc %v, want chance, and the doctor's vanishing-gradients diagnosis:\n%s", acc, stdout)
			}
		case 1: // the CNN
			if acc < 0.9 {
				t.Errorf("CNN: val_acc %v, want > 0.9", acc)
			}
			out, err := onnxio.ReadFile(filepath.Join(dir, "cnn.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			if export.IsTraining(out) || export.Kind(out) != export.KindInference {
				t.Error("the CNN's output is not an inference graph")
			}
			if st, err := os.Stat(filepath.Join(dir, "cnn.png")); err != nil || st.Size() == 0 {
				t.Errorf("the README's --plot file was not drawn: %v", err)
			}
		}
	}
}
