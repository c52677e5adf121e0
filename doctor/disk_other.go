//go:build !(linux || darwin || freebsd)

package doctor

import "errors"

// freeBytes is not measured on this system.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("not measured on this operating system")
}
