//go:build race

package charter_test

// raceEnabled is true under the race detector, which slows every
// synchronisation down and allows at most 8,128 live goroutines.
const raceEnabled = true
