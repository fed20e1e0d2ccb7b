package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/internal/ptytest"
)

// nntrain draws the live progress line when its stdout is a terminal, and
// writes nothing of it to a pipe or with --quiet.
func TestProgressLineOnlyOnTTY(t *testing.T) {
	t.Setenv("TERM", "xterm")
	out := filepath.Join(t.TempDir(), "o.onnx")
	args := []string{mlp, digits, "--epochs", "2", "--out", out}

	// stdout a terminal.
	master, slave := ptytest.Open(t)
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&screen, master); close(done) }() // ends with EIO once the slave is closed
	var stderr bytes.Buffer
	code := run(args, slave, &stderr)
	slave.Close()
	<-done
	master.Close()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	s := screen.String()
	if !strings.Contains(s, "\r\x1b[Kepoch 1/2 [") || !strings.Contains(s, "samples/s  ETA") || !strings.Contains(s, "epoch 2/2  train_loss") {
		t.Errorf("terminal: no live line:\n%q", s)
	}

	// stdout a pipe, and a terminal with --quiet.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var piped bytes.Buffer
	done = make(chan struct{})
	go func() { io.Copy(&piped, r); close(done) }()
	code = run(args, w, &stderr)
	w.Close()
	<-done
	if code != 0 || strings.ContainsAny(piped.String(), "\r\x1b") || strings.Contains(piped.String(), "samples/s") || !strings.Contains(piped.String(), "epoch 2/2  train_loss") {
		t.Errorf("pipe: exit %d:\n%q", code, piped.String())
	}
	master, slave = ptytest.Open(t)
	screen.Reset()
	done = make(chan struct{})
	go func() { io.Copy(&screen, master); close(done) }()
	code = run(append(args, "--quiet"), slave, &stderr)
	slave.Close()
	<-done
	master.Close()
	// (A terminal turns "\n" into "\r\n": look for the erase sequence and
	// the line's contents instead of carriage returns.)
	if q := screen.String(); code != 0 || strings.Contains(q, "\x1b[K") || strings.Contains(q, "samples/s") || strings.Contains(q, "epoch 1/2") {
		t.Errorf("--quiet on a terminal:\n%q", q)
	}
}
