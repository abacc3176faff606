// Package cmdutil holds what every custos client command shares: the
// streams it reads and writes, the factory that builds its HTTP client from
// the configuration, exit codes, output formats and terminal progress.
package cmdutil

import (
	"io"
	"os"
)

// IO are the streams and environment a command uses; tests replace them.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	Getenv func(string) string
	// InTTY says whether In is a terminal (prompts are allowed); ErrTTY
	// whether ErrOut is (progress is shown).
	InTTY  bool
	ErrTTY bool
}

// StdIO is the process's streams and environment.
func StdIO() IO {
	return IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Getenv: os.Getenv,
		InTTY: IsTerminal(os.Stdin), ErrTTY: IsTerminal(os.Stderr)}
}

// HomeDir is the user's home directory according to the environment.
func (s IO) HomeDir() string {
	if h := s.Getenv("HOME"); h != "" {
		return h
	}
	return s.Getenv("USERPROFILE")
}
