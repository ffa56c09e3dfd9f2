package store

import (
	"os"
	"syscall"
)

// syncWALFile makes the WAL's contents durable. fdatasync, as SQLite
// itself uses on Linux: the data and the size, not the modification time.
func syncWALFile(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
