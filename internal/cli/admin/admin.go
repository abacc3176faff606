// Package admin implements `custos admin`: commands for whoever runs the
// server's machine, which work on the server's store directly instead of
// through the API, so that they work when no API credential does.
package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/server"
	"github.com/custosdata/custos/internal/store"
)

// New returns the admin command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Recover a custos server from its own machine (works on the store, not through the API)",
		Args:  cmdutil.Args(),
	}
	cmd.AddCommand(newResetKey(f))
	return cmd
}

func newResetKey(f *cmdutil.Factory) *cobra.Command {
	var configFile, dataDir, storeURL, userid string
	var revokeOthers bool
	cmd := &cobra.Command{
		Use:   "reset-key",
		Short: "Give an ADMIN a new API key, printed once",
		Long: `Give an enabled user holding ADMIN a new API key and print it once, on stdout. This is the way
back in when every ADMIN credential is lost: it works on the server's store directly, with the
server stopped or running, and writes an audit record (type apiKey, action recover) naming the
operating system user who ran it.

The store is found as the server finds it: --data-dir (the SQLite store) or --store (a
PostgreSQL store), else CUSTOS_DATA_DIR / CUSTOS_STORE, else the --server-config file, else
./custos-data. Nothing is created where there is no custos store. Use the custos binary the
server runs.

--user picks the ADMIN when several are enabled; --revoke-others also revokes the ADMIN's other
API keys and the tokens issued from them (for a key that may have leaked).`,
		Example: `  custos admin reset-key --data-dir /var/lib/custos
  custos admin reset-key --store "$CUSTOS_STORE" --user admin --revoke-others`,
		Args: cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := server.Defaults()
			if configFile == "" {
				configFile = f.IO.Getenv("CUSTOS_SERVER_CONFIG")
			}
			if configFile != "" {
				if err := cfg.LoadFile(configFile); err != nil {
					return cmdutil.Usagef("%v", err)
				}
			}
			if err := cfg.LoadEnv(f.IO.Getenv); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if cmd.Flags().Changed("store") {
				cfg.Store = storeURL
			}
			if err := cfg.Validate(); err != nil {
				return cmdutil.ArgErrorf("%v", err)
			}
			return resetKey(cmdutil.Context(cmd.Context()), f, cfg, userid, revokeOthers)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configFile, "server-config", "", "the server's YAML configuration file (CUSTOS_SERVER_CONFIG)")
	fl.StringVar(&dataDir, "data-dir", "", "the server's data directory, holding its SQLite store (CUSTOS_DATA_DIR)")
	fl.StringVar(&storeURL, "store", "", "postgres://… URL of the server's PostgreSQL store (CUSTOS_STORE)")
	fl.StringVar(&userid, "user", "", "the ADMIN to give the key to (default: the only enabled ADMIN)")
	fl.BoolVar(&revokeOthers, "revoke-others", false, "also revoke the ADMIN's other API keys")
	return cmd
}

func resetKey(ctx context.Context, f *cmdutil.Factory, cfg server.Config, userid string, revokeOthers bool) error {
	db, err := store.OpenExisting(ctx, cfg.StoreLocation())
	if errors.Is(err, store.ErrNoStore) {
		return fmt.Errorf("%v; give the server's --data-dir or --store", err)
	} else if err != nil {
		return fmt.Errorf("cannot open the store: %w", err)
	}
	defer db.Close()
	rec, err := identity.New(db, identity.Config{}).RecoverAdmin(ctx, userid, revokeOthers, operator())
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "custos gave %q (ADMIN) the new API key %d, named %q. It is shown only now:\n",
		rec.User.UserID, rec.KeyID, "recovery")
	if _, err := fmt.Fprintln(f.IO.Out, rec.Key); err != nil {
		return err
	}
	if revokeOthers {
		fmt.Fprintf(f.IO.ErrOut, "Revoked the other %d API keys of %q and the tokens issued from them.\n", rec.RevokedKeys, rec.User.UserID)
	}
	return nil
}

// operator names who ran the command, for the audit record.
func operator() string {
	name := "unknown user"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return name + "@" + host
}
