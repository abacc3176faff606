// Package project implements `custos project`: projects saved from V2
// files, listed, renamed and deleted (disabled, or with --hardDelete
// removed) by project key.
package project

import (
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
	"github.com/custosdata/custos/internal/cli/resource"
)

// Kind is the project resource.
var Kind = resource.Kind{Doc: payload.Project, Path: "/api/v2/project", KeyField: "projectKey", RenameField: "newProjectKey"}

// New returns the project command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "project",
		Short: "Manage projects",
		Long:  "Manage projects, each named by its project key.",
	})
	cmd.AddCommand(saveCmd(f), listCmd(f), renameCmd(f), deleteCmd(f))
	return cmd
}

func saveCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun, deleteWorkspaceSources bool
	cmd := &cobra.Command{
		Use:     "save <filepath>",
		Short:   "Create or update a project from a V2 file",
		Example: "  custos project save test-project.yml",
		Args:    cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := resource.Flags("dryRun", dryRun, "deleteDataSourcesOnWorkspaceDelete", deleteWorkspaceSources)
			return resource.Save(cmd.Context(), f, Kind, args[0], q, "")
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would change; change nothing")
	cmd.Flags().BoolVar(&deleteWorkspaceSources, "deleteWorkSpaceDataSources", false,
		"when the project's workspace is deleted, delete its data and data sources too")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the project keys (disabled projects included)",
		Example: "  custos project list",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.List(cmd.Context(), f, Kind.Path, Kind.KeyField, verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func renameCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "rename <old project key> <new project key>",
		Short:   "Rename a project key",
		Example: `  custos project rename "demo project" "Data Analytics Team"`,
		Args:    cmdutil.Args("<old project key>", "<new project key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Rename(cmd.Context(), f, Kind, args[0], args[1])
		},
	}
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun, hard bool
	cmd := &cobra.Command{
		Use:   "delete <project key>",
		Short: "Disable a project, or with --hardDelete remove it and everything in it",
		Example: `  custos project delete "Data Analytics Team"
  custos project delete "Data Analytics Team" --hardDelete`,
		Args: cmdutil.Args("<project key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Delete(cmd.Context(), f, Kind, args[0], resource.Flags("dryRun", dryRun, "hardDelete", hard))
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would be deleted; delete nothing")
	cmd.Flags().BoolVar(&hard, "hardDelete", false, "delete the project and everything related to it instead of disabling it")
	return cmd
}
