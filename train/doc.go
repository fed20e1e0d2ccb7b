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
//	sched, _ := train.NewSchedule(settings, opt.LR())
//	l := &train.Loop{Model: prog, Train: d.Train, Val: d.Val, Loss: loss.CrossEntropy{},
//		Opt: opt, Sched: sched, Epochs: 10, BatchSize: 64, Shuffle: true, Seed: 1,
//		Hooks: []train.Hook{train.NewJSONLog(logFile), train.NewProgress(os.Stderr, false),
//			&train.EarlyStopping{Patience: 3}}}
//	res, err := l.Run() // *train.DivergedError when the loss becomes NaN
//	prog.WriteBack()    // then onnxio.WriteFile
//
// Subpackages: data (loading and batching), loss (criteria), optim
// (optimizers, schedules, clipping, L1), export (the trained training graph
// turned into the inference graph to deploy).
package train
