// Package sdd implements `custos sdd`: running sensitive data discovery,
// and managing its classifiers (identifiers) and templates (identification
// frameworks).
package sdd

import (
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// New returns the sdd command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "sdd",
		Short: "Manage sensitive data discovery",
		Long: `Manage sensitive data discovery (SDD): run it on data sources, and manage the classifiers
(identifiers) it matches columns with and the templates (identification frameworks) that group them.`,
	})
	cmd.AddCommand(runCmd(f), objectCmd(f, classifier), objectCmd(f, template))
	return cmd
}
