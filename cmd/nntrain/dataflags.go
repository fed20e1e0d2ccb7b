package main

import (
	"flag"
	"strconv"
	"strings"

	"github.com/nnkit/nnkit/cmd/internal/cli"
	"github.com/nnkit/nnkit/train/data"
)

// dataFlags are the data-loading flags training and prediction share.
type dataFlags struct {
	format    string
	labelCol  string
	imageSize string
	normalize string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.labelCol, "label-col", "", "CSV: name of the label column (default: the last column)")
	fs.StringVar(&d.imageSize, "image-size", "", "images: resize to N or HxW (default: the model's input size)")
	fs.StringVar(&d.normalize, "normalize", "", "images: mean,std (all channels) or m1,..,mC,s1,..,sC per channel")
	fs.StringVar(&d.format, "data-format", "auto", "auto|npz|csv|images")
}

// options turns the flags into data.Options for a model whose input has
// the per-sample shape inShape.
func (d *dataFlags) options(inShape []int, valSplit float64, seed uint64) (data.Options, error) {
	o := data.Options{Format: d.format, LabelCol: d.labelCol, InputShape: inShape, ValSplit: valSplit, Seed: seed}
	if d.imageSize != "" {
		h, w, ok := strings.Cut(strings.ToLower(d.imageSize), "x")
		if !ok {
			w = h
		}
		hi, err1 := strconv.Atoi(h)
		wi, err2 := strconv.Atoi(w)
		if err1 != nil || err2 != nil || hi < 1 || wi < 1 {
			return o, cli.Usagef("--image-size wants N or HxW, got %q", d.imageSize)
		}
		o.ImageH, o.ImageW = hi, wi
	}
	if d.normalize != "" {
		var vals []float32
		for _, s := range strings.Split(d.normalize, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				return o, cli.Usagef("--normalize: %q is not a number", s)
			}
			vals = append(vals, float32(v))
		}
		if len(vals)%2 != 0 {
			return o, cli.Usagef("--normalize wants mean,std or C means then C stds, got %d values", len(vals))
		}
		o.Mean, o.Std = vals[:len(vals)/2], vals[len(vals)/2:]
	}
	return o, nil
}
