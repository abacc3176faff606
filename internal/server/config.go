package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is the server's configuration. Values come from defaults, then an
// optional YAML file, then CUSTOS_* environment variables, then flags.
type Config struct {
	Listen       string        `json:"listen"`       // address to serve HTTP on
	DataDir      string        `json:"dataDir"`      // holds the SQLite store and the encryption key
	Store        string        `json:"store"`        // "" (SQLite in DataDir) or a postgres:// URL
	TokenTTL     time.Duration `json:"tokenTTL"`     // lifetime of bearer tokens
	MaxBodyBytes int64         `json:"maxBodyBytes"` // request body limit
	LogLevel     string        `json:"logLevel"`     // debug, info, warn, error
	LogFormat    string        `json:"logFormat"`    // text or json
	// SchemaMonitorInterval is how often schema monitoring re-reads each
	// monitored connection.
	SchemaMonitorInterval time.Duration `json:"schemaMonitorInterval"`
	// SDDSampleSize is how many rows sensitive data discovery samples per
	// data source.
	SDDSampleSize int `json:"sddSampleSize"`
	// LoginFailureLimit is how many password logins an account may fail
	// before it must wait (0: no limit); LoginAddressFailureLimit the same
	// per source address; a spent budget comes back whole over
	// LoginFailureWindow. Servers sharing a store share the budgets.
	LoginFailureLimit        int           `json:"loginFailureLimit"`
	LoginAddressFailureLimit int           `json:"loginAddressFailureLimit"`
	LoginFailureWindow       time.Duration `json:"loginFailureWindow"`
	// PasswordHashConcurrency bounds the password hashes (argon2id, 19 MiB
	// each) computed at once; 0 means one per CPU.
	PasswordHashConcurrency int `json:"passwordHashConcurrency"`
	// TLSCert and TLSKey, both set, serve HTTPS (and HTTP/2) with this
	// certificate and key (PEM files), loaded again when they change.
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
	// AdminAPIKey, when set on first start, becomes the administrator's key
	// instead of a generated one. Read from CUSTOS_ADMIN_API_KEY only.
	AdminAPIKey string `json:"-"`
}

// Defaults returns the configuration that `custos serve` runs with alone.
func Defaults() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		DataDir:      "custos-data",
		TokenTTL:     time.Hour,
		MaxBodyBytes: 16 << 20,
		LogLevel:     "info",
		LogFormat:    "text",

		SchemaMonitorInterval: 24 * time.Hour,
		SDDSampleSize:         100,

		LoginFailureLimit:        10,
		LoginAddressFailureLimit: 50,
		LoginFailureWindow:       15 * time.Minute,
	}
}

// Setting is one configuration value: its flag, environment variable and
// configuration file key, and how to apply a textual value. One table serves
// all three sources, so they cannot disagree.
type Setting struct {
	Flag  string
	Env   string
	Key   string // key in the YAML configuration file
	Usage string
	Apply func(c *Config, v string) error
	Show  func(c Config) string
}

func str(get func(c *Config) *string) (func(*Config, string) error, func(Config) string) {
	return func(c *Config, v string) error { *get(c) = v; return nil },
		func(c Config) string { return *get(&c) }
}

func dur(get func(c *Config) *time.Duration) (func(*Config, string) error, func(Config) string) {
	return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration (e.g. 90s, 1h)", v)
			}
			*get(c) = d
			return nil
		},
		func(c Config) string { return get(&c).String() }
}

func integer[T int | int64](get func(c *Config) *T) (func(*Config, string) error, func(Config) string) {
	return func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", v)
			}
			*get(c) = T(n)
			return nil
		},
		func(c Config) string { return strconv.FormatInt(int64(*get(&c)), 10) }
}

func setting(flag, env, key, usage string, apply func(*Config, string) error, show func(Config) string) Setting {
	return Setting{Flag: flag, Env: env, Key: key, Usage: usage, Apply: apply, Show: show}
}

// Settings lists every configuration value.
var Settings = func() []Setting {
	listenA, listenS := str(func(c *Config) *string { return &c.Listen })
	dataA, dataS := str(func(c *Config) *string { return &c.DataDir })
	storeA, storeS := str(func(c *Config) *string { return &c.Store })
	ttlA, ttlS := dur(func(c *Config) *time.Duration { return &c.TokenTTL })
	bodyA, bodyS := integer(func(c *Config) *int64 { return &c.MaxBodyBytes })
	levelA, levelS := str(func(c *Config) *string { return &c.LogLevel })
	formatA, formatS := str(func(c *Config) *string { return &c.LogFormat })
	monA, monS := dur(func(c *Config) *time.Duration { return &c.SchemaMonitorInterval })
	sampleA, sampleS := integer(func(c *Config) *int { return &c.SDDSampleSize })
	loginA, loginS := integer(func(c *Config) *int { return &c.LoginFailureLimit })
	addrA, addrS := integer(func(c *Config) *int { return &c.LoginAddressFailureLimit })
	windowA, windowS := dur(func(c *Config) *time.Duration { return &c.LoginFailureWindow })
	hashA, hashS := integer(func(c *Config) *int { return &c.PasswordHashConcurrency })
	certA, certS := str(func(c *Config) *string { return &c.TLSCert })
	keyA, keyS := str(func(c *Config) *string { return &c.TLSKey })
	return []Setting{
		setting("listen", "CUSTOS_LISTEN", "listen", "address to serve HTTP on", listenA, listenS),
		setting("data-dir", "CUSTOS_DATA_DIR", "dataDir", "directory for the SQLite store and the encryption key", dataA, dataS),
		setting("store", "CUSTOS_STORE", "store", "postgres://… URL of a PostgreSQL store; empty for SQLite in the data directory", storeA, storeS),
		setting("token-ttl", "CUSTOS_TOKEN_TTL", "tokenTTL", "lifetime of bearer tokens", ttlA, ttlS),
		setting("max-body-bytes", "CUSTOS_MAX_BODY_BYTES", "maxBodyBytes", "request body size limit in bytes", bodyA, bodyS),
		setting("log-level", "CUSTOS_LOG_LEVEL", "logLevel", "debug, info, warn or error", levelA, levelS),
		setting("log-format", "CUSTOS_LOG_FORMAT", "logFormat", "text or json", formatA, formatS),
		setting("schema-monitor-interval", "CUSTOS_SCHEMA_MONITOR_INTERVAL", "schemaMonitorInterval", "how often schema monitoring re-reads each monitored connection", monA, monS),
		setting("sdd-sample-size", "CUSTOS_SDD_SAMPLE_SIZE", "sddSampleSize", "rows sensitive data discovery samples per data source", sampleA, sampleS),
		setting("login-failure-limit", "CUSTOS_LOGIN_FAILURE_LIMIT", "loginFailureLimit", "failed password logins an account may make before it must wait (0: no limit)", loginA, loginS),
		setting("login-address-failure-limit", "CUSTOS_LOGIN_ADDRESS_FAILURE_LIMIT", "loginAddressFailureLimit", "failed password logins a source address may make before it must wait (0: no limit)", addrA, addrS),
		setting("login-failure-window", "CUSTOS_LOGIN_FAILURE_WINDOW", "loginFailureWindow", "time in which a spent login budget comes back whole", windowA, windowS),
		setting("password-hash-concurrency", "CUSTOS_PASSWORD_HASH_CONCURRENCY", "passwordHashConcurrency", "password hashes computed at once (0: one per CPU)", hashA, hashS),
		setting("tls-cert", "CUSTOS_TLS_CERT", "tlsCert", "PEM certificate (with its chain) to serve HTTPS with; reloaded when it changes", certA, certS),
		setting("tls-key", "CUSTOS_TLS_KEY", "tlsKey", "PEM private key of --tls-cert", keyA, keyS),
	}
}()

// LoadFile applies a YAML configuration file. Unknown keys are an error, so
// that a typo does not go unnoticed.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read configuration file: %w", err)
	}
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	var values map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // keep 1048576 from becoming 1.048576e+06
	if err := dec.Decode(&values); err != nil {
		return fmt.Errorf("configuration file %s: expected a mapping of settings: %w", path, err)
	}
	known := map[string]Setting{}
	for _, s := range Settings {
		known[s.Key] = s
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := known[k]
		if !ok {
			return fmt.Errorf("configuration file %s: unknown key %q", path, k)
		}
		if err := s.Apply(c, fmt.Sprint(values[k])); err != nil {
			return fmt.Errorf("configuration file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

// LoadEnv applies CUSTOS_* environment variables.
func (c *Config) LoadEnv(getenv func(string) string) error {
	for _, s := range Settings {
		if v := getenv(s.Env); v != "" {
			if err := s.Apply(c, v); err != nil {
				return fmt.Errorf("%s: %w", s.Env, err)
			}
		}
	}
	c.AdminAPIKey = getenv("CUSTOS_ADMIN_API_KEY")
	return nil
}

// Validate checks the configuration before anything starts.
func (c *Config) Validate() error {
	var problems []string
	if c.Listen == "" {
		problems = append(problems, "listen address is empty")
	}
	if c.DataDir == "" {
		problems = append(problems, "data directory is empty")
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		problems = append(problems, fmt.Sprintf("store must be empty (SQLite in the data directory) or a postgres:// URL, not %q", redact(c.Store)))
	}
	if c.TokenTTL < time.Minute {
		problems = append(problems, "token TTL must be at least one minute")
	}
	if c.MaxBodyBytes < 1024 {
		problems = append(problems, "max body bytes must be at least 1024")
	}
	if c.SchemaMonitorInterval < 100*time.Millisecond {
		problems = append(problems, "schema monitor interval must be at least 100ms")
	}
	if c.SDDSampleSize < 1 || c.SDDSampleSize > 10000 {
		problems = append(problems, fmt.Sprintf("SDD sample size must be between 1 and 10000, not %d", c.SDDSampleSize))
	}
	if c.LoginFailureLimit < 0 || c.LoginAddressFailureLimit < 0 {
		problems = append(problems, "login failure limits must not be negative")
	}
	if c.LoginFailureWindow < time.Second {
		problems = append(problems, "login failure window must be at least one second")
	}
	if c.PasswordHashConcurrency < 0 {
		problems = append(problems, "password hash concurrency must not be negative")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log level must be debug, info, warn or error, not %q", c.LogLevel))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "HTTPS needs both a certificate and its key (--tls-cert and --tls-key)")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("log format must be text or json, not %q", c.LogFormat))
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// StoreLocation is what store.Open takes: the PostgreSQL URL or the data directory.
func (c *Config) StoreLocation() string {
	if c.Store != "" {
		return c.Store
	}
	return filepath.Clean(c.DataDir)
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	if at := strings.LastIndex(s, "@"); at > 0 {
		if colon := strings.Index(s, "://"); colon >= 0 {
			if pw := strings.Index(s[colon+3:at], ":"); pw >= 0 {
				return s[:colon+3+pw+1] + "****" + s[at:]
			}
		}
	}
	return s
}
