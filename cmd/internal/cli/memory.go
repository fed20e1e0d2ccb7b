package cli

import (
	"os"
	"strconv"
	"strings"
)

// MaxMemoryEnv names the environment variable that sets the memory budget
// of nnkit's executor (nnlint's probe, nntrain's training and prediction):
// a byte count with an optional K, M, G or T suffix (powers of 1024), e.g.
// NNKIT_MAX_MEMORY=8G. Unset, the executor's default (exec.DefaultMaxBytes:
// 4 GiB, 1 GiB on 32-bit platforms) applies.
const MaxMemoryEnv = "NNKIT_MAX_MEMORY"

// MaxMemory returns the budget NNKIT_MAX_MEMORY sets, 0 when it is unset
// (the executor's default), or a usage error naming the variable.
func MaxMemory() (int64, error) {
	s := strings.TrimSpace(os.Getenv(MaxMemoryEnv))
	if s == "" {
		return 0, nil
	}
	return ParseBytes(s, MaxMemoryEnv)
}

// ParseBytes parses a positive byte count with an optional K, M, G or T
// suffix (an optional trailing "B" or "iB" is accepted: 8G, 8GB, 8GiB).
func ParseBytes(s, what string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, Usagef("%s: %q is not a positive byte count (examples: 4096, 512M, 8G)", what, s)
	}
	return n * mult, nil
}
