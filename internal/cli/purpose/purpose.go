// Package purpose implements `custos purpose`: purposes saved from V2
// files, listed by their full dotted names, and deleted with their
// sub-purposes.
package purpose

import (
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
	"github.com/custosdata/custos/internal/cli/resource"
)

// Kind is the purpose resource.
var Kind = resource.Kind{Doc: payload.Purpose, Path: "/api/v2/purpose", KeyField: "name"}

// New returns the purpose command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "purpose",
		Short: "Manage purposes",
		Long:  "Manage purposes, each named by its full dotted name (Parent.Child).",
	})
	cmd.AddCommand(saveCmd(f), listCmd(f), deleteCmd(f))
	return cmd
}

func saveCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun, reAcknowledge bool
	cmd := &cobra.Command{
		Use:     "save <filepath>",
		Short:   "Create or update a purpose from a V2 file",
		Example: "  custos purpose save test-purpose.yml",
		Args:    cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := resource.Flags("dryRun", dryRun, "reAcknowledgeRequired", reAcknowledge)
			return resource.Save(cmd.Context(), f, Kind, args[0], q, "")
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would change; change nothing")
	cmd.Flags().BoolVar(&reAcknowledge, "reAcknowledge", false,
		"require the members of projects using this purpose to acknowledge an updated statement again")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the purposes by full name",
		Example: "  custos purpose list",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.List(cmd.Context(), f, Kind.Path, Kind.KeyField, verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "delete <purpose name>",
		Short:   "Delete a purpose and its sub-purposes",
		Example: `  custos purpose delete "Demo Purpose"`,
		Args:    cmdutil.Args("<purpose name>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Delete(cmd.Context(), f, Kind, args[0], resource.Flags("dryRun", dryRun))
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would be deleted; delete nothing")
	return cmd
}
