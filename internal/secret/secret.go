// Package secret encrypts secrets at rest (connection passwords, masking
// keys) with a key the server keeps outside the database, and hashes
// credentials (API keys, tokens) for storage.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the key file in the data directory.
const KeyFile = "custos.key"

// Box encrypts and decrypts with AES-256-GCM.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("encryption key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// LoadOrCreate reads the key file in dir, creating it with a new random key
// (mode 0600) on first start. It refuses a key file readable by others.
func LoadOrCreate(dir string) (*Box, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create encryption key %s: %w", path, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		cerr := f.Close()
		if werr != nil || cerr != nil {
			return nil, fmt.Errorf("write encryption key %s: %v %v", path, werr, cerr)
		}
		return NewBox(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read encryption key %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("encryption key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("encryption key %s is not hex: %w", path, err)
	}
	return NewBox(key)
}

// Seal encrypts plaintext; the result is text safe to store.
func (b *Box) Seal(plaintext []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // the system's random source failing is not recoverable
	}
	return "v1:" + base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plaintext, nil))
}

// Open decrypts a value produced by Seal.
func (b *Box) Open(sealed string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, errors.New("sealed value has an unknown format")
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, errors.New("sealed value is corrupt")
	}
	n := b.aead.NonceSize()
	out, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return nil, errors.New("sealed value cannot be decrypted with this server's key")
	}
	return out, nil
}

// NewCredential returns a random credential of n bytes as lowercase hex.
func NewCredential(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// HashCredential is how API keys and tokens are stored. They are random and
// long, so a fast hash is enough: guessing the input is infeasible.
func HashCredential(credential string) string {
	sum := sha256.Sum256([]byte(credential))
	return hex.EncodeToString(sum[:])
}
