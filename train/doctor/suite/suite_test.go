package suite

import (
	"bufio"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
)

func env(t testing.TB) Env {
	d, err := data.Load("../../../testdata/data/digits", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return Env{Data: d, Load: func(name string) (*ir.Model, error) {
		return onnxio.ReadFile("../../../testdata/models/" + name + "/train.onnx")
	}}
}

// TestDetection: every seeded faulty run of the short suite gets its
// diagnosis, every healthy run none; each diagnosis is one well-formed
// JSON line, printed on the console, with evidence and a setting to change.
func TestDetection(t *testing.T) {
	e := env(t)
	covered := map[doctor.Kind]bool{}
	for _, c := range Select(false) {
		t.Run(c.Name, func(t *testing.T) {
			o, err := Run(c, e, doctor.Warn)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Expect) == 0 {
				if len(o.Kinds) > 0 {
					t.Fatalf("healthy run diagnosed %v:\n%s", o.Kinds, o.Console)
				}
				if strings.Contains(o.Console, "doctor") || strings.Contains(o.Log, "diagnosis") {
					t.Fatalf("healthy run not silent:\n%s", o.Console)
				}
				return
			}
			if !o.Detected() {
				t.Fatalf("expected %v, diagnosed %v:\n%s", c.Expect, o.Kinds, o.Console)
			}
			for _, k := range o.Kinds {
				covered[k] = true
			}
			checkLog(t, o)
		})
	}
	for _, v := range doctor.Vocabulary {
		if !covered[v.Kind] {
			t.Errorf("no seeded run of the short suite is diagnosed %s", v.Kind)
		}
	}
}

func checkLog(t *testing.T, o Outcome) {
	t.Helper()
	var kinds []doctor.Kind
	sc := bufio.NewScanner(strings.NewReader(o.Log))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["event"] != "diagnosis" {
			continue
		}
		for _, f := range []string{"kind", "epoch", "step", "layer", "evidence", "fix", "message"} {
			if _, ok := m[f]; !ok {
				t.Errorf("diagnosis line without %q: %s", f, sc.Text())
			}
		}
		ev, _ := m["evidence"].(map[string]any)
		if len(ev) == 0 {
			t.Errorf("diagnosis without evidence: %s", sc.Text())
		}
		// The advice names a setting to change (as a flag in nntrain's
		// words: cmd/nntrain TestDoctorAdviceNamesFlags).
		fix, _ := m["fix"].(string)
		i := slices.IndexFunc(o.Diagnoses, func(d doctor.Diagnosis) bool { return string(d.Kind) == m["kind"] })
		if i < 0 || fix != o.Diagnoses[i].Fix || fix != o.Diagnoses[i].Advice.String() ||
			!slices.ContainsFunc(o.Diagnoses[i].Advice, func(p train.Part) bool { return p.Setting != "" }) {
			t.Errorf("fix %q names no setting", fix)
		}
		msg, _ := m["message"].(string)
		if !strings.Contains(o.Console, msg) {
			t.Errorf("diagnosis not printed on the console: %q", msg)
		}
		k := doctor.Kind(m["kind"].(string))
		if slices.Contains(kinds, k) {
			t.Errorf("%s logged twice", k)
		}
		kinds = append(kinds, k)
	}
	if !slices.Equal(kinds, o.Kinds) {
		t.Errorf("logged kinds %v, diagnosed %v", kinds, o.Kinds)
	}
	if !strings.Contains(o.Console, "doctor: ") || !strings.Contains(o.Console, "kind") {
		t.Errorf("no summary table:\n%s", o.Console)
	}
}

// TestOff: --doctor off says nothing, even on a broken run.
func TestOff(t *testing.T) {
	c := Cases[slices.IndexFunc(Cases, func(c Case) bool { return c.Name == "lr-too-high/adam-lr-0.5" })]
	o, err := Run(c, env(t), doctor.Off)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Kinds) > 0 || strings.Contains(o.Log, "diagnosis") || strings.Contains(o.Console, "doctor") {
		t.Fatalf("doctor off spoke: %v\n%s", o.Kinds, o.Console)
	}
}

// TestRepair: fix mode brings the repairable seeded runs of the short
// suite to within 5 points of validation accuracy of their healthy
// baseline, logs each repair as a JSON line, and names the flags that make
// the repairs permanent.
func TestRepair(t *testing.T) {
	e := env(t)
	baseline := map[string]float64{}
	for _, c := range Cases {
		if !c.Repair || c.Long || c.NoRepairTest {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			b, ok := baseline[c.Baseline]
			if !ok {
				bc := Cases[slices.IndexFunc(Cases, func(x Case) bool { return x.Name == c.Baseline })]
				o, err := Run(bc, e, doctor.Warn)
				if err != nil || o.Err != nil {
					t.Fatal(err, o.Err)
				}
				b, baseline[c.Baseline] = o.ValAcc, o.ValAcc
			}
			o, err := Run(c, e, doctor.Fix)
			if err != nil {
				t.Fatal(err)
			}
			if o.Err != nil || len(o.Repairs) == 0 {
				t.Fatalf("error %v, repairs %v:\n%s", o.Err, o.Repairs, o.Console)
			}
			// 5 points: the issue's "within a few points of the healthy
			// baseline" on a 360-sample validation set (1 sample = 0.28).
			if o.ValAcc < b-0.05 {
				t.Errorf("repaired val_acc %.3f, baseline %s %.3f:\n%s", o.ValAcc, c.Baseline, b, o.Console)
			}
			if n := strings.Count(o.Log, `"event":"repair"`); n != len(o.Repairs) {
				t.Errorf("%d repair lines for %d repairs", n, len(o.Repairs))
			}
			if o.Permanent != "" && !strings.Contains(o.Console, "train with: "+o.Permanent) {
				t.Errorf("summary does not give the settings %q:\n%s", o.Permanent, o.Console)
			}
		})
	}
}
