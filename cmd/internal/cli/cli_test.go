package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	cases := []struct {
		args    []string
		pos     []string
		epochs  int
		shuffle bool
		fmt     string
	}{
		{[]string{"model.onnx", "data/", "--epochs", "3"}, []string{"model.onnx", "data/"}, 3, true, "text"},
		{[]string{"--epochs=5", "model.onnx", "--shuffle=false", "data/"}, []string{"model.onnx", "data/"}, 5, false, "text"},
		{[]string{"-format", "json", "a.onnx", "b.onnx"}, []string{"a.onnx", "b.onnx"}, 1, true, "json"},
		{[]string{"a.onnx", "--shuffle", "--", "--weird.onnx"}, []string{"a.onnx", "--weird.onnx"}, 1, true, "text"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		epochs := fs.Int("epochs", 1, "")
		shuffle := fs.Bool("shuffle", true, "")
		format := fs.String("format", "text", "")
		pos, err := Parse(fs, c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !reflect.DeepEqual(pos, c.pos) || *epochs != c.epochs || *shuffle != c.shuffle || *format != c.fmt {
			t.Errorf("%v: got pos=%v epochs=%d shuffle=%v format=%s", c.args, pos, *epochs, *shuffle, *format)
		}
	}
}

func TestParseUnknownFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"model.onnx", "--nope"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "512M": 512 << 20, "8G": 8 << 30, "8GB": 8 << 30, "8GiB": 8 << 30, "1t": 1 << 40, " 2k ": 2048} {
		if got, err := ParseBytes(in, "X"); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "lots", "1.5G", "9999999999T", "G"} {
		if _, err := ParseBytes(in, "NNKIT_MAX_MEMORY"); err == nil || !strings.Contains(err.Error(), "NNKIT_MAX_MEMORY") {
			t.Errorf("ParseBytes(%q): %v, want an error naming the variable", in, err)
		}
	}
}

// Exit codes follow the error's type, through any %w wrapping, and Report
// prints each message once.
func TestExitCodeAndReport(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, helpErr := Parse(fs, []string{"-h"})
	_, flagErr := Parse(fs, []string{"--nope"})
	base := errors.New("disk full")
	cases := []struct {
		err   error
		code  int
		print string
	}{
		{nil, ExitOK, ""},
		{helpErr, ExitOK, ""},
		{flagErr, ExitUsage, ""}, // the flag package printed it
		{Usagef("--epochs must be ≥ 1"), ExitUsage, "x: --epochs must be ≥ 1\n"},
		{fmt.Errorf("reading: %w", Usage(base)), ExitUsage, "x: reading: disk full\n"},
		{Usage(Code(3)), 3, ""},
		{base, ExitFindings, "x: disk full\n"},
		{fmt.Errorf("training diverged: %w", base), ExitFindings, "x: training diverged: disk full\n"},
		{Code(130), 130, ""},
		{Code(ExitFindings), ExitFindings, ""},
	}
	for _, c := range cases {
		var b strings.Builder
		if code := (Reporter{W: &b, Prefix: "x"}).Report(c.err); code != c.code || b.String() != c.print {
			t.Errorf("%v: exit %d, printed %q; want %d, %q", c.err, code, b.String(), c.code, c.print)
		}
	}
	if !IsUsage(fmt.Errorf("wrapped: %w", Usagef("bad %w", base))) || !errors.Is(Usagef("bad %w", base), base) {
		t.Error("a wrapped UsageError is not found, or does not unwrap to its cause")
	}
	var b strings.Builder
	(Reporter{W: &b, Prefix: "x", Clean: strings.ToUpper}).Report(base)
	if b.String() != "x: DISK FULL\n" {
		t.Errorf("Clean not applied: %q", b.String())
	}
}
