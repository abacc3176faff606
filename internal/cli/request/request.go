// Package request implements `custos request`: the pending access requests
// you can approve, and approving or denying them.
package request

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// New returns the request command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "request",
		Short: "List, approve and deny access requests",
		Long: `List the pending requests for access to data sources and projects that you can give an approval
of, and approve or deny them. A request is granted once every approval it needs is given.`,
	})
	cmd.AddCommand(listCmd(f), decideCmd(f, true), decideCmd(f, false))
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the pending requests you can approve: id, who asks, and for what",
		Example: "  custos request list",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			var page struct {
				Hits []struct {
					ID    int64 `json:"id"`
					Model struct {
						Type string `json:"type"`
						Name string `json:"name"`
					} `json:"model"`
					Entity struct {
						Type string `json:"type"`
						Name string `json:"name"`
					} `json:"entity"`
				} `json:"hits"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodGet, "/subscription/getPendingRequestsForUser",
				url.Values{"size": {"10000"}}, nil, &page)
			if err != nil {
				return err
			}
			if verbose {
				return cmdutil.WriteJSONIndented(f.IO.Out, resp)
			}
			for _, h := range page.Hits {
				if _, err := fmt.Fprintf(f.IO.Out, "%d  %s asks for %s %q\n", h.ID, h.Entity.Name, h.Model.Type, h.Model.Name); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	return cmd
}

func decideCmd(f *cmdutil.Factory, approve bool) *cobra.Command {
	var reason, expiration, modelType string
	verb, short, path := "approve", "Give your approval to requests", "/subscription/approve"
	if !approve {
		verb, short, path = "deny", "Deny requests, saying why", "/subscription/deny"
	}
	cmd := &cobra.Command{
		Use:   verb + " <request id>...",
		Short: short,
		Long: short + `. Each request is settled on its own: those that cannot be are listed, and the
command then exits with 1.`,
		Example: map[bool]string{true: "  custos request approve 12 13\n  custos request approve 12 --expiration 2027-01-31",
			false: `  custos request deny 12 --reason "use the anonymised data source"`}[approve],
		Args: cmdutil.ArgsRange(1, -1, "<request id>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !approve && strings.TrimSpace(reason) == "" {
				return cmdutil.ArgErrorf("a denial needs --reason")
			}
			items := make([]map[string]any, len(args))
			for i, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return cmdutil.ArgErrorf("a request id is a number (see custos request list), not %q", a)
				}
				it := map[string]any{"id": id}
				if modelType != "" {
					it["modelType"] = modelType
				}
				if approve && expiration != "" {
					it["expiration"] = expiration
				}
				if !approve {
					it["denialReasoning"] = reason
				}
				items[i] = it
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			var res struct {
				Failures []struct {
					ID           int64  `json:"id"`
					ErrorMessage string `json:"errorMessage"`
				} `json:"failures"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodPost, path, nil, map[string]any{"requests": items}, &res)
			if err != nil {
				return err
			}
			if err := cmdutil.WriteJSONLine(f.IO.Out, resp); err != nil {
				return err
			}
			if len(res.Failures) > 0 {
				var why []string
				for _, fl := range res.Failures {
					why = append(why, fmt.Sprintf("%d: %s", fl.ID, fl.ErrorMessage))
				}
				return fmt.Errorf("%d of %d requests were not settled: %s", len(res.Failures), len(items), strings.Join(why, "; "))
			}
			return nil
		},
	}
	if approve {
		cmd.Flags().StringVar(&expiration, "expiration", "", "when the access ends (a date or an RFC 3339 time)")
	} else {
		cmd.Flags().StringVar(&reason, "reason", "", "why the request is denied (required)")
	}
	cmd.Flags().StringVar(&modelType, "model-type", "", "datasource or project, when an id names a request on both")
	return cmd
}
