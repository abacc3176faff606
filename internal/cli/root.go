// Package cli holds the custos command line: `custos serve` runs the server
// and the other commands are HTTP clients of a custos server, shaped like the
// immuta CLI. Each command group lives in its own package and receives a
// cmdutil.Factory, so that tests can run commands with their own streams,
// environment and HTTP client.
package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/admin"
	"github.com/custosdata/custos/internal/cli/apicmd"
	"github.com/custosdata/custos/internal/cli/apikey"
	"github.com/custosdata/custos/internal/cli/attribute"
	"github.com/custosdata/custos/internal/cli/auditcmd"
	"github.com/custosdata/custos/internal/cli/clone"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/completion"
	"github.com/custosdata/custos/internal/cli/configure"
	"github.com/custosdata/custos/internal/cli/datasource"
	"github.com/custosdata/custos/internal/cli/demo"
	"github.com/custosdata/custos/internal/cli/group"
	"github.com/custosdata/custos/internal/cli/integration"
	"github.com/custosdata/custos/internal/cli/policy"
	"github.com/custosdata/custos/internal/cli/project"
	"github.com/custosdata/custos/internal/cli/purpose"
	"github.com/custosdata/custos/internal/cli/request"
	"github.com/custosdata/custos/internal/cli/sdd"
	"github.com/custosdata/custos/internal/cli/tag"
	"github.com/custosdata/custos/internal/cli/user"
	"github.com/custosdata/custos/internal/cli/whoami"
	"github.com/custosdata/custos/internal/version"
)

// IO are the streams a command reads and writes; tests replace them.
type IO = cmdutil.IO

// StdIO is the process's streams and environment.
func StdIO() IO { return cmdutil.StdIO() }

// NewRoot builds the custos command tree over io.
func NewRoot(io IO) *cobra.Command { return NewRootWith(&cmdutil.Factory{IO: io}) }

// NewRootWith builds the custos command tree over a factory.
func NewRootWith(f *cmdutil.Factory) *cobra.Command {
	io := f.IO
	root := &cobra.Command{
		Use:   "custos",
		Short: "custos: an open data security platform",
		Long: "custos registers database tables as data sources, discovers and tags sensitive columns, and enforces\n" +
			"global policies in the databases themselves. `custos serve` runs the server; the other commands talk to one\n" +
			"(configure it with `custos configure`, or set CUSTOS_URL and CUSTOS_API_KEY).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(cmdutil.FlagError)
	pf := root.PersistentFlags()
	pf.StringVar(&f.ConfigFile, "config", "", "config file (default $HOME/.custoscfg.yaml; $HOME/.immutacfg.yaml when only it exists)")
	pf.StringVarP(&f.Profile, "profile", "p", "default", "the profile of the config file: which server and API key to use")
	root.AddCommand(newServeCmd(io), newVersionCmd(io),
		configure.New(f), completion.New(f), apicmd.New(f), clone.New(f),
		datasource.New(f), policy.New(f), project.New(f), purpose.New(f), sdd.New(f), auditcmd.New(f), demo.New(f),
		admin.New(f), whoami.New(f), user.New(f), group.New(f), attribute.New(f), apikey.New(f), tag.New(f),
		integration.New(f), request.New(f))
	return root
}

func newVersionCmd(io IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of custos",
		Args:  cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(io.Out, "custos", version.String())
			return err
		},
	}
}

// Execute runs the command line and returns the process exit code: 0 on
// success, 2 for usage errors, 1 for everything else.
func Execute(args []string, io IO) int {
	return ExecuteWith(&cmdutil.Factory{IO: io}, args)
}

// ExecuteWith runs the command line over a factory.
func ExecuteWith(f *cmdutil.Factory, args []string) int {
	root := NewRootWith(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	code, hint := cmdutil.ExitCode(err)
	if err == nil {
		return code
	}
	fmt.Fprintln(f.IO.ErrOut, "Error:", message(err))
	if hint && cmd != nil {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// message is the error's text on one line.
func message(err error) string {
	var u *cmdutil.UsageError
	if errors.As(err, &u) {
		err = u.Err
	}
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
