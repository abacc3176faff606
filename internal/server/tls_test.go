package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCertificate writes a self-signed certificate for 127.0.0.1 with the
// given serial number, and its key, and returns the certificate.
func writeCertificate(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "custos test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed, as certificate renewal tools do.
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// Clients that hard-code https:// reach custos: it serves HTTPS and
// HTTP/2 with --tls-cert and --tls-key, and uses a renewed certificate
// without a restart.
func TestServeHTTPSReloadsTheCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeCertificate(t, certFile, keyFile, 1)
	cfg := Defaults()
	cfg.DataDir, cfg.Listen, cfg.TLSCert, cfg.TLSKey = t.TempDir(), "127.0.0.1:0", certFile, keyFile
	cfg.LogLevel = "error"
	app, err := New(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrs, served := make(chan string, 1), make(chan error, 1)
	go func() { served <- app.Serve(ctx, func(a string) { addrs <- a }) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "https://" + <-addrs

	// get makes a new connection trusting cert, and returns the serial
	// number the server presented and the protocol.
	get := func(trusted *x509.Certificate) (int64, string, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trusted)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(base + "/healthz")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, "", io.ErrUnexpectedEOF
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.Proto, nil
	}
	serial, proto, err := get(first)
	if err != nil || serial != 1 || proto != "HTTP/2.0" {
		t.Fatalf("first certificate: serial %d, %s, %v", serial, proto, err)
	}
	if resp, err := http.Get("http" + strings.TrimPrefix(base, "https") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP on the HTTPS address: %s", resp.Status)
		}
	}

	// A renewed certificate is served to new connections.
	second := writeCertificate(t, certFile, keyFile, 2)
	deadline := time.Now().Add(15 * time.Second)
	for {
		serial, _, err = get(second)
		if err == nil && serial == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was never served: serial %d, %v", serial, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A renewal caught half written keeps the current certificate.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(recheck + 100*time.Millisecond)
	if serial, _, err := get(second); err != nil || serial != 2 {
		t.Fatalf("after a broken renewal: serial %d, %v", serial, err)
	}
}

func TestTLSNeedsCertificateAndKey(t *testing.T) {
	cfg := Defaults()
	cfg.TLSCert = "cert.pem"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Fatalf("a certificate without its key: %v", err)
	}
	cfg = Defaults()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.TLSCert, cfg.TLSKey = filepath.Join(cfg.DataDir, "missing.crt"), filepath.Join(cfg.DataDir, "missing.key")
	app, err := New(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "missing.crt") {
		t.Fatalf("missing certificate files: %v", err)
	}
}

// A port in use is reported with the flag that chose it.
func TestListenInUseNamesTheFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := Defaults()
	cfg.DataDir, cfg.Listen = t.TempDir(), ln.Addr().String()
	app, err := New(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	err = app.Serve(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("serving on a port in use: %v", err)
	}
}
