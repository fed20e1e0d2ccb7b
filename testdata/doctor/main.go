// Command doctor runs the training doctor's long suite and prints the
// detection matrix (expected against diagnosed kind), the false alarms on
// healthy runs, the repair results of fix mode against each run's healthy
// baseline, and the doctor's overhead on the training step time.
//
//	go run ./testdata/doctor            # from the repository root
//	go run ./testdata/doctor -overhead=false -rounds 5
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
	"github.com/nnkit/nnkit/train/doctor/suite"
)

func main() {
	root := flag.String("root", ".", "repository root")
	overhead := flag.Bool("overhead", true, "measure the doctor's overhead on step time")
	rounds := flag.Int("rounds", 15, "overhead: blocks of 20 steps")
	flag.Parse()
	if err := run(*root, *overhead, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "doctor bench:", err)
		os.Exit(1)
	}
}

func run(root string, overhead bool, rounds int) error {
	d, err := data.Load(root+"/testdata/data/digits", data.Options{})
	if err != nil {
		return err
	}
	load := func(name string) (*ir.Model, error) {
		return onnxio.ReadFile(root + "/testdata/models/" + name + "/train.onnx")
	}
	env := suite.Env{Data: d, Load: load}

	fmt.Println("== detection matrix (warn mode, long suite, digits data)")
	var outs []suite.Outcome
	byName := map[string]suite.Outcome{}
	for _, c := range suite.Select(true) {
		o, err := suite.Run(c, env, doctor.Warn)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		outs = append(outs, o)
		byName[c.Name] = o
	}
	det, faulty, fa, healthy := suite.Matrix(os.Stdout, outs)
	fmt.Printf("\ndetected %d/%d faulty runs; false alarms %d/%d healthy runs\n", det, faulty, fa, healthy)

	// Per kind: how many runs expecting it got it, and how often it was
	// diagnosed in runs that did not expect it (secondary findings).
	fmt.Println("\nper kind: expected runs detected / secondary diagnoses in other faulty runs")
	for _, v := range doctor.Vocabulary {
		exp, got, extra := 0, 0, 0
		for _, o := range outs {
			e := slices.Contains(o.Case.Expect, v.Kind)
			h := slices.Contains(o.Kinds, v.Kind)
			switch {
			case e:
				exp++
				if h {
					got++
				}
			case h:
				extra++
			}
		}
		fmt.Printf("  %-22s %d/%d  %d\n", v.Kind, got, exp, extra)
	}

	fmt.Println("\n== the published criteria as they are (initial loss as reference, AUTOTRAINER's oscillation count")
	fmt.Println("   without a trend test, underfitting from epoch 4, no finding suppressed by its cause)")
	var pub []suite.Outcome
	for _, c := range suite.Select(true) {
		o, err := suite.RunConfig(c, env, doctor.Config{Mode: doctor.Warn, Published: true})
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		pub = append(pub, o)
	}
	pdet, _, pfa, _ := suite.Matrix(os.Stdout, pub)
	fmt.Printf("\npublished criteria: detected %d/%d faulty runs, false alarms %d/%d healthy runs, %d secondary diagnoses (ours: %d/%d, %d/%d, %d)\n",
		pdet, faulty, pfa, healthy, secondary(pub), det, faulty, fa, healthy, secondary(outs))

	fmt.Println("\n== repairs (fix mode) against the healthy baseline (final validation accuracy)")
	fmt.Printf("%-44s %-9s %-9s %-34s %-9s %s\n", "run", "warn", "fix", "baseline", "baseline", "settings to make it permanent")
	repaired, tried := 0, 0
	for _, c := range suite.Cases {
		if !c.Repair {
			continue
		}
		o, err := suite.Run(c, env, doctor.Fix)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		b, ok := byName[c.Baseline]
		if !ok {
			return fmt.Errorf("%s: no baseline %s", c.Name, c.Baseline)
		}
		tried++
		verdict := ""
		if o.Err == nil && o.ValAcc >= b.ValAcc-0.05 {
			repaired++
			verdict = " (repaired)"
		}
		fmt.Printf("%-44s %-9s %-9s %-34s %-9s %s%s\n", c.Name, acc(byName[c.Name]), acc(o), c.Baseline, acc(b), o.Permanent, verdict)
	}
	fmt.Printf("\nrepaired %d/%d (within 5 points of the baseline's validation accuracy)\n", repaired, tried)

	if !overhead {
		return nil
	}
	fmt.Println("\n== doctor overhead on the training step (batch 64, Adam, 1 thread, warn mode)")
	fmt.Println("   step and doctor time measured inside the same steps; median share over blocks of 20 steps")
	fmt.Printf("%-18s %12s %12s %9s\n", "model", "step", "doctor", "overhead")
	for _, m := range suite.OverheadModels {
		model, err := load(m.Name)
		if err != nil {
			return err
		}
		step, doc, share, err := suite.Overhead(model, m.Shape, rounds, 20)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		fmt.Printf("%-18s %12v %12v %8.2f%%\n", m.Name, step.Round(time.Microsecond/10), doc.Round(time.Microsecond/10), 100*share)
	}
	return nil
}

// secondary counts diagnoses of faulty runs other than the expected kinds.
func secondary(outs []suite.Outcome) int {
	n := 0
	for _, o := range outs {
		if len(o.Case.Expect) == 0 {
			continue
		}
		for _, k := range o.Kinds {
			if !slices.Contains(o.Case.Expect, k) {
				n++
			}
		}
	}
	return n
}

func acc(o suite.Outcome) string {
	if o.Err != nil || math.IsNaN(o.ValAcc) {
		return "failed"
	}
	return fmt.Sprintf("%.3f", o.ValAcc)
}
