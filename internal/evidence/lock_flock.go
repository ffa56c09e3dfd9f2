//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package evidence

import (
	"errors"
	"os"
	"syscall"
)

func flockHow(exclusive bool) int {
	if exclusive {
		return syscall.LOCK_EX
	}
	return syscall.LOCK_SH
}

func tryLock(f *os.File, exclusive bool) error {
	err := flock(f, flockHow(exclusive)|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockBusy
	}
	return err
}

func waitLock(f *os.File, exclusive bool) error { return flock(f, flockHow(exclusive)) }

// unlock is for the record: closing the file lets the lock go anyway.
func unlock(f *os.File) { flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
