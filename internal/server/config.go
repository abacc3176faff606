package server

import (
	"fmt"
	"os"
	"path/filepath"
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
	}
}

// fileConfig mirrors Config with durations as strings, for YAML files.
type fileConfig struct {
	Listen       *string `json:"listen"`
	DataDir      *string `json:"dataDir"`
	Store        *string `json:"store"`
	TokenTTL     *string `json:"tokenTTL"`
	MaxBodyBytes *int64  `json:"maxBodyBytes"`
	LogLevel     *string `json:"logLevel"`
	LogFormat    *string `json:"logFormat"`

	SchemaMonitorInterval *string `json:"schemaMonitorInterval"`
	SDDSampleSize         *int    `json:"sddSampleSize"`
}

// LoadFile applies a YAML configuration file. Unknown keys are an error, so
// that a typo does not go unnoticed.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read configuration file: %w", err)
	}
	var f fileConfig
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Listen, f.Listen)
	set(&c.DataDir, f.DataDir)
	set(&c.Store, f.Store)
	set(&c.LogLevel, f.LogLevel)
	set(&c.LogFormat, f.LogFormat)
	if f.MaxBodyBytes != nil {
		c.MaxBodyBytes = *f.MaxBodyBytes
	}
	if f.TokenTTL != nil {
		d, err := time.ParseDuration(*f.TokenTTL)
		if err != nil {
			return fmt.Errorf("configuration file %s: tokenTTL: %w", path, err)
		}
		c.TokenTTL = d
	}
	if f.SchemaMonitorInterval != nil {
		d, err := time.ParseDuration(*f.SchemaMonitorInterval)
		if err != nil {
			return fmt.Errorf("configuration file %s: schemaMonitorInterval: %w", path, err)
		}
		c.SchemaMonitorInterval = d
	}
	if f.SDDSampleSize != nil {
		c.SDDSampleSize = *f.SDDSampleSize
	}
	return nil
}

// LoadEnv applies CUSTOS_* environment variables.
func (c *Config) LoadEnv(getenv func(string) string) error {
	str := map[string]*string{
		"CUSTOS_LISTEN":     &c.Listen,
		"CUSTOS_DATA_DIR":   &c.DataDir,
		"CUSTOS_STORE":      &c.Store,
		"CUSTOS_LOG_LEVEL":  &c.LogLevel,
		"CUSTOS_LOG_FORMAT": &c.LogFormat,
	}
	for k, dst := range str {
		if v := getenv(k); v != "" {
			*dst = v
		}
	}
	if v := getenv("CUSTOS_TOKEN_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("CUSTOS_TOKEN_TTL: %w", err)
		}
		c.TokenTTL = d
	}
	if v := getenv("CUSTOS_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("CUSTOS_MAX_BODY_BYTES: %w", err)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("CUSTOS_SCHEMA_MONITOR_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("CUSTOS_SCHEMA_MONITOR_INTERVAL: %w", err)
		}
		c.SchemaMonitorInterval = d
	}
	if v := getenv("CUSTOS_SDD_SAMPLE_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("CUSTOS_SDD_SAMPLE_SIZE: %w", err)
		}
		c.SDDSampleSize = n
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
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log level must be debug, info, warn or error, not %q", c.LogLevel))
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
