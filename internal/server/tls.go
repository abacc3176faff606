package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certificate serves the TLS certificate of --tls-cert and --tls-key and
// loads it again when either file changes, so that a renewed certificate
// is used without a restart. A pair that does not load (a renewal caught
// half written) leaves the previous certificate in use until it does.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // modification times and sizes of the loaded files
	checked time.Time // when the files were last looked at
}

// recheck bounds how often the files are looked at: at most once a second,
// whatever the rate of new connections.
const recheck = time.Second

func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := c.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate (--tls-cert %s, --tls-key %s): %w", certFile, keyFile, err)
	}
	c.cert, c.stamp, c.checked = &cert, stamp, time.Now()
	return c, nil
}

// fileStamp identifies the current content of both files cheaply.
func (c *certificate) fileStamp() (string, error) {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("TLS file: %w", err)
		}
		s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return s, nil
}

// get is tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < recheck {
		return c.cert, nil
	}
	c.checked = time.Now()
	stamp, err := c.fileStamp()
	if err != nil || stamp == c.stamp {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		c.log.Warn("the TLS files changed but do not load; serving the previous certificate", "error", err)
		return c.cert, nil
	}
	c.cert, c.stamp = &cert, stamp
	c.log.Info("loaded the renewed TLS certificate", "certFile", c.certFile)
	return c.cert, nil
}

// tlsConfig is the server's TLS configuration: TLS 1.2 or later, the
// certificate reloaded on change, and HTTP/2 offered (net/http adds it).
func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}
