package cli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/server"
)

func newServeCmd(io IO) *cobra.Command {
	cfg := server.Defaults()
	var configFile string
	var tokenTTL time.Duration
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
			final := server.Defaults()
			if configFile == "" {
				configFile = io.Getenv("CUSTOS_SERVER_CONFIG")
			}
			if configFile != "" {
				if err := final.LoadFile(configFile); err != nil {
					return err
				}
			}
			if err := final.LoadEnv(io.Getenv); err != nil {
				return err
			}
			flags := cmd.Flags()
			if flags.Changed("listen") {
				final.Listen = cfg.Listen
			}
			if flags.Changed("data-dir") {
				final.DataDir = cfg.DataDir
			}
			if flags.Changed("store") {
				final.Store = cfg.Store
			}
			if flags.Changed("token-ttl") {
				final.TokenTTL = tokenTTL
			}
			if flags.Changed("max-body-bytes") {
				final.MaxBodyBytes = cfg.MaxBodyBytes
			}
			if flags.Changed("log-level") {
				final.LogLevel = cfg.LogLevel
			}
			if flags.Changed("log-format") {
				final.LogFormat = cfg.LogFormat
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, final, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "server-config", "", "YAML configuration file for the server")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to serve HTTP on (CUSTOS_LISTEN)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the SQLite store and the encryption key (CUSTOS_DATA_DIR)")
	f.StringVar(&cfg.Store, "store", "", "postgres://… URL of a PostgreSQL store; empty for SQLite in the data directory (CUSTOS_STORE)")
	f.DurationVar(&tokenTTL, "token-ttl", cfg.TokenTTL, "lifetime of bearer tokens (CUSTOS_TOKEN_TTL)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "request body size limit (CUSTOS_MAX_BODY_BYTES)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (CUSTOS_LOG_LEVEL)")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (CUSTOS_LOG_FORMAT)")
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
