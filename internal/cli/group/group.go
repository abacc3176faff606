// Package group implements `custos group`: groups of the built-in identity
// manager and their members. A group is named by its name or id.
package group

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/user"
)

// New returns the group command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "group",
		Short: "Manage groups and their members",
		Long:  "Manage the groups of custos's built-in identity manager. A group is named by its name or id.",
	})
	complete := cmdutil.CompleteFrom(f, "/bim/group", url.Values{"size": {"1000"}}, "hits", "name")
	cmd.AddCommand(createCmd(f), listCmd(f), getCmd(f, complete), membersCmd(f, complete), memberCmd(f, complete, true),
		memberCmd(f, complete, false), deleteCmd(f, complete))
	return cmd
}

// ref is a group as the API names it.
type ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// find resolves a group's name or id.
func find(ctx context.Context, c *client.Client, group string) (*ref, error) {
	var g ref
	if _, err := c.JSON(ctx, http.MethodGet, "/bim/iam/bim/group"+client.Path(group), nil, nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

func groupPath(id int64, rest ...string) string {
	return "/bim/group" + client.Path(append([]string{fmt.Sprint(id)}, rest...)...)
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	var description, email string
	cmd := &cobra.Command{
		Use:     "create <name>",
		Short:   "Create a group",
		Example: `  custos group create HR --description "Human resources"`,
		Args:    cmdutil.Args("<name>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"iamid": "bim", "name": args[0]}
			if description != "" {
				body["description"] = description
			}
			if email != "" {
				body["email"] = email
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodPost, "/bim/group", nil, body, "")
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is")
	cmd.Flags().StringVar(&email, "email", "", "the group's e-mail address")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list [text]",
		Short:   "List groups by name (those whose name contains text)",
		Example: "  custos group list",
		Args:    cmdutil.ArgsRange(0, 1, "[text]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"size": {"1000"}, "sortField": {"name"}}
			if len(args) == 1 {
				q.Set("name", args[0])
			}
			return cmdutil.ListNames(cmd.Context(), f, "/bim/group", q, "hits", "name", verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func getCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:               "get <group>",
		Short:             "Show a group with its attributes",
		Example:           "  custos group get HR",
		Args:              cmdutil.Args("<group>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Show(cmd.Context(), f, &out, "/bim/iam/bim/group"+client.Path(args[0]), nil)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func membersCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:               "members <group>",
		Short:             "List a group's members by user id",
		Example:           "  custos group members HR",
		Args:              cmdutil.Args("<group>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			g, err := find(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return cmdutil.ListNames(cmd.Context(), f, groupPath(g.ID, "user"), url.Values{"size": {"1000"}}, "hits", "userid", verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func memberCmd(f *cmdutil.Factory, complete cobra.CompletionFunc, add bool) *cobra.Command {
	verb, short := "add", "Add users to a group"
	if !add {
		verb, short = "remove", "Remove users from a group"
	}
	return &cobra.Command{
		Use:               verb + " <group> <userid>...",
		Short:             short,
		Example:           "  custos group " + verb + " HR bob carol",
		Args:              cmdutil.ArgsRange(2, -1, "<group>", "<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			g, err := find(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			for _, u := range args[1:] {
				if add {
					err = cmdutil.Send(cmd.Context(), f, http.MethodPost, groupPath(g.ID, "user"), nil,
						map[string]any{"iamid": "bim", "userid": u}, "")
				} else {
					err = removeMember(cmd.Context(), f, c, g, u)
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// removeMember removes a user from a group by the membership's id, which
// the user's groups list.
func removeMember(ctx context.Context, f *cmdutil.Factory, c *client.Client, g *ref, userid string) error {
	var u struct {
		UserID string `json:"userid"`
		Groups []struct {
			ID        int64 `json:"id"`
			GroupUser int64 `json:"groupUser"`
		} `json:"groups"`
	}
	if _, err := c.JSON(ctx, http.MethodGet, user.Path(userid), nil, nil, &u); err != nil {
		return err
	}
	for _, m := range u.Groups {
		if m.ID == g.ID {
			return cmdutil.Send(ctx, f, http.MethodDelete, groupPath(g.ID, "user", fmt.Sprint(m.GroupUser)), nil, nil,
				fmt.Sprintf("Removed %s from group %s", u.UserID, g.Name))
		}
	}
	return fmt.Errorf("%s is not a member of group %s", u.UserID, g.Name)
}

func deleteCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	return &cobra.Command{
		Use:               "delete <group>",
		Short:             "Delete a group",
		Example:           "  custos group delete HR",
		Args:              cmdutil.Args("<group>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			g, err := find(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, groupPath(g.ID), nil, nil, "Deleted group "+g.Name)
		},
	}
}
