package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/exec"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
	"github.com/nnkit/nnkit/train/doctor/suite"
	"github.com/nnkit/nnkit/train/loss"
	"github.com/nnkit/nnkit/train/optim"
)

// TestDoctorWarn: a learning rate far too high is diagnosed on the
// terminal, in the JSON log and in the summary, with the flag to change;
// training still succeeds (diagnoses are advice, exit 0).
func TestDoctorWarn(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log.jsonl")
	code, stdout, stderr := runCmd(mlp, digits, "--epochs", "2", "--lr", "0.5", "--log", logPath, "--out", filepath.Join(dir, "o.onnx"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"doctor: lr-too-high at epoch 1 step", "lower --lr from 0.5 to 0.0123", "doctor: ", "kind"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m["event"] == "diagnosis" && m["kind"] == "lr-too-high" {
			found = true
			if ev, _ := m["evidence"].(map[string]any); ev["update_ratio"] == nil {
				t.Errorf("no update_ratio in the evidence: %v", m)
			}
		}
	}
	if !found {
		t.Error("no lr-too-high diagnosis in the log")
	}
}

// TestDoctorQuietOnHealthyAndOff: defaults on a healthy fixture print no
// doctor line; --doctor off never does; a bad mode is a usage error.
func TestDoctorQuietOnHealthyAndOff(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"--epochs", "3"}, {"--epochs", "2", "--lr", "0.5", "--doctor", "off"}} {
		code, stdout, stderr := runCmd(append([]string{mlp, digits, "--out", filepath.Join(dir, "o.onnx")}, args...)...)
		if code != 0 || strings.Contains(stdout, "doctor") {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCmd(mlp, digits, "--doctor", "maybe"); code != 2 || !strings.Contains(stderr, "--doctor wants off, warn or fix") {
		t.Errorf("--doctor maybe: exit %d, %s", code, stderr)
	}
}

// TestDoctorRepairFlags: the doctor's advice and repairs name nntrain's
// flags in the JSON log and the summary (exploding gradients at lr 1 in
// fix mode: lr ÷10 and clipping).
func TestDoctorRepairFlags(t *testing.T) {
	m, err := onnxio.ReadFile(mlp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := optim.NewSGD(optim.SGDConfig{LR: 1, Momentum: 0.9})
	var log, summary bytes.Buffer
	l := &train.Loop{Model: prog, Loss: loss.CrossEntropy{}, Opt: opt, Epochs: 3, Hooks: []train.Hook{train.NewJSONLog(&log)}, Name: flagOf}
	d := doctor.New(m, doctor.Settings{Optimizer: train.OptimizerSettings{Name: "sgd", LR: 1, Momentum: 0.9}}, doctor.Config{Mode: doctor.Fix, Summary: &summary})
	if err := d.OnStart(l); err != nil {
		t.Fatal(err)
	}
	// 27 quiet steps, then 3 at ≥ 100× the median of the first 20.
	norms := append(slices.Repeat([]float64{1}, 27), 500, 500, 500)
	l.Epoch = 1
	for i, norm := range norms {
		l.Step = i + 1
		if err := d.OnStep(l, &train.StepStats{Epoch: 1, Step: l.Step, Steps: 100, Samples: 8, Loss: 2, GradNorm: norm}); err != nil {
			t.Fatal(err)
		}
	}
	if k := d.Kinds(); !slices.Equal(k, []doctor.Kind{doctor.ExplodingGradients}) {
		t.Fatalf("diagnosed %v", k)
	}
	for _, want := range []string{`"flags":"--lr 0.1 --clip-norm 1"`, `"fix":"add --clip-norm 1.0 and lower --lr from 1 to 0.1"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
	if f := d.PermanentText(); f != "--clip-norm 1 --lr 0.1" {
		t.Errorf("permanent flags %q", f)
	}
	d.WriteSummary(&summary)
	if !strings.Contains(summary.String(), "doctor: to make the repairs permanent, train with: --clip-norm 1 --lr 0.1\n") {
		t.Errorf("summary:\n%s", summary.String())
	}
}

// TestDoctorAdviceNamesFlags: on the doctor's seeded faulty runs (the
// short suite), every diagnosis's advice in the JSON log names a flag to
// change, and the summary the flags that make the repairs permanent.
func TestDoctorAdviceNamesFlags(t *testing.T) {
	d, err := data.Load(digits, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	env := suite.Env{Data: d, Name: flagOf, Load: func(name string) (*ir.Model, error) {
		return onnxio.ReadFile("../../testdata/models/" + name + "/train.onnx")
	}}
	for _, c := range suite.Select(false) {
		if len(c.Expect) == 0 {
			continue
		}
		mode := doctor.Warn
		if c.Repair && !c.NoRepairTest {
			mode = doctor.Fix
		}
		o, err := suite.Run(c, env, mode)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		n := 0
		for sc := bufio.NewScanner(strings.NewReader(o.Log)); sc.Scan(); {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m["event"] != "diagnosis" {
				continue
			}
			n++
			if fix, _ := m["fix"].(string); !strings.Contains(fix, "--") {
				t.Errorf("%s: fix names no flag: %q", c.Name, fix)
			}
		}
		if n == 0 {
			t.Errorf("%s: no diagnosis", c.Name)
		}
		if c.Model == "badinit_huge" && !strings.Contains(o.Console, "check the initialization and the input scale (nnlint model.onnx)") {
			t.Errorf("%s: the diagnosis does not point to nnlint:\n%s", c.Name, o.Console)
		}
		if o.Permanent != "" && (!strings.HasPrefix(o.Permanent, "--") || !strings.Contains(o.Console, "train with: "+o.Permanent)) {
			t.Errorf("%s: summary does not give the flags %q:\n%s", c.Name, o.Permanent, o.Console)
		}
	}
}
