package cmdutil

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the custos command line.
const (
	ExitOK    = 0
	ExitError = 1 // the server refused, could not be reached, or the configuration is missing
	ExitUsage = 2 // the command was called wrongly or its input file is unusable
)

// UsageError is an error in how a command was called: its arguments, its
// flags, or an input file that does not parse or is the wrong kind of
// document. It exits with ExitUsage.
type UsageError struct {
	Err error
	// Hint asks for the "Run ... --help" line after the message, for
	// mistakes in arguments and flags (not in file contents).
	Hint bool
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError about an input (no help hint).
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ArgErrorf returns a UsageError about arguments or flags (with the hint).
func ArgErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...), Hint: true}
}

// ExitCode classifies err: nil is ExitOK, usage errors ExitUsage, the rest
// ExitError. hint reports whether the help hint should follow the message.
func ExitCode(err error) (code int, hint bool) {
	if err == nil {
		return ExitOK, false
	}
	var u *UsageError
	if errors.As(err, &u) {
		return ExitUsage, u.Hint
	}
	// cobra's own errors for unknown commands and flags
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ",
		"requires ", "invalid argument", "flag needs an argument", "required flag", "bad flag syntax"} {
		if strings.HasPrefix(msg, prefix) {
			return ExitUsage, true
		}
	}
	return ExitError, false
}

// FlagError wraps cobra's flag parsing errors as usage errors; install it
// with SetFlagErrorFunc on the root.
func FlagError(_ *cobra.Command, err error) error {
	return &UsageError{Err: err, Hint: true}
}

// Args validates that a command got exactly the named positional arguments.
func Args(names ...string) cobra.PositionalArgs {
	return ArgsRange(len(names), len(names), names...)
}

// ArgsRange validates between min and max positional arguments, naming the
// missing ones (names lists them all, in order); max < 0 is unbounded.
func ArgsRange(min, max int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min {
			missing := names[len(args):min]
			return ArgErrorf("%s needs %s", cmd.CommandPath(), strings.Join(missing, " "))
		}
		if max >= 0 && len(args) > max {
			return ArgErrorf("%s takes %s, got an unexpected argument %q", cmd.CommandPath(), takes(names, max), args[max])
		}
		return nil
	}
}

func takes(names []string, max int) string {
	if max == 0 {
		return "no arguments"
	}
	return strings.Join(names[:max], " ")
}

// Group makes cmd a command that only groups subcommands: alone it prints
// its help, and an unknown subcommand is a usage error.
func Group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return ArgErrorf("unknown command %q for %q", args[0], c.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	return cmd
}
