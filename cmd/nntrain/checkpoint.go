package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/internal/safefile"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
)

// checkpointName is the file kept in --checkpoint-dir.
const checkpointName = "nntrain.ckpt"

// checkpointFlags: --checkpoint-dir and --resume.
type checkpointFlags struct {
	dir    string
	resume bool

	path  string
	state *train.TrainState // loaded for --resume (nil: start afresh)
}

func (f *checkpointFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "checkpoint-dir", "", "after every epoch, keep the complete training state (weights, BatchNorm statistics, optimizer moments, schedule, early stopping, random state) in `DIR`/"+checkpointName+", written atomically")
	fs.BoolVar(&f.resume, "resume", false, "continue from the checkpoint in --checkpoint-dir (starts afresh when there is none yet); needs the same model, data and settings, --epochs may grow")
}

// notResumeSettings are the flags that may change between a run and its
// resumption: where things are written, how long to train, how to report.
var notResumeSettings = []string{"out", "log", "epochs", "checkpoint-dir", "resume", "quiet", "threads", "plot", "keep-training-graph",
	"checkpoint-every", "lr-find", "lr-find-start", "lr-find-end", "lr-find-steps"}

// settings describes what a checkpoint must agree with to be resumed:
// every flag that changes the trajectory, the resolved schedule length and
// the data.
func (f *checkpointFlags) settings(c *trainCmd, d *data.Data) map[string]string {
	s := map[string]string{}
	c.fs.VisitAll(func(fl *flag.Flag) {
		if !slices.Contains(notResumeSettings, fl.Name) {
			s["--"+fl.Name] = fl.Value.String()
		}
	})
	s["cosine T_max"] = strconv.Itoa(c.sched.TMax)
	s["training data"] = setFingerprint(d.Train)
	s["validation data"] = setFingerprint(d.Val)
	return s
}

// setFingerprint is the size and a CRC-32 of a data set's samples and
// targets.
func setFingerprint(s *data.Set) string {
	if s == nil {
		return "none"
	}
	h := crc32.NewIEEE()
	var b [8]byte
	for _, x := range s.X {
		u := math.Float32bits(x)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:4])
	}
	for _, y := range s.Labels {
		for i := range 8 {
			b[i] = byte(uint64(y) >> (8 * i))
		}
		h.Write(b[:])
	}
	for _, x := range s.Targets {
		u := math.Float32bits(x)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:4])
	}
	return fmt.Sprintf("%d samples, crc32 %08x", s.N, h.Sum32())
}

// prepare checks the flags, creates the directory and loads the
// checkpoint for --resume.
func (f *checkpointFlags) prepare(c *trainCmd, d *data.Data, human io.Writer) error {
	if f.resume && f.dir == "" {
		return cli.Usagef("--resume needs --checkpoint-dir DIR (where the checkpoint is)")
	}
	if f.dir == "" {
		return nil
	}
	if c.lrFind {
		return cli.Usagef("--checkpoint-dir and --resume do not apply to --lr-find")
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return cli.Usagef("--checkpoint-dir: %w", err)
	}
	f.path = filepath.Join(f.dir, checkpointName)
	if !f.resume {
		return nil
	}
	b, err := safefile.ReadFile(f.path, 0) // a FIFO is refused, not waited on
	if errors.Is(err, fs.ErrNotExist) {
		if !c.quiet {
			fmt.Fprintf(human, "no checkpoint in %s yet: starting from epoch 1\n", f.dir)
		}
		return nil
	}
	if err != nil {
		return cli.Usagef("--resume: %w", err)
	}
	st, err := train.DecodeState(b)
	if err != nil {
		return cli.Usagef("--resume: %s: %w", f.path, withFlags(err))
	}
	if diff := train.SettingsDiff(st.Settings, f.settings(c, d)); len(diff) > 0 {
		return cli.Usagef("--resume: %s was written with other settings; resume with the same ones (or start afresh without --resume):\n  %s",
			f.path, joinLines(diff))
	}
	f.state = st
	return nil
}

func joinLines(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "\n  "
		}
		out += x
	}
	return out
}

// hooks returns the hook that resumes (nil without --resume or without
// a checkpoint yet), to run first, and the one that saves, to run after
// early stopping.
func (f *checkpointFlags) hooks(c *trainCmd, d *data.Data, es *train.EarlyStopping) (resume, save train.Hook) {
	if f.dir == "" {
		return nil, nil
	}
	if f.state != nil {
		resume = &train.Resume{State: f.state, ES: es}
	}
	save = &train.SaveState{ES: es, Settings: f.settings(c, d), Save: func(st *train.TrainState) (string, error) {
		return f.path, writeAtomic(f.path, st.Encode)
	}}
	return resume, save
}

// writeAtomic writes path through a temporary file in the same directory
// (internal/safefile: written, fsynced, renamed over path; temporaries a
// killed run left are cleaned up), then fsyncs the directory, so that at
// any moment — a crash, kill -9, power loss — path holds either its old or
// its new contents, whole.
func writeAtomic(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	t, err := safefile.Resolve(path)
	if err != nil {
		return err
	}
	if err := safefile.WriteAtomic(path, b.Bytes()); err != nil {
		return err
	}
	if t.Direct {
		return nil
	}
	return syncDir(filepath.Dir(t.Path))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openRunLog opens --log: with --resume a regular file is appended to, so
// that the log of a run resumed with the same command line holds the
// whole run (the "resumed" event marks where it continued); otherwise as
// openLog does.
func openRunLog(path string, resume bool) (io.WriteCloser, error) {
	if st, err := os.Stat(path); resume && err == nil && st.Mode().IsRegular() {
		return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	return openLog(path)
}
