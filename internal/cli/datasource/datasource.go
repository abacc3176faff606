// Package datasource implements `custos datasource`: data sources are
// saved, listed, renamed and deleted by connection key, from V2 files.
package datasource

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
	"github.com/custosdata/custos/internal/cli/resource"
)

// Kind is the data source resource.
var Kind = resource.Kind{Doc: payload.DataSource, Path: "/api/v2/data", KeyField: "connectionKey",
	RenameField: "newConnectionKey"}

// New returns the datasource command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "datasource",
		Short: "Manage data sources",
		Long:  "Manage data sources: every data source of a connection is saved, listed, renamed and deleted by its connection key.",
	})
	cmd.AddCommand(saveCmd(f), listCmd(f), renameCmd(f), deleteCmd(f))
	return cmd
}

func saveCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun bool
	var wait int
	cmd := &cobra.Command{
		Use:   "save <filepath>",
		Short: "Create or update every data source of a connection from a V2 file",
		Long: `Create or update every data source described by a V2 data source file (YAML or JSON).
The file is the complete desired state of its connection key: data sources it no longer lists are
removed. {{EnvVar "NAME"}} and {{ReadFile "path"}} in its values are replaced before sending.`,
		Example: `  custos datasource save test.yml --dryRun
  custos datasource save test.yml --wait 5`,
		Args: cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := resource.Flags("dryRun", dryRun)
			progress := ""
			if cmd.Flags().Changed("wait") {
				q.Set("wait", strconv.Itoa(wait))
				if wait != 0 {
					progress = "Waiting for the data sources to be created"
				}
			}
			return resource.Save(cmd.Context(), f, Kind, args[0], q, progress)
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would change; change nothing")
	cmd.Flags().IntVarP(&wait, "wait", "w", 0, "seconds to wait for the data sources to be created (-1: until they are)")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "list",
		Short: "List connection keys, or the data sources of one",
	})
	var verbose bool
	keys := &cobra.Command{
		Use:     "keys",
		Short:   "List the connection keys",
		Example: "  custos datasource list keys",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.List(cmd.Context(), f, Kind.Path, Kind.KeyField, verbose)
		},
	}
	keys.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	var verboseSources bool
	sources := &cobra.Command{
		Use:     "sources <connection key>",
		Short:   "List the data sources of a connection key",
		Example: "  custos datasource list sources demonstration",
		Args:    cmdutil.Args("<connection key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.List(cmd.Context(), f, Kind.Item(args[0], "sources"), "name", verboseSources)
		},
	}
	sources.Flags().BoolVarP(&verboseSources, "verbose", "v", false, "print the answer as JSON")
	cmd.AddCommand(keys, sources)
	return cmd
}

func renameCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "rename <old connection key> <new connection key>",
		Short:   "Rename a connection key",
		Example: "  custos datasource rename snowflake.example.com:443/db/public demonstration",
		Args:    cmdutil.Args("<old connection key>", "<new connection key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Rename(cmd.Context(), f, Kind, args[0], args[1])
		},
	}
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "delete <connection key>",
		Short:   "Delete every data source of a connection key",
		Example: "  custos datasource delete demonstration --dryRun",
		Args:    cmdutil.Args("<connection key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Delete(cmd.Context(), f, Kind, args[0], resource.Flags("dryRun", dryRun))
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would be deleted; delete nothing")
	return cmd
}
