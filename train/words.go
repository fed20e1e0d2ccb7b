package train

import (
	"fmt"
	"strings"
)

// Setting names a setting of a training run — of the loop, its optimizer,
// schedule or hooks — in a message that advises changing it. The values
// are the library's own names; a front end words them in its terms
// through Loop.Name (nntrain: as its flags). A hook's package may define
// its own (doctor.ModeSetting).
type Setting string

const (
	SettingLR            Setting = "LR"            // the optimizer's learning rate
	SettingClipNorm      Setting = "ClipNorm"      // Loop.ClipNorm
	SettingOptimizer     Setting = "Optimizer"     // OptimizerSettings.Name
	SettingWeightDecay   Setting = "WeightDecay"   // OptimizerSettings.WeightDecay
	SettingDropout       Setting = "Dropout"       // the model's dropout ratio
	SettingEarlyStopping Setting = "EarlyStopping" // EarlyStopping.Patience
	SettingSchedule      Setting = "Schedule"      // ScheduleSettings.Name
	SettingEpochs        Setting = "Epochs"        // Loop.Epochs
	SettingFindLR        Setting = "FindLR"        // the LR range test (FindLR)
	SettingNormalize     Setting = "Mean/Std"      // the input normalization
)

// Change is a setting, with the value to give it ("" when a message names
// the setting only).
type Change struct {
	Setting Setting
	Value   string
}

// String is the library's wording: Setting=Value, or the setting alone.
func (c Change) String() string {
	if c.Value == "" {
		return string(c.Setting)
	}
	return string(c.Setting) + "=" + c.Value
}

// Part is a piece of a Text: words (Text), or a setting (Change.Setting
// not empty).
type Part struct {
	Text string
	Change
}

// Text is a message that names settings, kept apart from its words so that
// a front end can word them (see Loop.Name).
type Text []Part

// Say builds a Text from strings (words), Settings and Changes.
func Say(parts ...any) Text {
	t := make(Text, 0, len(parts))
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			t = append(t, Part{Text: p})
		case Setting:
			t = append(t, Part{Change: Change{Setting: p}})
		case Change:
			t = append(t, Part{Change: p})
		default:
			t = append(t, Part{Text: fmt.Sprint(p)})
		}
	}
	return t
}

// Words renders t with name wording each setting (nil: Change.String).
func (t Text) Words(name func(Change) string) string {
	if name == nil {
		name = Change.String
	}
	var b strings.Builder
	for _, p := range t {
		if p.Setting == "" {
			b.WriteString(p.Text)
		} else {
			b.WriteString(name(p.Change))
		}
	}
	return b.String()
}

func (t Text) String() string { return t.Words(nil) }

// Say words t as the loop's Name words settings.
func (l *Loop) Say(t Text) string { return t.Words(l.Name) }
