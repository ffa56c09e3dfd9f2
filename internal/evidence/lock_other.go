//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package evidence

import (
	"errors"
	"os"
	"runtime"
)

// Without flock(2) there is no lock that the server and the CLI share, and
// storing evidence without it could lose a file to a purge: refuse.
var errNoLock = errors.New("evidence locking (flock) is not available on " + runtime.GOOS)

func tryLock(*os.File, bool) error  { return errNoLock }
func waitLock(*os.File, bool) error { return errNoLock }
func unlock(*os.File)               {}
