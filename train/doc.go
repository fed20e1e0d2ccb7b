// Package train fine-tunes a compiled model: one training step (forward in
// train mode, the criterion's gradient fed to Backward, L1, clipping, the
// optimizer) inside an epoch loop (train, validate in eval mode, step the
// learning-rate schedule) with hooks for everything else — logging,
// progress, early stopping, checkpoints, diagnostics.
//
// The loop reproduces PyTorch's semantics exactly (see
// testdata/train/make_train_golden.py, which is the same loop written in
// PyTorch): with the same initial weights, data order and settings, the
// per-epoch losses agree with PyTorch's to float32 rounding.
//
//	prog, _ := exec.Compile(model, exec.Options{})
//	opt, _ := train.NewOptimizer(settings)
//	sched, _ := train.NewSchedule(settings, opt.LR()) // Run attaches it to opt
//	l := &train.Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{},
//		Opt: opt, Sched: sched, Epochs: 10, BatchSize: 64, Shuffle: true, Seed: 1,
//		Hooks: []train.Hook{train.NewJSONLog(logFile), train.NewProgress(os.Stderr, false),
//			&train.EarlyStopping{Patience: 3}}}
//	res, err := l.Run() // *train.DivergedError when the loss becomes NaN
//	prog.WriteBack()    // then onnxio.WriteFile
//
// Fine-tuning a pretrained model: ReplaceHead gives the model a fresh
// classifier of N outputs (initialized as nn.Linear / nn.Conv2d would),
// Freeze turns freeze / train-only globs into exec.Options.Frozen.
// Crash-safe runs: SaveState captures a TrainState after every epoch (the
// caller writes it, TrainState.Encode), and a Resume hook, first in the
// list, puts one back so that Run continues bit-identically.
//
// Subpackages: data (loading and batching), loss (criteria), optim
// (optimizers, schedules, clipping, L1), export (the trained training graph
// turned into the inference graph to deploy).
package train
