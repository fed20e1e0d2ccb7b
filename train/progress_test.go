package train

import (
	"bytes"
	"strings"
	"testing"
)

// The live line: batch i/N, running loss, samples per second and the
// epoch's time left, computed from the steps so far, and cut to the
// terminal's width.
func TestProgressLine(t *testing.T) {
	p := &Progress{epochs: 12, lossSum: 2 * 64 * 0.5, seen: 2 * 64}
	s := &StepStats{Epoch: 3, Step: 2, Steps: 10}
	// 128 samples in 0.5 s: 256 samples/s; 8 steps left at 0.25 s each: 2 s.
	got := p.line(s, 0.5)
	want := "epoch  3/12 [====>               ] 2/10  loss 0.5000  256 samples/s  ETA 2.0s"
	if got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	p.Width = 40
	if got := p.line(s, 0.5); got != want[:39] {
		t.Errorf("width 40: %q", got)
	}
	p.Width, p.seen, p.lossSum = 0, 50000, 50000
	if got := p.line(s, 2); !strings.Contains(got, "25k samples/s") {
		t.Errorf("rate: %q", got)
	}
}

// Off a terminal the output has the summary lines only: no carriage
// returns, no escape sequences, no live line.
func TestProgressOffTerminal(t *testing.T) {
	l, _ := newLoop(t, 2)
	var out bytes.Buffer
	l.Hooks = []Hook{NewProgress(&out, false)}
	if _, err := l.Run(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\r\x1b") || strings.Contains(s, "samples/s") || strings.Count(s, "\n") != 3 {
		t.Fatalf("piped output: %q", s)
	}
}
