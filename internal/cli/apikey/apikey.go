// Package apikey implements `custos apikey`: the API keys of the user the
// configured key acts as (or, for a USER_ADMIN, another user's list).
package apikey

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/user"
)

// New returns the apikey command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "apikey",
		Short: "Manage your API keys",
		Long: `Manage API keys. A key is created for the user the configured key acts as, and shown once: keep
it (custos configure --api-key). Deleting a key revokes the tokens issued from it too.`,
	})
	cmd.AddCommand(createCmd(f), listCmd(f), deleteCmd(f))
	return cmd
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	var name string
	var project int64
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create an API key for yourself (shown once)",
		Example: "  custos apikey create --name ci\n  custos apikey create --name fraud-notebook --project 3",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if name != "" {
				body["name"] = name
			}
			if cmd.Flags().Changed("project") {
				body["projectId"] = project
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodPost, "/bim/apikey", nil, body, "")
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a name that says what the key is for")
	cmd.Flags().Int64Var(&project, "project", 0, "a project the key acts under")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list [userid]",
		Short:   "List API keys (yours, or a user's): id, name and last use",
		Example: "  custos apikey list\n  custos apikey list ana",
		Args:    cmdutil.ArgsRange(0, 1, "[userid]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			who := ""
			if len(args) == 1 {
				who = args[0]
			} else {
				var me struct {
					UserID string `json:"userid"`
				}
				if _, err := c.JSON(cmd.Context(), http.MethodGet, "/bim/rpc/user/current", nil, nil, &me); err != nil {
					return err
				}
				who = me.UserID
			}
			var keys []struct {
				KeyID    int64   `json:"keyid"`
				Name     *string `json:"name"`
				LastUsed *string `json:"lastUsed"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodGet, user.Path(who, "apikeys"), nil, nil, &keys)
			if err != nil {
				return err
			}
			if verbose {
				return cmdutil.WriteJSONIndented(f.IO.Out, resp)
			}
			for _, k := range keys {
				name, used := "-", "never used"
				if k.Name != nil && *k.Name != "" {
					name = *k.Name
				}
				if k.LastUsed != nil {
					used = "last used " + *k.LastUsed
				}
				if _, err := fmt.Fprintf(f.IO.Out, "%d  %s  %s\n", k.KeyID, name, used); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "delete <keyid>",
		Short:   "Revoke an API key and the tokens issued from it",
		Example: "  custos apikey delete 7",
		Args:    cmdutil.Args("<keyid>"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return cmdutil.ArgErrorf("a key id is a number (see custos apikey list), not %q", args[0])
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, "/bim/apikey/"+args[0], nil, nil, "")
		},
	}
}
