// Package attribute implements `custos attribute`: the attributes
// (authorizations) of users and groups, which policies test.
package attribute

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// New returns the attribute command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "attribute",
		Short: "Manage the attributes of users and groups",
		Long: `Manage attributes (authorizations): named values given to a user or a group, such as
Department=Finance, which policies test. A user has their own and their groups' attributes.`,
	})
	cmd.AddCommand(addCmd(f), removeCmd(f), listCmd(f))
	return cmd
}

func checkModel(model string) error {
	if model != "user" && model != "group" {
		return cmdutil.ArgErrorf("attributes belong to a user or a group, not %q", model)
	}
	return nil
}

func completeModel(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return []string{"user", "group"}, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

func path(model, who string, rest ...string) string {
	return "/bim/iam/bim" + client.Path(append([]string{model, who, "authorizations"}, rest...)...)
}

func addCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "add <user|group> <userid|group> <attribute> <value>...",
		Short:             "Give a user or group values of an attribute",
		Example:           "  custos attribute add user ana Country US DE\n  custos attribute add group HR Department HR",
		Args:              cmdutil.ArgsRange(4, -1, "<user|group>", "<userid|group>", "<attribute>", "<value>"),
		ValidArgsFunction: completeModel,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkModel(args[0]); err != nil {
				return err
			}
			for _, v := range args[3:] {
				if err := cmdutil.Send(cmd.Context(), f, http.MethodPut, path(args[0], args[1], args[2], v), nil, nil, ""); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func removeCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:               "remove <user|group> <userid|group> <attribute> [value]",
		Short:             "Take a value of an attribute (or the whole attribute) from a user or group",
		Example:           "  custos attribute remove user ana Country DE\n  custos attribute remove user ana Country",
		Args:              cmdutil.ArgsRange(3, 4, "<user|group>", "<userid|group>", "<attribute>", "[value]"),
		ValidArgsFunction: completeModel,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkModel(args[0]); err != nil {
				return err
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, path(args[0], args[1], args[2:]...), nil, nil, "")
		},
	}
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "list <user|group> <userid|group>",
		Short: "List the attributes given to a user or group, one attribute=value a line",
		Long: `List the attributes given to a user or group itself, one attribute=value a line. For a user,
--effective lists those of their groups too.`,
		Example:           "  custos attribute list user ana\n  custos attribute list group HR -v",
		Args:              cmdutil.Args("<user|group>", "<userid|group>"),
		ValidArgsFunction: completeModel,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkModel(args[0]); err != nil {
				return err
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			var got map[string]json.RawMessage
			if _, err := c.JSON(cmd.Context(), http.MethodGet, "/bim/iam/bim"+client.Path(args[0], args[1]), nil, nil, &got); err != nil {
				return err
			}
			field := "bimAuthorizations"
			if effective, _ := cmd.Flags().GetBool("effective"); effective {
				if args[0] != "user" {
					return cmdutil.ArgErrorf("--effective is for users: a group's attributes are its own")
				}
				field = "authorizations"
			}
			attrs := map[string][]string{}
			if raw, ok := got[field]; ok && string(raw) != "null" {
				if err := json.Unmarshal(raw, &attrs); err != nil {
					return fmt.Errorf("the server's %s is not a map of values: %s", field, raw)
				}
			}
			if verbose {
				b, _ := json.Marshal(attrs)
				return cmdutil.WriteJSONIndented(f.IO.Out, b)
			}
			names := make([]string, 0, len(attrs))
			for n := range attrs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				for _, v := range attrs[n] {
					if _, err := fmt.Fprintf(f.IO.Out, "%s=%s\n", n, v); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the attributes as JSON")
	cmd.Flags().Bool("effective", false, "a user's attributes merged with their groups'")
	return cmd
}
