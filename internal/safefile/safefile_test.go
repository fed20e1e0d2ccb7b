package safefile

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO, a directory or a device where a file is expected is refused at
// once; a symbolic link to a regular file is followed.
func TestOpenRefusesNonRegularWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.onnx")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := Open(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		var nr *NotRegularError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), "named pipe (FIFO)") {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
	for _, p := range []string{dir, "/dev/null"} {
		if _, _, err := Open(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v", p, err)
		}
	}
	real := filepath.Join(dir, "real.csv")
	os.WriteFile(real, []byte("a,b\n"), 0o644)
	link := filepath.Join(dir, "link.csv")
	os.Symlink(real, link)
	b, err := ReadFile(link, 0)
	if err != nil || string(b) != "a,b\n" {
		t.Fatalf("symlink: %q %v", b, err)
	}
	if _, err := ReadFile(real, 2); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Fatalf("limit: %v", err)
	}
}

// Devices and pipes are written directly, never replaced by a regular file;
// directories are refused.
func TestWriteToDevicesAndPipes(t *testing.T) {
	if err := WriteAtomic("/dev/null", []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat("/dev/null")
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	dir := t.TempDir()
	if err := WriteAtomic(dir, []byte("x")); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Fatalf("directory: %v", err)
	}
	fifo := filepath.Join(dir, "out.npy")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// No reader: an error, not a hang.
	if err := WriteAtomic(fifo, []byte("x")); err == nil || !strings.Contains(err.Error(), "no process is reading") {
		t.Fatalf("FIFO without reader: %v", err)
	}
	got := make(chan string, 1)
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, 16)
		var s []byte
		for len(s) < 5 {
			n, err := r.Read(b)
			s = append(s, b[:n]...)
			if err != nil && n == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		got <- string(s)
	}()
	if err := WriteAtomic(fifo, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("pipe got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived through the pipe")
	}
	r.Close()
	if st, _ := os.Lstat(fifo); st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatal("the FIFO was replaced")
	}
	var tx Tx
	if err := tx.Add(filepath.Join(dir, "a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Add("/dev/null", []byte("2")); err == nil {
		t.Fatal("a device as the second file of a transaction was accepted")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("aborted transaction left %d entries", len(ents))
	}
}

// A symbolic link to a regular file keeps pointing at it: the file it
// names is replaced, not the link.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.onnx")
	os.WriteFile(real, []byte("old"), 0o600)
	link := filepath.Join(dir, "link.onnx")
	os.Symlink("real.onnx", link)
	if err := WriteAtomic(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Lstat(link)
	b, _ := os.ReadFile(real)
	if st.Mode()&os.ModeSymlink == 0 || string(b) != "new" {
		t.Fatalf("link mode %v, real %q", st.Mode(), b)
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o600 {
		t.Fatalf("permissions %v, want the replaced file's 0600", st.Mode().Perm())
	}
	os.Symlink("missing", filepath.Join(dir, "dangling"))
	if err := WriteAtomic(filepath.Join(dir, "dangling"), nil); err == nil {
		t.Fatal("dangling symlink accepted")
	}
}

// Temporaries a killed writer left (unlocked) are removed by the next
// successful write of the same target; a live writer's (locked) temporary,
// other targets' temporaries and look-alike names are kept.
func TestStaleTemporariesCleaned(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "m.onnx")
	stale := filepath.Join(dir, ".m.onnx.tmp12345")
	other := filepath.Join(dir, ".n.onnx.tmp777")
	alike := filepath.Join(dir, ".m.onnx.tmp12x")
	for _, p := range []string{stale, other, alike} {
		os.WriteFile(p, []byte("junk"), 0o644)
	}
	live, err := createTemp(target) // a concurrent writer, still writing
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := WriteAtomic(target, []byte("model")); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(stale) {
		t.Error("stale temporary was not removed")
	}
	if !exists(live.Name()) {
		t.Error("a live writer's temporary was removed")
	}
	if !exists(other) || !exists(alike) {
		t.Error("a temporary of another target or a look-alike name was removed")
	}
}

// TestMain lets the test binary play a writer that is killed mid-write.
func TestMain(m *testing.M) {
	if target := os.Getenv("SAFEFILE_KILLED_WRITER"); target != "" {
		f, err := createTemp(target)
		if err != nil {
			os.Exit(3)
		}
		f.Write([]byte("half a model"))
		os.Stdout.WriteString(f.Name() + "\n")
		time.Sleep(time.Hour) // killed with SIGKILL by the test
	}
	os.Exit(m.Run())
}

// A writer killed with SIGKILL mid-write leaves its temporary behind; the
// next successful write of the same target removes it (the kernel dropped
// the dead writer's lock). While the writer lives, its temporary is kept.
func TestKilledWriterTemporaryCleaned(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "model.onnx")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SAFEFILE_KILLED_WRITER="+target)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	tmp := strings.TrimSpace(line)
	if err := WriteAtomic(target, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("a live writer's temporary was removed: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("the killed writer left no temporary (test setup): %v", err)
	}
	if err := WriteAtomic(target, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Fatal("the killed writer's temporary survived the next write")
	}
	if b, _ := os.ReadFile(target); string(b) != "v2" {
		t.Fatalf("target holds %q", b)
	}
}
