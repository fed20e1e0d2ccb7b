package doctor

import (
	"strings"
	"testing"
)

// TestVocabulary: every kind is documented once, with a signal and a fix.
func TestVocabulary(t *testing.T) {
	all := []Kind{NaNLoss, ExplodingGradients, VanishingGradients, DyingReLU, SaturatedActivations, OscillatingLoss,
		SlowConvergence, Overfitting, Underfitting, LRTooHigh, LRTooLow}
	if len(Vocabulary) != len(all) {
		t.Fatalf("%d kinds documented, %d defined", len(Vocabulary), len(all))
	}
	for _, k := range all {
		d, ok := Doc(k)
		if !ok || d.Title == "" || d.Signal == "" || !strings.Contains(d.Fix, "fix:") {
			t.Errorf("%s: incomplete documentation %+v", k, d)
		}
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"off": Off, "warn": Warn, "fix": Fix, "FIX": Fix} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("repair"); err == nil {
		t.Error("ParseMode(repair) accepted")
	}
}
