package main

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/onnxio"
	"github.com/nnkit/nnkit/train"
	"github.com/nnkit/nnkit/train/data"
	"github.com/nnkit/nnkit/train/doctor"
)

// TestSettingFlags: the flags named for train's settings exist
// (doctor.LintCheck is a command, not a flag).
func TestSettingFlags(t *testing.T) {
	fs := newTrainCmd(io.Discard).fs
	for s, f := range settingFlags {
		if s == doctor.LintCheck {
			continue
		}
		if fs.Lookup(strings.TrimPrefix(f, "--")) == nil {
			t.Errorf("%s: no flag %s", s, f)
		}
	}
	for _, s := range []train.Setting{train.SettingLR, train.SettingClipNorm, train.SettingOptimizer, train.SettingWeightDecay, train.SettingDropout,
		train.SettingEarlyStopping, train.SettingSchedule, train.SettingEpochs, train.SettingFindLR, train.SettingNormalize, doctor.ModeSetting, doctor.LintCheck} {
		if _, ok := settingFlags[s]; !ok {
			t.Errorf("no flag for %s", s)
		}
	}
}

// TestFreezeErrorsNameFlags: train.Freeze's errors, worded with
// --freeze/--train-only; errors.As still finds train's error.
func TestFreezeErrorsNameFlags(t *testing.T) {
	m, err := onnxio.ReadFile("../../testdata/models/resnet_narrow/train.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		freeze, only []string
		want         string
	}{
		{[]string{"layr1.*"}, nil, `--freeze "layr1.*" matches no parameter`},
		{nil, []string{"head.*"}, `--train-only "head.*" matches no parameter`},
		{[]string{"*running_mean"}, nil, "BatchNorm statistic"},
		{[]string{"["}, nil, `--freeze "[": bad pattern`},
		{[]string{"*"}, nil, "--freeze/--train-only leave no parameter to train"},
	} {
		_, err := train.Freeze(m, c.freeze, c.only)
		err = withFlags(err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v/%v: %v, want %q", c.freeze, c.only, err, c.want)
		}
		var ge *train.GlobError
		var all *train.AllFrozenError
		if !errors.As(err, &ge) && !errors.As(err, &all) {
			t.Errorf("%v/%v: train's error is not in the chain of %v", c.freeze, c.only, err)
		}
	}
	// Several bad globs: one line each, each worded.
	_, err = train.Freeze(m, []string{"x*", "y*"}, []string{"z*"})
	lines := strings.Split(withFlags(err).Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `--freeze "x*"`) || !strings.HasPrefix(lines[1], `--freeze "y*"`) || !strings.HasPrefix(lines[2], `--train-only "z*"`) {
		t.Errorf("three bad globs: %q", lines)
	}
}

// TestDataErrorsNameFlags: data.Load's option errors, worded with
// --image-size, --label-col and --normalize.
func TestDataErrorsNameFlags(t *testing.T) {
	for _, c := range []struct {
		path string
		opts data.Options
		want string
	}{
		{"../../testdata/train/images", data.Options{InputShape: []int{-1}}, "does not say the image size; give --image-size"},
		{"../../testdata/train/images", data.Options{InputShape: []int{1, 8, 8}, ImageH: 10000, ImageW: 10000}, "(the model's input [1, 8, 8] or --image-size) are more than the"},
		{filepath.Join(digits, "train.csv"), data.Options{LabelCol: "nope"}, `no column named "nope" (--label-col); the header has`},
		{"../../testdata/train/images", data.Options{InputShape: []int{1, 8, 8}, Mean: []float32{0.5, 0.5}, Std: []float32{1, 1}},
			"--normalize has 2 values per statistic; the images have 1 channels"},
		{"../../testdata/train/images", data.Options{InputShape: []int{1, 8, 8}, Mean: []float32{0.5}, Std: []float32{0}}, "--normalize: std of channel 0 is 0"},
		{t.TempDir(), data.Options{}, "no training data found: expected train.npz (arrays x, y), train.csv (a header row; label in the last column or --label-col), or image folders"},
	} {
		_, err := data.Load(c.path, c.opts)
		var oe *data.OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%s %+v: %v, want a data.OptionError", c.path, c.opts, err)
			continue
		}
		if got := withFlags(err).Error(); !strings.Contains(got, c.want) {
			t.Errorf("%s %+v: %q, want %q", c.path, c.opts, got, c.want)
		}
	}
}

// TestCheckpointErrorsNameNntrain: DecodeState's errors as nntrain says
// them.
func TestCheckpointErrorsNameNntrain(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("PK\x03\x04...")} {
		_, err := train.DecodeState(b)
		if got := withFlags(err); got == nil || got.Error() != "not an nntrain checkpoint" || !errors.Is(got, train.ErrNotCheckpoint) {
			t.Errorf("%q: %v", b, got)
		}
	}
	if got := inFlags(&train.VersionError{Version: 7, Reads: 2}); got != "checkpoint version 7; this nntrain reads version 2" {
		t.Errorf("version: %q", got)
	}
}
