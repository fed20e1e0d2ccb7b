package data

// Option says which field of Options an OptionError is about.
type Option int

const (
	OptImageSize Option = iota + 1 // ImageH, ImageW
	OptLabelCol                    // LabelCol
	OptNormalize                   // Mean, Std
)

func (o Option) String() string {
	switch o {
	case OptImageSize:
		return "ImageH/ImageW"
	case OptLabelCol:
		return "LabelCol"
	case OptNormalize:
		return "Mean/Std"
	}
	return "Options"
}

// OptionError is a problem that an Options field causes or could settle.
// Its message names the field once, between Before and After; Error uses
// the field's name in Options, and a front end can name it in its own
// terms (Option says which).
type OptionError struct {
	Option        Option
	Before, After string
	Err           error // wrapped, or nil
}

func (e *OptionError) Error() string { return e.In(e.Option.String()) }

// In words the error with name for the option.
func (e *OptionError) In(name string) string { return e.Before + name + e.After }

func (e *OptionError) Unwrap() error { return e.Err }
