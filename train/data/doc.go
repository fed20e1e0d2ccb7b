// Package data loads training data (NumPy archives, CSV, image folders) and serves it in batches.
//
// Load auto-detects the format of a data directory:
//
//	train.npz [val.npz]          NumPy archives with arrays x (samples) and y (labels or targets)
//	train.csv [val.csv]          a header row; the label is the last column or Options.LabelCol
//	train/<class>/*.png|jpg      image folders as torchvision's ImageFolder, [val/<class>/...]
//
// Without a validation set, the fraction Options.ValSplit of the
// training samples are held out, chosen by a permutation seeded with
// Options.Seed.
//
// Everything is checked before training starts: NaN or Inf in the data,
// ragged CSV rows, unreadable images and labels that do not fit the model
// are errors naming the file and the row. Problems are collected into one
// list rather than reported one at a time.
//
// Every file is treated as hostile: FIFOs and devices are refused without
// blocking; .npy and .npz files are read by package tensor, which parses
// .npy headers itself (not with npyio) and caps them (tensor.MaxNpyHeader,
// MaxArrayElements) before anything is allocated, and reads an .npz member
// only if it is exactly as large as its header says; images are measured
// with image.DecodeConfig before decoding (MaxImagePixels); CSV rows and
// fields are bounded (MaxCSVRecord, MaxCSVField). Symbolic links to
// folders in image trees are followed, with loop protection.
//
//	d, err := data.Load("data/", data.Options{ValSplit: 0.1, Seed: 1, InputShape: []int{1, 8, 8}})
//	if err != nil { ... }                  // e.g. "data/train.csv line 12: 63 fields, the header has 65"
//	err = d.Train.Reshape([]int{1, 8, 8})  // 64 features → [1,8,8]
//	for b := range d.Train.Batches(64, data.Order(d.Train.N, true, seed, epoch)) {
//		// b.X holds b.N samples, b.Labels their classes
//	}
package data
