//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cmdutil

import "os"

// IsTerminal reports whether f is a character device, which is as close as
// this platform gets without a terminal library.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// withoutEcho cannot turn echo off here; the secret is read as typed.
func withoutEcho(f *os.File, fn func() error) error { return fn() }
