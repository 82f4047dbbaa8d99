//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly || illumos

package store

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f without waiting. The lock belongs
// to f's open file description: a second open of the same file, in this
// process or another, cannot take it, and the kernel drops it when f is
// closed or the process dies. It reports busy when someone else holds it.
func lockFile(f *os.File) (busy bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, err
	}
	return false, err
}
