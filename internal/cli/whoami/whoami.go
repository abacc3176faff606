// Package whoami implements `custos whoami`: the user the configured API
// key acts as, on which server.
package whoami

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/config"
)

// New returns the whoami command.
func New(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the user your API key acts as, and on which server",
		Long: `Show the user the configured API key acts as (GET /bim/rpc/user/current), the server, and the
user's permissions and groups. -o json|yaml or --outputTemplate print the whole user instead.`,
		Example: "  custos whoami\n  custos whoami --outputTemplate '{{.userid}}'",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.Check(); err != nil {
				return err
			}
			p, err := config.Resolve(f.ConfigPath(), f.ProfileName(), f.IO.Getenv)
			if err != nil {
				return err
			}
			c := f.ClientFor(p.Host, p.APIKey)
			var me struct {
				UserID      string   `json:"userid"`
				IAMID       string   `json:"iamid"`
				Permissions []string `json:"permissions"`
				Groups      []struct {
					Name string `json:"name"`
				} `json:"groups"`
				Profile struct {
					Name string `json:"name"`
				} `json:"profile"`
			}
			resp, err := c.JSON(cmd.Context(), http.MethodGet, "/bim/rpc/user/current", nil, nil, &me)
			if err != nil {
				return err
			}
			if out.Chosen() {
				return out.Write(f.IO.Out, resp)
			}
			var groups []string
			for _, g := range me.Groups {
				groups = append(groups, g.Name)
			}
			sort.Strings(me.Permissions)
			w := f.IO.Out
			fmt.Fprintf(w, "%s (%s) on %s\n", me.UserID, me.IAMID, p.Host)
			if me.Profile.Name != "" {
				fmt.Fprintf(w, "name:        %s\n", me.Profile.Name)
			}
			fmt.Fprintf(w, "permissions: %s\n", none(me.Permissions))
			_, err = fmt.Fprintf(w, "groups:      %s\n", none(groups))
			return err
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func none(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}
