//go:build !linux

package charter_test

import "time"

// threadCPU has no per-thread CPU clock to read here.
func threadCPU() (time.Duration, bool) {
	return 0, false
}
