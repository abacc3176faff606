package cli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/server"
)

func newServeCmd(io IO) *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the custos server",
		Long: `Run the custos server. With no configuration it listens on 127.0.0.1:8080 and keeps its
SQLite store and encryption key in ./custos-data. On first start it creates the user "admin"
and prints its API key once (or uses CUSTOS_ADMIN_API_KEY).

Configuration comes from defaults, then the YAML file of --server-config (or
CUSTOS_SERVER_CONFIG), then CUSTOS_* environment variables, then flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := server.Defaults()
			if configFile == "" {
				configFile = io.Getenv("CUSTOS_SERVER_CONFIG")
			}
			if configFile != "" {
				if err := cfg.LoadFile(configFile); err != nil {
					return err
				}
			}
			if err := cfg.LoadEnv(io.Getenv); err != nil {
				return err
			}
			var flagErr error
			cmd.Flags().Visit(func(f *pflag.Flag) {
				for _, s := range server.Settings {
					if s.Flag == f.Name && flagErr == nil {
						if err := s.Apply(&cfg, f.Value.String()); err != nil {
							flagErr = &cmdutil.UsageError{Err: fmt.Errorf("--%s: %w", f.Name, err), Hint: true}
						}
					}
				}
			})
			if flagErr != nil {
				return flagErr
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "server-config", "", "YAML configuration file for the server (CUSTOS_SERVER_CONFIG)")
	defaults := server.Defaults()
	for _, s := range server.Settings {
		f.String(s.Flag, s.Show(defaults), s.Usage+" ("+s.Env+")")
	}
	return cmd
}

func serve(ctx context.Context, cfg server.Config, io IO) error {
	app, err := server.New(ctx, cfg, io.ErrOut)
	if err != nil {
		return err
	}
	defer app.Close()
	if app.AdminKey != "" && cfg.AdminAPIKey == "" {
		fmt.Fprintf(io.ErrOut, "\ncustos created the administrator \"admin\". Its API key, shown only now:\n\n    %s\n\n"+
			"Use it as the Authorization header, or save it with `custos configure`.\n\n", app.AdminKey)
	}
	return app.Serve(ctx, nil)
}
