// Package tag implements `custos tag`: the tag hierarchy, and tags on data
// sources, columns, projects, users and groups.
package tag

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// Models are the kinds of objects tags attach to.
var Models = []string{"datasource", "column", "project", "user", "group"}

// New returns the tag command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "tag",
		Short: "Manage tags and what they are attached to",
		Long: `Manage the tag hierarchy (dotted names: Parent.Child) and tags attached to data sources,
columns, projects, users and groups, which policies match.`,
	})
	complete := cmdutil.CompleteFrom(f, "/tag", nil, "", "name")
	cmd.AddCommand(createCmd(f), listCmd(f), deleteCmd(f, complete), attachCmd(f, complete, true), attachCmd(f, complete, false))
	return cmd
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "create <tag>...",
		Short:   "Create tags (with their parents)",
		Example: "  custos tag create PII.Email PII.Phone",
		Args:    cmdutil.ArgsRange(1, -1, "<tag>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tags := make([]map[string]string, len(args))
			for i, t := range args {
				tags[i] = map[string]string{"name": t}
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodPost, "/tag", nil, map[string]any{"tags": tags}, "")
		},
	}
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose, system bool
	cmd := &cobra.Command{
		Use:     "list [text]",
		Short:   "List tags (those whose name contains text)",
		Example: "  custos tag list\n  custos tag list Discovered --system",
		Args:    cmdutil.ArgsRange(0, 1, "[text]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("searchText", args[0])
			}
			if system {
				q.Set("includeAllSystemTags", "true")
			}
			return cmdutil.ListNames(cmd.Context(), f, "/tag", q, "", "name", verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	cmd.Flags().BoolVar(&system, "system", false, "list the tags custos creates (Discovered.*, New) too")
	return cmd
}

func deleteCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var hierarchy bool
	cmd := &cobra.Command{
		Use:               "delete <tag>",
		Short:             "Delete a tag (with --hierarchy, and the tags below it)",
		Example:           "  custos tag delete PII.Phone\n  custos tag delete PII --hierarchy",
		Args:              cmdutil.Args("<tag>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if hierarchy {
				q.Set("deleteHierarchy", "true")
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, "/tag"+client.Path(args[0]), q, nil, "Deleted tag "+args[0])
		},
	}
	cmd.Flags().BoolVar(&hierarchy, "hierarchy", false, "delete the tags below it too")
	return cmd
}

func attachCmd(f *cmdutil.Factory, complete cobra.CompletionFunc, add bool) *cobra.Command {
	verb, short := "add", "Attach tags to a data source, column, project, user or group"
	if !add {
		verb, short = "remove", "Detach tags from a data source, column, project, user or group"
	}
	return &cobra.Command{
		Use:   verb + " <datasource|column|project|user|group> <id> <tag>...",
		Short: short,
		Long: short + `. A data source is named by its id or its name; a column by
<data source id>_<column name>, as the tag API names it.`,
		Example: "  custos tag " + verb + ` datasource "Shop Customers" Finance
  custos tag ` + verb + " column 12_email PII.Email",
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ArgsRange(3, -1, "<datasource|column|project|user|group>", "<id>", "<tag>")(cmd, args); err != nil {
				return err
			}
			for _, m := range Models {
				if args[0] == m {
					return nil
				}
			}
			return cmdutil.ArgErrorf("tags attach to %s, not %q", strings.Join(Models, ", "), args[0])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return Models, cobra.ShellCompDirectiveNoFileComp
			case 1:
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return complete(cmd, nil, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := modelID(cmd.Context(), f, args[0], args[1])
			if err != nil {
				return err
			}
			base := "/tag" + client.Path(args[0], id)
			if add {
				tags := make([]map[string]string, 0, len(args)-2)
				for _, t := range args[2:] {
					tags = append(tags, map[string]string{"name": t})
				}
				return cmdutil.Send(cmd.Context(), f, http.MethodPost, base, nil, tags, "")
			}
			for _, t := range args[2:] {
				if err := cmdutil.Send(cmd.Context(), f, http.MethodDelete, base+client.Path(t), nil, nil,
					fmt.Sprintf("Removed tag %s from %s %s", t, args[0], args[1])); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// modelID is the id the tag API takes: a data source's name becomes its id.
func modelID(ctx context.Context, f *cmdutil.Factory, model, ref string) (string, error) {
	if model != "datasource" {
		return ref, nil
	}
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return ref, nil
	}
	c, err := f.Client()
	if err != nil {
		return "", err
	}
	var ds struct {
		ID int64 `json:"id"`
	}
	if _, err := c.JSON(ctx, http.MethodGet, "/dataSource/name"+client.Path(ref), nil, nil, &ds); err != nil {
		return "", err
	}
	return strconv.FormatInt(ds.ID, 10), nil
}
