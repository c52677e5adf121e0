//go:build race

package handlers

// raceEnabled says the race detector is on: it changes allocation counts
// (sync.Pool drops what it pools), which TestSheetWriterStreamsTheFile reads.
const raceEnabled = true
