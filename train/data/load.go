package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options configure Load.
type Options struct {
	// Format forces a format: "npz", "csv" or "images"; "" or "auto"
	// detects it (npz first, then csv, then image folders).
	Format string
	// LabelCol names the CSV label column ("" = the last column).
	LabelCol string
	// InputShape is the model input's per-sample shape (no batch
	// dimension; −1 unknown). Image folders take their channel count and
	// default size from it.
	InputShape []int
	// ImageH, ImageW override the image size (torchvision's
	// Resize((H, W))); 0 takes it from InputShape.
	ImageH, ImageW int
	// Mean and Std normalize image channels (one value for all channels,
	// or one per channel); nil leaves ToTensor's [0, 1] values.
	Mean, Std []float32
	// ValSplit is the fraction held out for validation when the data has
	// no validation set (0 = no validation).
	ValSplit float64
	// Seed chooses the held-out samples.
	Seed uint64
}

// Data is a loaded data set.
type Data struct {
	Format string // "npz", "csv" or "images"
	Train  *Set
	// Val is the validation set: the directory's own, or held out from
	// the training files (Split set), or nil with ValSplit 0.
	Val   *Set
	Split bool
}

// Load reads a data directory (or a single train.npz / train.csv file).
func Load(path string, o Options) (*Data, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	dir := path
	var single string
	if !st.IsDir() {
		dir, single = filepath.Dir(path), path
	}
	exists := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	format := o.Format
	if format == "auto" {
		format = ""
	}
	if single != "" {
		switch strings.ToLower(filepath.Ext(single)) {
		case ".npz":
			format = "npz"
		case ".csv":
			format = "csv"
		default:
			return nil, fmt.Errorf("%s: a data file must be .npz or .csv (or give a directory)", path)
		}
	}
	if format == "" {
		switch {
		case exists("train.npz") != "":
			format = "npz"
		case exists("train.csv") != "":
			format = "csv"
		case isDir(filepath.Join(dir, "train")):
			format = "images"
		default:
			return nil, &OptionError{OptLabelCol, path + ": " + errNoData.Error() + ": expected train.npz (arrays x, y), train.csv (a header row; label in the last column or ",
				"), or image folders train/<class>/*.png|jpg (each with an optional val counterpart)", errNoData}
		}
	}
	d := &Data{Format: format}
	switch format {
	case "npz", "csv":
		trainPath, valPath := single, ""
		if single == "" {
			trainPath = exists("train." + format)
			valPath = exists("val." + format)
			if trainPath == "" {
				return nil, fmt.Errorf("%s: %w: no train.%s", path, errNoData, format)
			}
		}
		if format == "npz" {
			if d.Train, err = loadNPZ(trainPath); err != nil {
				return nil, err
			}
			if valPath != "" {
				if d.Val, err = loadNPZ(valPath); err != nil {
					return nil, err
				}
				if err := sameKind(d.Train, d.Val); err != nil {
					return nil, err
				}
			}
		} else if d.Train, d.Val, err = loadCSV(trainPath, valPath, o.LabelCol); err != nil {
			return nil, err
		}
	case "images":
		io, err := o.imageOpts()
		if err != nil {
			return nil, err
		}
		if d.Train, err = loadImageFolder(filepath.Join(dir, "train"), nil, io); err != nil {
			return nil, err
		}
		if v := filepath.Join(dir, "val"); isDir(v) {
			if d.Val, err = loadImageFolder(v, d.Train.Classes, io); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown data format %q (want auto, npz, csv or images)", o.Format)
	}
	if d.Val == nil && o.ValSplit > 0 {
		if d.Train, d.Val, err = d.Train.Split(o.ValSplit, o.Seed); err != nil {
			return nil, err
		}
		d.Split = true
	}
	return d, nil
}

// sameKind checks that a validation set matches the training set's sample
// shape and target type.
func sameKind(t, v *Set) error {
	if t.SampleSize() != v.SampleSize() {
		return fmt.Errorf("%s: samples of shape %s, but %s has %s", v.File, shapeString(v.Shape), t.File, shapeString(t.Shape))
	}
	if (t.Labels == nil) != (v.Labels == nil) || t.TargetWidth != v.TargetWidth || !slices.Equal(t.LabelShape, v.LabelShape) {
		kind := func(s *Set) string {
			if s.LabelShape != nil {
				return "integer class labels of shape " + shapeString(s.LabelShape) + " per sample"
			}
			if s.Labels != nil {
				return "integer class labels"
			}
			return fmt.Sprintf("float targets of width %d", s.TargetWidth)
		}
		return fmt.Errorf("%s has %s, but %s has %s", v.File, kind(v), t.File, kind(t))
	}
	return nil
}

// imageOpts derives the image pipeline from the options and the model's
// input shape.
func (o Options) imageOpts() (imageOpts, error) {
	io := imageOpts{H: o.ImageH, W: o.ImageW}
	in := o.InputShape
	if len(in) == 3 && in[0] > 0 {
		io.Channels = in[0]
		if io.H == 0 {
			io.H, io.W = in[1], in[2]
		}
	}
	if io.H <= 0 || io.W <= 0 {
		return io, &OptionError{OptImageSize, fmt.Sprintf("the model's input %s does not say the image size; give ", shapeString(in)), "", nil}
	}
	if int64(io.H)*int64(io.W) > MaxImagePixels {
		return io, &OptionError{OptImageSize, fmt.Sprintf("images of %d×%d pixels (the model's input %s or ", io.H, io.W, shapeString(in)),
			fmt.Sprintf(") are more than the %d nnkit decodes", MaxImagePixels), nil}
	}
	if io.Channels == 0 {
		// A flat input: the element count says gray or RGB.
		n := 1
		for _, d := range in {
			n *= d
		}
		switch n {
		case io.H * io.W:
			io.Channels = 1
		case 3 * io.H * io.W:
			io.Channels = 3
		default:
			return io, fmt.Errorf("the model's input %s fits neither a %dx%d grayscale nor an RGB image", shapeString(in), io.H, io.W)
		}
	}
	if io.Channels != 1 && io.Channels != 3 {
		return io, fmt.Errorf("the model's input %s has %d channels; image folders give 1 (grayscale) or 3 (RGB)", shapeString(in), io.Channels)
	}
	if len(o.Mean) > 0 {
		expand := func(v []float32) ([]float32, error) {
			switch len(v) {
			case 1:
				out := make([]float32, io.Channels)
				for i := range out {
					out[i] = v[0]
				}
				return out, nil
			case io.Channels:
				return v, nil
			}
			return nil, &OptionError{OptNormalize, "", fmt.Sprintf(" has %d values per statistic; the images have %d channels", len(v), io.Channels), nil}
		}
		var err error
		if io.Mean, err = expand(o.Mean); err != nil {
			return io, err
		}
		if io.Std, err = expand(o.Std); err != nil {
			return io, err
		}
		for c, s := range io.Std {
			if s == 0 {
				return io, &OptionError{OptNormalize, "", fmt.Sprintf(": std of channel %d is 0", c), nil}
			}
		}
	}
	return io, nil
}
