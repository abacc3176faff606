// Package configure implements `custos configure`: it asks for (or takes)
// a server URL and an API key, checks the key against the server, and saves
// both as a profile of the config file.
package configure

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/config"
)

// New returns the configure command.
func New(f *cmdutil.Factory) *cobra.Command {
	var url, key string
	cmd := &cobra.Command{
		Use:   "configure",
		Short: "Save the URL of a custos server and your API key to the config file",
		Long: `Save the URL of a custos server and your API key as a profile of the config file
($HOME/.custoscfg.yaml unless --config says otherwise; profile "default" unless --profile does).

On a terminal it asks for both; scripts pass --url and --api-key. The key is checked against the
server before anything is written, and the file is kept readable by you alone (mode 0600). A URL
without a scheme gets https://, or http:// when it names this machine (localhost, 127.0.0.1).`,
		Example: `  custos configure
  custos configure --url http://127.0.0.1:8080 --api-key "$KEY"
  custos configure --url https://custos.example.com --api-key "$KEY"
  custos configure --profile staging --url https://staging.example.com --api-key "$KEY"`,
		Args: cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, f, url, key)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "URL of the custos server")
	cmd.Flags().StringVar(&key, "api-key", "", "your API key on that server")
	return cmd
}

func run(cmd *cobra.Command, f *cmdutil.Factory, url, key string) error {
	io := f.IO
	path := f.ConfigFile
	if path == "" {
		path = config.DefaultPath(io.HomeDir())
	}
	if url == "" || key == "" {
		if !io.InTTY {
			return cmdutil.ArgErrorf("stdin is not a terminal, so nothing can be asked: give --url and --api-key")
		}
		var err error
		if url == "" {
			if url, err = io.Prompt("? What is the url of the custos server you use?: "); err != nil {
				return err
			}
		}
		if key == "" {
			if key, err = io.PromptSecret("? What is the api key of your custos user account?: "); err != nil {
				return err
			}
		}
	}
	host, err := config.NormalizeURL(url)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return cmdutil.Usagef("the API key is empty")
	}
	c := f.ClientFor(host, key)
	var me struct {
		UserID string `json:"userid"`
	}
	if _, err := c.JSON(cmd.Context(), http.MethodGet, "/bim/rpc/user/current", nil, nil, &me); err != nil {
		var apiErr *client.APIError
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
			return fmt.Errorf("%s did not accept the API key, so nothing was saved: %w", host, err)
		}
		return fmt.Errorf("checking the API key failed, so nothing was saved: %w", err)
	}
	if err := config.Save(path, f.ProfileName(), config.Profile{Host: host, APIKey: key}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(io.Out, "Updated the config at %s (profile %q, server %s, user %s)\n", path, f.ProfileName(), host, me.UserID)
	return err
}
