package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
)

// A crash while linting one file is reported for that file as an internal
// error (exit 3), every other file is still linted, and the JSON and SARIF
// reports are still written.
func TestInternalErrorPerFile(t *testing.T) {
	good, bad := zoo+"dropoutnet/train.onnx", faults+"dropout_high.onnx"
	testHookLintFile = func(file string) {
		if file == bad {
			var m map[string]int
			m["boom"]++ // assignment to a nil map: a real runtime panic
		}
	}
	defer func() { testHookLintFile = nil }()
	for _, f := range []string{"json", "sarif", "text", "github"} {
		t.Run(f, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report")
			code, stdout, stderr := nnlint(t, "--format", f, "-o", out, good, bad, "nope.onnx")
			if code != cli.ExitInternal {
				t.Errorf("exit %d, want %d (internal error)\nstdout: %s\nstderr: %s", code, cli.ExitInternal, stdout, stderr)
			}
			if !strings.Contains(stderr, "internal error") || !strings.Contains(stderr, "assignment to entry in nil map") || !strings.Contains(stderr, "nope.onnx") {
				t.Errorf("stderr does not report the crash and the missing file:\n%s", stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("no report written: %v", err)
			}
			switch f {
			case "json":
				var r struct {
					Files []struct {
						File     string  `json:"file"`
						Error    *string `json:"error"`
						Internal bool    `json:"internal_error"`
					} `json:"files"`
				}
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				if len(r.Files) != 3 || r.Files[0].Error != nil || !r.Files[1].Internal || r.Files[2].Internal || r.Files[2].Error == nil {
					t.Errorf("files %+v: want the good file clean, the crashing one internal, the missing one failed", r.Files)
				}
			case "sarif":
				if !strings.Contains(string(b), "internal error (a bug in nnlint") || !strings.Contains(string(b), `"executionSuccessful": false`) {
					t.Errorf("SARIF lacks the internal error notification:\n%s", b)
				}
			case "text":
				if !strings.Contains(string(b), bad+": internal error: internal error (a bug in nnlint") {
					t.Errorf("text report lacks the internal error:\n%s", b)
				}
			}
		})
	}
	// Without the crash the same run is an input error (exit 2), not 3.
	testHookLintFile = nil
	if code, _, _ := nnlint(t, good, bad, "nope.onnx"); code != cli.ExitUsage {
		t.Errorf("without a crash: exit %d, want %d", code, cli.ExitUsage)
	}
}

// Names from the file cannot inject terminal escapes or GitHub workflow
// commands into any human-readable output.
func TestOutputInjection(t *testing.T) {
	m, err := onnxio.ReadFile(faults + "dropout_high.onnx")
	if err != nil {
		t.Fatal(err)
	}
	const evil = "drop\x1b[2J\r\n::error file=x.py::pwned,50%\u202e"
	found := false
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Dropout" {
			n.Name = evil
			found = true
		}
	}
	if !found {
		t.Fatal("fixture has no Dropout")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "evil\x1b[31m\n::warning::name.onnx")
	if err := onnxio.WriteFile(path, m, nil); err != nil {
		t.Fatal(err)
	}
	// And a file that fails to load, whose error names an evil node.
	m.Graph.Nodes[0].Name = "n\n::error::x"
	m.Graph.Nodes[0].Outputs = append(m.Graph.Nodes[0].Outputs, m.Graph.Nodes[0].Outputs[0])
	broken := filepath.Join(dir, "broken.onnx")
	if err := onnxio.WriteFile(broken, m, nil); err != nil {
		t.Fatal(err)
	}
	ours := regexp.MustCompile(`^::(error|warning|notice) file=[^:,\r\n]*,title=[^:,\r\n]*::[^\r\n]*$|^::(group|endgroup)::`)
	for _, f := range []string{"text", "github"} {
		code, stdout, stderr := nnlint(t, "--format", f, "--probe=false", path, broken)
		if code == 0 {
			t.Errorf("%s: exit 0", f)
		}
		for _, s := range []string{stdout, stderr} {
			if strings.ContainsAny(s, "\x1b\r\u202e") {
				t.Errorf("%s: raw control character in output:\n%q", f, s)
			}
			for _, line := range strings.Split(s, "\n") {
				trimmed := strings.TrimLeft(line, " \t")
				if strings.HasPrefix(trimmed, "::") && (f != "github" || s == stderr || !ours.MatchString(line)) {
					t.Errorf("%s: injected workflow command line %q", f, line)
				}
			}
		}
		if f == "github" && !strings.Contains(stdout, `title=NN301 dropout-rate at drop\x1b[2J%0D%0A%3A%3Aerror file=x.py%3A%3Apwned%2C50%25\u202e::`) {
			t.Errorf("github: the node name is not escaped as expected:\n%s", stdout)
		}
		if f == "text" && !strings.Contains(stdout, `drop\x1b[2J\r\n::error file=x.py::pwned,50%\u202e [Dropout]`) {
			t.Errorf("text: the node name is not shown escaped:\n%s", stdout)
		}
	}
	// The summary table, cleaned a line at a time as it is written.
	code, stdout, stderr := nnlint(t, "summary", path, broken)
	if code != cli.ExitUsage || !strings.Contains(stdout, `drop\x1b[2J\r`) {
		t.Errorf("summary: exit %d (want 2 for the broken file), the evil name not shown escaped:\n%s", code, stdout)
	}
	for _, s := range []string{stdout, stderr} {
		if strings.ContainsAny(s, "\x1b\r\u202e") {
			t.Errorf("summary: raw control character in output:\n%q", s)
		}
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
				t.Errorf("summary: injected workflow command line %q", line)
			}
		}
	}
}

// A report that cannot be written is an error with a message, never a
// silent exit 0.
func TestReportWriteErrors(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("/dev/full: %v", err)
	}
	defer full.Close()
	for _, args := range [][]string{
		{zoo + "dropoutnet/train.onnx"},
		{"--format", "json", zoo + "dropoutnet/train.onnx"},
		{"rules"},
		{"explain", "NN101"},
		{"summary", zoo + "dropoutnet/train.onnx"},
	} {
		var errb strings.Builder
		code := run(args, full, &errb)
		if code != cli.ExitUsage || !strings.Contains(errb.String(), "no space left on device") {
			t.Errorf("%v to /dev/full: exit %d, stderr %q; want exit 2 naming the error", args, code, errb.String())
		}
	}
	code, _, stderr := nnlint(t, "-o", filepath.Join(t.TempDir(), "no", "such", "dir", "r.txt"), zoo+"dropoutnet/train.onnx")
	if code != cli.ExitUsage || !strings.Contains(stderr, "writing the report") {
		t.Errorf("-o into a missing directory: exit %d, stderr %q", code, stderr)
	}
}

// A tiny file declaring an input near 2^31 wide is linted without
// allocating it: the probe reports why it could not run, naming the input
// and the size.
func TestHugeInputDoesNotAllocate(t *testing.T) {
	g := ir.NewGraph("g")
	x := g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.SymDim("batch"), ir.DimOf(1<<31 - 1)}))
	g.AddOutput(g.AddNode("Relu", "r", []*ir.Value{x}, 1).Outputs[0])
	path := filepath.Join(t.TempDir(), "huge.onnx")
	if err := onnxio.WriteFile(path, &ir.Model{IRVersion: 8, Opsets: []ir.OpsetID{{Version: 13}}, Graph: g}, nil); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := nnlint(t, "--fail-on", "none", "--format", "json", path)
	input, why := "input x of shape [", "memory budget"
	if strconv.IntSize == 32 { // more elements than a 32-bit int counts in bytes
		input, why = "input x: shape [", "elements; the probe cannot synthesize it"
	}
	if code != cli.ExitOK || !strings.Contains(stdout, input) || !strings.Contains(stdout, why) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant the probe's refusal naming input x and the budget", code, stdout, stderr)
	}
}

// nnlint summary recovers a crash on one file the same way: exit 3, the
// other files' tables still printed.
func TestSummaryInternalError(t *testing.T) {
	good, bad := zoo+"dropoutnet/train.onnx", faults+"dropout_high.onnx"
	testHookLintFile = func(file string) {
		if file == bad {
			panic("summary boom")
		}
	}
	defer func() { testHookLintFile = nil }()
	code, stdout, stderr := nnlint(t, "summary", bad, good)
	if code != cli.ExitInternal || !strings.Contains(stderr, "internal error") || !strings.Contains(stderr, "summary boom") {
		t.Errorf("exit %d, stderr %q; want exit 3 reporting the crash", code, stderr)
	}
	if !strings.Contains(stdout, "Model: "+good) {
		t.Errorf("the good file's table is missing:\n%s", stdout)
	}
}
