// Package policy implements `custos policy`: global policies saved from V2
// files, listed, renamed, cloned to files and deleted by policy key.
package policy

import (
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/clone"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
	"github.com/custosdata/custos/internal/cli/resource"
)

// Kind is the global policy resource.
var Kind = resource.Kind{Doc: payload.Policy, Path: "/api/v2/policy", KeyField: "policyKey", RenameField: "newPolicyKey"}

// New returns the policy command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "policy",
		Short: "Manage global policies",
		Long:  "Manage global policies, each named by its policy key.",
	})
	cmd.AddCommand(saveCmd(f), listCmd(f), renameCmd(f), cloneCmd(f), deleteCmd(f))
	return cmd
}

func saveCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun, reCertify bool
	cmd := &cobra.Command{
		Use:     "save <filepath>",
		Short:   "Create or update a global policy from a V2 file",
		Example: "  custos policy save ./test-policy.yml\n  custos policy save ./test-policy.yml --dryRun",
		Args:    cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Save(cmd.Context(), f, Kind, args[0], resource.Flags("dryRun", dryRun, "reCertify", reCertify), "")
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would change; change nothing")
	cmd.Flags().BoolVar(&reCertify, "reCertify", false, "when the certification changed, require it again on every data source the policy applies to")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the global policy keys",
		Example: "  custos policy list",
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
		Use:     "rename <old policy key> <new policy key>",
		Short:   "Rename a policy key",
		Example: `  custos policy rename "data conditional masking" "Data Masking"`,
		Args:    cmdutil.Args("<old policy key>", "<new policy key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Rename(cmd.Context(), f, Kind, args[0], args[1])
		},
	}
}

func cloneCmd(f *cmdutil.Factory) *cobra.Command {
	var force, verbose bool
	cmd := &cobra.Command{
		Use:     "clone <directory>",
		Short:   "Write every global policy to a V2 YAML file under <directory>/policy",
		Example: "  custos policy clone ./policies",
		Args:    cmdutil.Args("<directory>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := clone.CheckDir(args[0], force); err != nil {
				return err
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			return clone.NewCloner(f, c, args[0], verbose).Policies(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "write into a directory that is not empty, overwriting files")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print every file written")
	return cmd
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "delete <policy key>",
		Short:   "Delete a global policy",
		Example: `  custos policy delete "Data Masking" --dryRun`,
		Args:    cmdutil.Args("<policy key>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return resource.Delete(cmd.Context(), f, Kind, args[0], resource.Flags("dryRun", dryRun))
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would be deleted; delete nothing")
	return cmd
}
