package onnxio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nnkit/nnkit/ir"
)

// Point 7 of issue 9: a FIFO given as the model or as its external data
// is refused without blocking.
func TestFIFOModelAndExternalData(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "m.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	model := externalModel(t, t.TempDir(), "w.bin")
	ext := filepath.Join(filepath.Dir(model), "w.bin")
	os.Remove(ext)
	syscall.Mkfifo(ext, 0o644)
	for _, c := range []struct{ path, want string }{
		{fifo, "m.onnx: is a named pipe (FIFO), not a model file"},
		{model, `tensor "fc.weight": external data "w.bin" is a named pipe (FIFO), not a regular file`},
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(c.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.path, err, c.want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("ReadFile(%s) blocked", c.path)
		}
	}
}

// Point 10: WriteFile never replaces a side file the model was read from
// or that the model being replaced refers to; an explicit location that
// would is an error.
func TestWriteFileProtectsSourceData(t *testing.T) {
	dir := t.TempDir()
	src, err := ReadFile("../testdata/models/small_cnn/train.onnx")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "m.onnx")
	if err := WriteFile(p, src, &WriteOptions{External: ExternalAll}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Rewriting in place goes to m.onnx.1.data, then back to m.onnx.data
	// (by then referenced by nothing), and so on.
	for i, want := range []string{"m.onnx.1.data", "m.onnx.data", "m.onnx.1.data"} {
		before := map[string][]byte{}
		for _, f := range []string{"m.onnx.data", "m.onnx.1.data"} {
			before[f], _ = os.ReadFile(filepath.Join(dir, f))
		}
		if err := WriteFile(p, m, nil); err != nil {
			t.Fatal(err)
		}
		got := mustRead(t, p)
		for _, v := range got.Graph.Initializers {
			if x := v.Init.External; x != nil && x.Location != want {
				t.Fatalf("write %d: %s in %s, want %s", i, v.Name, x.Location, want)
			}
		}
		for f, b := range before {
			if f != want {
				if now, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(now, b) {
					t.Fatalf("write %d changed %s, which the model read", i, f)
				}
			}
		}
		m = got
	}
	if err := WriteFile(p, m, &WriteOptions{External: ExternalAll, Location: "m.onnx.1.data"}); err == nil || !strings.Contains(err.Error(), "names a file the model was read from") {
		t.Fatalf("explicit location over the source data: %v", err)
	}
	// A model written to a device is written inline, the device kept.
	if err := WriteFile("/dev/null", m, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat("/dev/null"); st.Mode()&os.ModeCharDevice == 0 {
		t.Fatal("/dev/null replaced")
	}
	if err := WriteFile("/dev/null", m, &WriteOptions{External: ExternalAll}); err == nil {
		t.Fatal("external data next to a device accepted")
	}
}

func mustRead(t *testing.T, p string) *ir.Model {
	t.Helper()
	m, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
