// Package optim holds nnkit's PyTorch-exact optimizers (SGD, Adam, AdamW,
// RMSprop), learning-rate schedules (StepLR, CosineAnnealingLR,
// ReduceLROnPlateau), gradient clipping (clip_grad_norm_, clip_grad_value_)
// and L1 regularization.
//
// Everything operates on []*exec.Param — the live parameter slices of a
// compiled program — and reproduces torch 1.13's single-tensor code paths
// operation by operation: scalars are rounded to float32 where PyTorch
// rounds them, every tensor operation rounds its result to float32, and
// PyTorch's fused multiply-adds (add with alpha) are computed with one
// rounding. Trajectories therefore agree with PyTorch to a few float32 ulps
// (see the golden tests and testdata/train/make_train_golden.py).
//
// A training step with the pieces of this package:
//
//	opt, _ := optim.NewAdamW(optim.DefaultAdamW)
//	sched, _ := optim.NewCosine(opt.LR(), 10, 0)
//	sched.Attach(opt) // the schedule steps the optimizer's learning rate
//	for epoch := 0; epoch < 10; epoch++ {
//		for range batches {
//			prog.ZeroGrad()
//			// ... forward, loss, prog.Backward ...
//			optim.AddL1Grad(params, 1e-5)
//			norm := optim.ClipGradNorm(params, 1.0)
//			opt.Step(params)
//		}
//		sched.Step(valLoss) // sets opt's rate for the next epoch
//	}
package optim
