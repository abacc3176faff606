package sdd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
)

// object describes the classifier and template resources.
type object struct {
	name   string // classifier or template
	title  string // what the help calls it
	plural string
	path   string
	// own and other are fields that identify this kind of file and the
	// other kind, to refuse one given for the other.
	own, other []string
}

var (
	classifier = object{name: "classifier", title: "SDD classifier (identifier)", plural: "classifiers",
		path: "/sdd/classifier", own: []string{"type", "config"}, other: []string{"classifiers"}}
	template = object{name: "template", title: "SDD template (identification framework)", plural: "templates",
		path: "/sdd/template", own: []string{"classifiers"}, other: []string{"type", "config"}}
)

func (o object) item(name string) string { return o.path + client.Path(name) }

func objectCmd(f *cmdutil.Factory, o object) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   o.name,
		Short: "Manage " + o.title + "s",
	})
	cmd.AddCommand(o.createCmd(f), o.getCmd(f), o.searchCmd(f), o.updateCmd(f), o.deleteCmd(f))
	if o.name == "template" {
		cmd.AddCommand(o.globalCmd(f))
	}
	return cmd
}

// load reads a classifier or template file, refusing the other kind and
// V2 documents.
func (o object) load(f *cmdutil.Factory, file string) (*payload.Document, error) {
	doc, err := payload.Read(file, f.IO.In)
	if err != nil {
		return nil, cmdutil.Usagef("%v", err)
	}
	if kind, err := payload.DetectKind(doc.Data); err == nil && kind != payload.Purpose {
		return nil, cmdutil.Usagef("%s is a %s document, not an SDD %s: save it with `custos %s save`", file, kind, o.name, kind.Command())
	}
	has := func(fields []string) bool {
		for _, k := range fields {
			if _, ok := doc.Data[k]; ok {
				return true
			}
		}
		return false
	}
	if has(o.other) && !has(o.own) {
		other := "template"
		if o.name == "template" {
			other = "classifier"
		}
		return nil, cmdutil.Usagef("%s is an SDD %s (it has %s), not a %s: use `custos sdd %s`", file, other,
			strings.Join(o.other, "/"), o.name, other)
	}
	if name, _ := doc.Data["name"].(string); strings.TrimSpace(name) == "" {
		return nil, cmdutil.Usagef("%s: an SDD %s needs a name", file, o.name)
	}
	if err := doc.Resolve(f.IO.Getenv); err != nil {
		return nil, cmdutil.Usagef("%v", err)
	}
	return doc, nil
}

// call sends one request and prints the answer: status lines first
// (stdout, or stderr when a format was chosen), then the object when
// show says so.
func call(cmd *cobra.Command, f *cmdutil.Factory, out *cmdutil.Output, method, path string, query url.Values,
	body []byte, before, after string, show bool) error {
	if err := out.Check(); err != nil {
		return err
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	status := out.Status(f.IO)
	if before != "" {
		fmt.Fprintln(status, before)
	}
	var in any
	if body != nil {
		in = json.RawMessage(body)
	}
	resp, err := c.JSON(cmd.Context(), method, path, query, in, nil)
	if err != nil {
		return err
	}
	if after != "" {
		fmt.Fprintln(status, after)
	}
	if show || out.Chosen() {
		return out.Write(f.IO.Out, resp)
	}
	return nil
}

func (o object) createCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "create <filepath>",
		Short:   "Create an " + o.title + " from a JSON or YAML file",
		Example: fmt.Sprintf("  custos sdd %s create ./account-%s.json", o.name, o.name),
		Args:    cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := o.load(f, args[0])
			if err != nil {
				return err
			}
			return call(cmd, f, &out, http.MethodPost, o.path, nil, doc.JSON(),
				fmt.Sprintf("Creating %s from %s...", o.name, args[0]), "Create successful.", false)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func (o object) getCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "get <" + o.name + "Name>",
		Short:   "Get an " + o.title,
		Example: fmt.Sprintf("  custos sdd %s get ACCOUNT_NUMBER", o.name),
		Args:    cmdutil.Args("<" + o.name + "Name>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, &out, http.MethodGet, o.item(args[0]), nil, nil,
				fmt.Sprintf("Getting %s %s...", o.name, args[0]), "", true)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func (o object) globalCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "global",
		Short:   "Get the global SDD template, which applies to every data source without one of its own",
		Example: "  custos sdd template global",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, &out, http.MethodGet, o.path+"/global", nil, nil, "Getting global template...", "", true)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func (o object) updateCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "update <" + o.name + "Name> <filepath>",
		Short:   "Replace an " + o.title + " with the content of a file",
		Example: fmt.Sprintf("  custos sdd %s update MY_%s ./my-%s.yaml", o.name, strings.ToUpper(o.name), o.name),
		Args:    cmdutil.Args("<"+o.name+"Name>", "<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := o.load(f, args[1])
			if err != nil {
				return err
			}
			return call(cmd, f, &out, http.MethodPut, o.item(args[0]), nil, doc.JSON(),
				fmt.Sprintf("Updating %s %s from %s...", o.name, args[0], args[1]), "Update successful.", false)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func (o object) deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "delete <" + o.name + "Name>",
		Short:   "Delete an " + o.title,
		Example: fmt.Sprintf("  custos sdd %s delete MY_%s", o.name, strings.ToUpper(o.name)),
		Args:    cmdutil.Args("<" + o.name + "Name>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(cmd, f, &out, http.MethodDelete, o.item(args[0]), nil, nil,
				fmt.Sprintf("Deleting %s %s...", o.name, args[0]), "Delete successful.", false)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

var sortFields = []string{"id", "name", "displayName", "type", "createdAt", "updatedAt"}

func (o object) searchCmd(f *cmdutil.Factory) *cobra.Command {
	var (
		out           cmdutil.Output
		limit, offset int
		order, sortBy string
		types, with   []string
	)
	cmd := &cobra.Command{
		Use:     "search [string]",
		Aliases: []string{"ls", "list"},
		Short:   "Search " + o.plural + " by name",
		Example: map[string]string{
			"classifier": "  custos sdd classifier search ACCOUNT --type regex",
			"template":   `  custos sdd template search --classifiers="ACCOUNT_NUMBER_IDENTIFIER"`,
		}[o.name],
		Args: cmdutil.ArgsRange(0, 1, "[string]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("searchText", args[0])
			}
			if limit < 1 {
				return cmdutil.ArgErrorf("--limit must be at least 1")
			}
			if offset < 0 {
				return cmdutil.ArgErrorf("--offset must not be negative")
			}
			q.Set("limit", strconv.Itoa(limit))
			if offset > 0 {
				q.Set("offSet", strconv.Itoa(offset))
			}
			if order != "" {
				if order != "asc" && order != "desc" {
					return cmdutil.ArgErrorf("--order must be asc or desc, not %q", order)
				}
				q.Set("sortOrder", order)
			}
			if sortBy != "" {
				if !contains(sortFields, sortBy) {
					return cmdutil.ArgErrorf("--sort must be one of %s, not %q", strings.Join(sortFields, ", "), sortBy)
				}
				q.Set("sortField", sortBy)
			}
			for _, t := range types {
				if !contains([]string{"regex", "columnNameRegex", "dictionary", "builtIn"}, t) {
					return cmdutil.ArgErrorf("--type must be regex, columnNameRegex, dictionary or builtIn, not %q", t)
				}
				q.Add("type", t)
			}
			for _, c := range with {
				q.Add("classifiers", c)
			}
			return o.search(cmd, f, &out, q)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&limit, "limit", 25, "the most results to show")
	fl.IntVar(&offset, "offset", 0, "results to skip")
	fl.StringVar(&order, "order", "", "asc or desc")
	fl.StringVarP(&sortBy, "sort", "s", "", "sort by "+strings.Join(sortFields, " | "))
	if o.name == "classifier" {
		fl.StringSliceVar(&types, "type", nil, "only classifiers of these types: regex | columnNameRegex | dictionary | builtIn")
	} else {
		fl.StringSliceVar(&with, "classifiers", nil, "only templates holding these classifiers")
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func (o object) search(cmd *cobra.Command, f *cmdutil.Factory, out *cmdutil.Output, q url.Values) error {
	if err := out.Check(); err != nil {
		return err
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	status := out.Status(f.IO)
	fmt.Fprintf(status, "Searching all %s...\n", o.plural)
	var page struct {
		Count int `json:"count"`
		Hits  []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"hits"`
	}
	resp, err := c.JSON(cmd.Context(), http.MethodGet, o.path, q, nil, &page)
	if err != nil {
		return err
	}
	if out.Chosen() {
		return out.Write(f.IO.Out, resp)
	}
	for _, h := range page.Hits {
		fmt.Fprintf(f.IO.Out, "%s %s\n", h.Name, h.Description)
	}
	_, err = fmt.Fprintf(f.IO.Out, "Displaying %d of %d %s\n", len(page.Hits), page.Count, o.plural)
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
