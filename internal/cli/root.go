// Package cli holds the custos command line: `custos serve` runs the server
// and the other commands are HTTP clients of a custos server, shaped like the
// immuta CLI.
package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/version"
)

// IO are the streams a command reads and writes; tests replace them.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	Getenv func(string) string
}

// StdIO is the process's streams and environment.
func StdIO() IO {
	return IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Getenv: os.Getenv}
}

// NewRoot builds the custos command tree.
func NewRoot(io IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "custos",
		Short:         "custos: an open data security platform",
		Long:          "custos registers database tables as data sources, discovers and tags sensitive columns, and enforces\nglobal policies in the databases themselves. `custos serve` runs the server; the other commands talk to one.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.AddCommand(newServeCmd(io), newVersionCmd(io))
	return root
}

func newVersionCmd(io IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of custos",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(io.Out, "custos", version.String())
			return err
		},
	}
}

// Execute runs the command line and returns the process exit code: 0 on
// success, 2 for usage errors, 1 for everything else.
func Execute(args []string, io IO) int {
	root := NewRoot(io)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	fmt.Fprintln(io.ErrOut, "Error:", err)
	if isUsageError(cmd, err) {
		fmt.Fprintf(io.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// usageError marks errors in how a command was invoked.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func isUsageError(cmd *cobra.Command, err error) bool {
	if _, ok := err.(usageError); ok {
		return true
	}
	// cobra's own argument and flag errors
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires ",
		"invalid argument", "flag needs an argument", "required flag"} {
		if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
