// Package integration implements `custos integration`: the integrations
// that push policies into data platforms (PostgreSQL live), created from a
// payload file, followed until synchronised, and removed.
package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
)

// New returns the integration command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "integration",
		Short: "Manage integrations: where custos enforces policies",
		Long: `Manage integrations: the data platforms custos pushes its decisions into. For PostgreSQL custos
creates a governed view per data source and grants it to the users' database roles (see
docs/enforcement.md). These commands need APPLICATION_ADMIN.`,
	})
	complete := cmdutil.CompleteFrom(f, "/integrations", nil, "", "id")
	cmd.AddCommand(createCmd(f), listCmd(f), getCmd(f, complete), statusCmd(f, complete), deleteCmd(f, complete))
	return cmd
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	var dryRun bool
	var wait int
	cmd := &cobra.Command{
		Use:   "create <filepath>",
		Short: "Create an integration from a JSON or YAML payload file",
		Long: `Create an integration from a payload file ({type, autoBootstrap, config}). Secrets may be given as
{{EnvVar "NAME"}} or {{ReadFile "path"}}. With --wait the command waits (up to that many seconds)
until the integration is enabled and has synchronised its data sources.`,
		Example: `  custos integration create pg.yaml --wait 60
  custos integration create pg.json --dryRun`,
		Args: cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := payload.Read(args[0], f.IO.In)
			if err != nil {
				return cmdutil.Usagef("%v", err)
			}
			if kind, err := payload.DetectKind(doc.Data); err == nil {
				return cmdutil.Usagef("%s is a %s document, not an integration payload", args[0], kind)
			}
			if _, ok := doc.Data["type"].(string); !ok {
				return cmdutil.Usagef("%s: an integration payload names its type (PostgreSQL, Snowflake, ...)", args[0])
			}
			if err := doc.Resolve(f.IO.Getenv); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			q := url.Values{}
			if dryRun {
				q.Set("dryRun", "true")
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			var created struct {
				ID string `json:"id"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodPost, "/integrations", q, doc.Data, &created)
			if err != nil {
				return err
			}
			if err := cmdutil.WriteJSONLine(f.IO.Out, resp); err != nil {
				return err
			}
			if wait == 0 || dryRun {
				return nil
			}
			_, err = waitSynced(cmd, f, created.ID, wait)
			return err
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "validate the payload and the platform; create nothing")
	cmd.Flags().IntVarP(&wait, "wait", "w", 0, "seconds to wait until the integration has synchronised (0: do not wait)")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the integrations: id, type and status",
		Example: "  custos integration list",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			var list []struct {
				ID     string `json:"id"`
				Type   string `json:"type"`
				Status string `json:"status"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodGet, "/integrations", nil, nil, &list)
			if err != nil {
				return err
			}
			if verbose {
				return cmdutil.WriteJSONIndented(f.IO.Out, resp)
			}
			for _, in := range list {
				if _, err := fmt.Fprintf(f.IO.Out, "%s  %s  %s\n", in.ID, in.Type, in.Status); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func checkID(id string) error {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return cmdutil.ArgErrorf("an integration id is a number (see custos integration list), not %q", id)
	}
	return nil
}

func getCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:               "get <id>",
		Short:             "Show an integration (secrets redacted)",
		Example:           "  custos integration get 1",
		Args:              cmdutil.Args("<id>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkID(args[0]); err != nil {
				return err
			}
			return cmdutil.Show(cmd.Context(), f, &out, "/integrations/"+args[0], nil)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func statusCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var out cmdutil.Output
	var wait int
	cmd := &cobra.Command{
		Use:   "status <id>",
		Short: "Show an integration's status and each data source's",
		Long: `Show an integration's status and how each data source is enforced. With --wait the command
first waits (up to that many seconds) until the integration is enabled and has synchronised.`,
		Example:           "  custos integration status 1\n  custos integration status 1 --wait 60",
		Args:              cmdutil.Args("<id>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkID(args[0]); err != nil {
				return err
			}
			if err := out.Check(); err != nil {
				return err
			}
			if wait == 0 {
				return cmdutil.Show(cmd.Context(), f, &out, "/integrations/"+args[0]+"/status", nil)
			}
			resp, err := waitSynced(cmd, f, args[0], wait)
			if err != nil {
				return err
			}
			return out.Write(f.IO.Out, resp)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	cmd.Flags().IntVarP(&wait, "wait", "w", 0, "seconds to wait until the integration has synchronised")
	return cmd
}

// waitSynced polls the status until the integration is enabled and has
// synchronised, fails, or seconds pass; it returns the last status.
func waitSynced(cmd *cobra.Command, f *cmdutil.Factory, id string, seconds int) ([]byte, error) {
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	p := f.IO.StartProgress("Waiting for integration " + id + " to synchronise")
	defer p.Stop()
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		var st struct {
			Status   string  `json:"status"`
			Message  string  `json:"message"`
			LastSync *string `json:"lastSync"`
		}
		resp, err := c.JSON(cmd.Context(), http.MethodGet, "/integrations/"+id+"/status", nil, nil, &st)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasSuffix(st.Status, "Error"):
			return nil, fmt.Errorf("integration %s: %s: %s", id, st.Status, st.Message)
		case st.Status == "enabled" && st.LastSync != nil:
			return resp, nil
		case time.Now().After(deadline):
			return nil, fmt.Errorf("integration %s did not synchronise within %d s: status %s %s", id, seconds, st.Status, st.Message)
		}
		select {
		case <-cmd.Context().Done():
			return nil, cmd.Context().Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func deleteCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var dryRun, force bool
	cmd := &cobra.Command{
		Use:   "delete <id>",
		Short: "Remove an integration and what it created in the platform",
		Long: `Remove an integration: custos drops what it created in the platform (for PostgreSQL its schema,
views and roles) and keeps the integration with status deleted. --force-disable only stops using
it, leaving the platform as it is.`,
		Example:           "  custos integration delete 1\n  custos integration delete 1 --force-disable",
		Args:              cmdutil.Args("<id>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkID(args[0]); err != nil {
				return err
			}
			q := url.Values{}
			if dryRun {
				q.Set("dryRun", "true")
			}
			if force {
				q.Set("forceDisable", "true")
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, "/integrations/"+args[0], q, nil, "")
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dryRun", "d", false, "show what would be removed; remove nothing")
	cmd.Flags().BoolVar(&force, "force-disable", false, "stop using the integration without cleaning up the platform")
	return cmd
}
