package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train"
)

const bnMLP = "../../testdata/train/bn_mlp_digits.onnx" // BatchNorm + Dropout, digits input

// buildNntrain compiles this command into a temporary directory.
func buildNntrain(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nntrain")
	cmd := osexec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// logProgress reads a JSON-lines log: the last epoch summarized and the
// last epoch whose checkpoint was reported written.
func logProgress(t *testing.T, path string) (epoch, saved int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // the line being written when the process was killed
		}
		e, _ := m["epoch"].(float64)
		switch m["event"] {
		case nil:
			epoch = max(epoch, int(e))
		case "state_checkpoint":
			saved = max(saved, int(e))
		}
	}
	return epoch, saved
}

// TestKill9NeverCorrupts builds nntrain, runs it as a child process and
// kills it with SIGKILL at random moments (seeded) — while loading, in an
// epoch, while writing the checkpoint or the model — then resumes it with
// the same command line, again and again until a run completes. After
// every kill: the file at --out is the previous good model or a complete
// new one, the checkpoint is absent or whole (its checksum verifies) and
// never older than the last checkpoint the run reported written, and at
// most the epoch in progress is lost. Each completed chain of
// kills and resumes writes a model byte-identical to an uninterrupted
// run's.
func TestKill9NeverCorrupts(t *testing.T) {
	bin := buildNntrain(t)
	dir := t.TempDir()
	flags := func(out, ck, log string) []string {
		return []string{bnMLP, digits, "--epochs", "14", "--batch-size", "32", "--seed", "7",
			"--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--scheduler", "plateau", "--patience", "1", "--factor", "0.5",
			"--early-stopping", "3", "--min-delta", "0.02", "--checkpoint-every", "4",
			"--checkpoint-dir", ck, "--out", out, "--log", log, "--quiet"}
	}
	// The uninterrupted reference run.
	refOut := filepath.Join(dir, "ref.onnx")
	start := time.Now()
	if out, err := osexec.Command(bin, flags(refOut, filepath.Join(dir, "refck"), filepath.Join(dir, "ref.log"))...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	full := time.Since(start)
	want, err := os.ReadFile(refOut)
	if err != nil {
		t.Fatal(err)
	}
	refEpochs, _ := logProgress(t, filepath.Join(dir, "ref.log"))
	// The settings make early stopping end the run before --epochs, so that
	// kills also land after its decision: a resumed run must then only
	// restore the best weights and write them.
	if refEpochs >= 14 {
		t.Fatalf("early stopping did not end the reference run (%d epochs)", refEpochs)
	}

	rng := rand.New(rand.NewPCG(14, 2026))
	source, err := os.ReadFile(bnMLP)
	if err != nil {
		t.Fatal(err)
	}
	var kills, midCheckpoint, midModel, chains, attempts int
	// At least three chains and 20 kills however slow the machine is (a
	// loaded machine once gave only 15 in a fixed 12 s window); up to 25
	// kills while the 12 s last. "no chain completes" above bounds the loop.
	budget := time.Now().Add(12 * time.Second)
	for chains < 3 || kills < 20 || (kills < 25 && time.Now().Before(budget)) {
		chains++
		cdir := filepath.Join(dir, "chain"+strconv.Itoa(chains))
		os.Mkdir(cdir, 0o755)
		out, ck := filepath.Join(cdir, "out.onnx"), filepath.Join(cdir, "ck")
		// A previous good model at --out, which no kill may destroy.
		if err := os.WriteFile(out, source, 0o644); err != nil {
			t.Fatal(err)
		}
		good := source
		lastCk := 0
		// Kills land within the first quarter of a full run, so chains need
		// several attempts, each killed at a different point. A run slowed
		// down by a loaded machine may be killed before it checkpoints
		// anything; each attempt that makes no progress widens the window by
		// half, so every chain completes however slow the machine is.
		window := float64(full) / 4
		for {
			attempts++
			if attempts > 400 {
				t.Fatal("no chain completes")
			}
			log := filepath.Join(cdir, "log"+strconv.Itoa(attempts))
			cmd := osexec.Command(bin, append(flags(out, ck, log), "--resume")...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			delay := time.Duration(rng.Float64() * window)
			finished := false
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("chain %d attempt %d: %v\n%s", chains, attempts, err, stderr.String())
				}
				finished = true
			case <-time.After(delay):
				cmd.Process.Kill() // SIGKILL
				if err := <-done; err == nil {
					finished = true // it completed just before the kill
				} else {
					kills++
				}
			}
			// The model at --out: the previous good one or a complete new one.
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("after kill %d: --out is gone: %v", kills, err)
			}
			if !bytes.Equal(b, good) {
				m, err := onnxio.ReadFile(out)
				if err != nil {
					t.Fatalf("after kill %d: --out is not a complete model: %v", kills, err)
				}
				if m.Graph.Initializer("fc2.weight") == nil {
					t.Fatalf("after kill %d: --out lacks the model's weights", kills)
				}
				good = b
			}
			if tmp, _ := filepath.Glob(filepath.Join(cdir, ".out.onnx.tmp*")); len(tmp) > 0 {
				midModel++
				for _, f := range tmp {
					os.Remove(f)
				}
			}
			// The checkpoint: absent or whole, never going back.
			if tmp, _ := filepath.Glob(filepath.Join(ck, "."+checkpointName+".tmp*")); len(tmp) > 0 {
				midCheckpoint++
			}
			epoch, saved := logProgress(t, log)
			prevCk := lastCk
			cb, err := os.ReadFile(filepath.Join(ck, checkpointName))
			switch {
			case errors.Is(err, os.ErrNotExist):
				if saved > 0 || lastCk > 0 {
					t.Fatalf("after kill %d: the checkpoint of epoch %d vanished", kills, max(saved, lastCk))
				}
			case err != nil:
				t.Fatal(err)
			default:
				st, err := train.DecodeState(cb)
				if err != nil {
					t.Fatalf("after kill %d: damaged checkpoint: %v", kills, err)
				}
				if st.Epoch < lastCk || st.Epoch < saved {
					t.Fatalf("after kill %d: checkpoint at epoch %d, but epoch %d was saved before", kills, st.Epoch, max(lastCk, saved))
				}
				// At most the epoch in progress is lost: every epoch the run
				// summarized is in the checkpoint, except the last when the
				// kill came between its summary and its checkpoint.
				if st.Epoch < epoch-1 {
					t.Fatalf("after kill %d: the run had finished epoch %d, the checkpoint holds epoch %d", kills, epoch, st.Epoch)
				}
				lastCk = st.Epoch
			}
			if lastCk > prevCk {
				window = float64(full) / 4
			} else {
				window *= 1.5
			}
			if finished {
				break
			}
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Fatalf("chain %d: the model written after kills and resumes differs from the uninterrupted run's", chains)
		}
	}
	t.Logf("uninterrupted run: %d epochs (early stopping) in %v; %d chains, %d attempts, %d SIGKILLs (%d while writing the checkpoint, %d while writing the model); every chain's model byte-identical to the uninterrupted run's",
		refEpochs, full.Round(time.Millisecond), chains, attempts, kills, midCheckpoint, midModel)
}
