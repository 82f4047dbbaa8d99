//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || illumos)

package store

import (
	"errors"
	"os"
)

// lockFile refuses: without flock there is no lock that the system drops
// when a process dies, and a store that two processes could open at once
// would lose changes. Use PostgreSQL on such systems.
func lockFile(f *os.File) (busy bool, err error) {
	return false, errors.New("this system has no flock to keep a SQLite store to one process; use LEASEBOT_DATABASE_URL with PostgreSQL")
}
