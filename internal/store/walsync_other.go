//go:build !linux

package store

import "os"

// syncWALFile makes the WAL's contents durable: fsync where fdatasync is
// not offered (FlushFileBuffers on Windows, which needs the file open for
// writing, as walSyncer opens it).
func syncWALFile(f *os.File) error { return f.Sync() }
