// Package suite holds the training doctor's seeded runs: faulty runs built
// from the classic training problems (learning rate far too high or low, a
// deep sigmoid stack, dead-ReLU biases, a tiny training set without
// regularization, heavy weight decay, ...) each with the kind the doctor
// must diagnose, and healthy runs with default settings on which it must
// stay silent. The doctor's tests run the short cases; the benchmark
// command (go run ./testdata/doctor) runs them all and prints the
// detection matrix, the false alarms and the repair results.
//
//	env := suite.Env{Data: digits, Load: func(name string) (*ir.Model, error) { ... }}
//	o, _ := suite.Run(suite.Cases[0], env, doctor.Warn)
//	o.Kinds // what the doctor diagnosed; o.Case.Expect what it should have
package suite
