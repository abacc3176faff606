// Package config reads and writes the client configuration file: named
// profiles, each holding the URL of a custos server and an API key, in the
// same shape as the immuta CLI's file so that one can be reused as is.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// File names in the home directory. The second is the immuta CLI's file,
// read when custos has none of its own.
const (
	FileName       = ".custoscfg.yaml"
	LegacyFileName = ".immutacfg.yaml"
	DefaultProfile = "default"
)

// Environment variables that override the file.
const (
	EnvURL    = "CUSTOS_URL"
	EnvAPIKey = "CUSTOS_API_KEY"
)

// Profile is one server and the key to call it with.
type Profile struct {
	Host   string `json:"host"`
	APIKey string `json:"api_key"`
}

// ErrNotConfigured means neither a file nor the environment names a server.
var ErrNotConfigured = errors.New("no custos server is configured")

// DefaultPath is where `custos configure` writes when --config is not given.
func DefaultPath(home string) string { return filepath.Join(home, FileName) }

// Locate returns the file to read: the explicit one if given, else
// ~/.custoscfg.yaml, else ~/.immutacfg.yaml when only that one exists.
func Locate(explicit, home string) string {
	if explicit != "" {
		return explicit
	}
	own := DefaultPath(home)
	if _, err := os.Stat(own); err != nil {
		legacy := filepath.Join(home, LegacyFileName)
		if _, err := os.Stat(legacy); err == nil {
			return legacy
		}
	}
	return own
}

// read parses the file at path; a missing file is an empty configuration.
func read(path string) (map[string]map[string]any, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]map[string]any{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read config file: %w", err)
	}
	profiles := map[string]map[string]any{}
	if err := yaml.Unmarshal(data, &profiles); err != nil {
		return nil, true, fmt.Errorf("config file %s is not a YAML map of profiles: %v", path, err)
	}
	if profiles == nil {
		profiles = map[string]map[string]any{}
	}
	return profiles, true, nil
}

// Resolve returns the profile to use: the named profile of the file at
// path, with CUSTOS_URL and CUSTOS_API_KEY overriding its fields.
func Resolve(path, profile string, getenv func(string) string) (Profile, error) {
	envURL, envKey := getenv(EnvURL), getenv(EnvAPIKey)
	var p Profile
	if envURL == "" || envKey == "" {
		profiles, exists, err := read(path)
		if err != nil {
			return Profile{}, err
		}
		raw, ok := profiles[profile]
		switch {
		case ok:
			p.Host, _ = raw["host"].(string)
			p.APIKey, _ = raw["api_key"].(string)
		case envURL != "":
			return Profile{}, fmt.Errorf("%s is set but %s is not, and profile %q is not configured", EnvURL, EnvAPIKey, profile)
		case envKey != "":
			return Profile{}, fmt.Errorf("%s is set but %s is not, and profile %q is not configured", EnvAPIKey, EnvURL, profile)
		case !exists:
			return Profile{}, fmt.Errorf("%w (%s does not exist): run `custos configure`, or set %s and %s",
				ErrNotConfigured, path, EnvURL, EnvAPIKey)
		default:
			return Profile{}, fmt.Errorf("profile %q is not in %s: run `custos configure --profile %s`", profile, path, profile)
		}
	}
	if envURL != "" {
		p.Host = envURL
	}
	if envKey != "" {
		p.APIKey = envKey
	}
	if p.Host == "" {
		return Profile{}, fmt.Errorf("profile %q has no host: run `custos configure --profile %s`", profile, profile)
	}
	if p.APIKey == "" {
		return Profile{}, fmt.Errorf("profile %q has no api_key: run `custos configure --profile %s`", profile, profile)
	}
	host, err := NormalizeURL(p.Host)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %q: %v", profile, err)
	}
	p.Host = host
	return p, nil
}

// NormalizeURL checks a server URL and returns it without a trailing
// slash. A bare host gets https://, except a loopback one (localhost,
// 127.0.0.1, ::1), which gets http://: a server on the same machine is most
// likely `custos serve` with its default plain HTTP.
func NormalizeURL(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("the server URL is empty")
	}
	if !strings.Contains(s, "://") {
		scheme := "https://"
		if u, err := url.Parse("http://" + s); err == nil && loopback(u.Hostname()) {
			scheme = "http://"
		}
		s = scheme + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the server URL %q is not a URL: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("the server URL %q must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("the server URL %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("the server URL %q must not have a query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Save writes profile name into the file at path, keeping the other
// profiles and any other keys of this one. The file is created (with its
// directory) if missing and always left with mode 0600: it holds keys.
func Save(path, name string, p Profile) error {
	profiles, _, err := read(path)
	if err != nil {
		return err
	}
	entry := profiles[name]
	if entry == nil {
		entry = map[string]any{}
	}
	entry["host"] = p.Host
	entry["api_key"] = p.APIKey
	profiles[name] = entry
	data, err := yaml.Marshal(profiles)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the config directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".custoscfg-*")
	if err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write config file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write config file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
