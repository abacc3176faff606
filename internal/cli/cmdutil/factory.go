package cmdutil

import (
	"context"
	"net/http"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/config"
	"github.com/custosdata/custos/internal/version"
)

// Factory gives commands what they depend on, so that tests can replace
// it: the streams, the global flags, and the HTTP client.
type Factory struct {
	IO IO
	// ConfigFile and Profile are bound to the global --config and
	// --profile flags.
	ConfigFile string
	Profile    string
	// HTTPClient, when set, replaces the default transport.
	HTTPClient *http.Client
}

// ConfigPath is the configuration file in effect.
func (f *Factory) ConfigPath() string {
	return config.Locate(f.ConfigFile, f.IO.HomeDir())
}

// ProfileName is the profile in effect.
func (f *Factory) ProfileName() string {
	if f.Profile == "" {
		return config.DefaultProfile
	}
	return f.Profile
}

// Client returns a client for the configured server. Commands call it only
// after their input has been checked, so that nothing is sent for bad input.
func (f *Factory) Client() (*client.Client, error) {
	p, err := config.Resolve(f.ConfigPath(), f.ProfileName(), f.IO.Getenv)
	if err != nil {
		return nil, err
	}
	return f.ClientFor(p.Host, p.APIKey), nil
}

// ClientFor returns a client for an explicit server and key.
func (f *Factory) ClientFor(host, key string) *client.Client {
	return client.New(host, key, "custos-cli/"+version.String(), f.HTTPClient)
}

// Context is the context commands run requests in.
func Context(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
