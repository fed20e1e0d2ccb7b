package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
