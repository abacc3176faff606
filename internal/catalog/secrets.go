package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/store"
)

// secrets are the fields of a connection block that are sealed with the
// server key and never returned: passwords, tokens, client secrets and the
// contents of key files.
type secrets struct {
	Password     string            `json:"password,omitempty"`
	Token        string            `json:"token,omitempty"`
	ClientSecret string            `json:"clientSecret,omitempty"`
	Files        map[string]string `json:"files,omitempty"` // userFiles content by keyName
}

// withoutSecrets returns c with every secret blanked.
func withoutSecrets(c connector.Connection) connector.Connection {
	c.Password, c.Token, c.ClientSecret = "", "", ""
	if len(c.UserFiles) > 0 {
		files := make([]connector.UserFile, len(c.UserFiles))
		for i, f := range c.UserFiles {
			f.Content = ""
			files[i] = f
		}
		c.UserFiles = files
	}
	return c
}

func secretsOf(c connector.Connection) secrets {
	s := secrets{Password: c.Password, Token: c.Token, ClientSecret: c.ClientSecret}
	for _, f := range c.UserFiles {
		if f.Content != "" {
			if s.Files == nil {
				s.Files = map[string]string{}
			}
			s.Files[f.KeyName] = f.Content
		}
	}
	return s
}

// seal encrypts the connection's secrets, or returns nil when it has none.
func (s *Service) seal(c connector.Connection) (*string, error) {
	sec := secretsOf(c)
	if sec.Password == "" && sec.Token == "" && sec.ClientSecret == "" && len(sec.Files) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	sealed := s.secrets.Seal(b)
	return &sealed, nil
}

// connectionOf rebuilds a stored connection block with its secrets.
func (s *Service) connectionOf(c *store.Connection) (connector.Connection, error) {
	var out connector.Connection
	if err := json.Unmarshal(c.Config, &out); err != nil {
		return out, fmt.Errorf("connection %q: stored config: %w", c.ConnectionKey, err)
	}
	if c.Secret == nil {
		return out, nil
	}
	raw, err := s.secrets.Open(*c.Secret)
	if err != nil {
		return out, fmt.Errorf("connection %q: %w", c.ConnectionKey, err)
	}
	var sec secrets
	if err := json.Unmarshal(raw, &sec); err != nil {
		return out, fmt.Errorf("connection %q: sealed secrets: %w", c.ConnectionKey, err)
	}
	out.Password, out.Token, out.ClientSecret = sec.Password, sec.Token, sec.ClientSecret
	for i, f := range out.UserFiles {
		if content, ok := sec.Files[f.KeyName]; ok {
			out.UserFiles[i].Content = content
		}
	}
	return out, nil
}

// keepSecrets fills the secrets a re-posted connection leaves out from the
// stored ones, when it logs in as the same user: a document read back from
// the API (which never shows secrets) can be posted again as it is.
func keepSecrets(in *connector.Connection, stored connector.Connection) {
	if in.Username != stored.Username {
		return
	}
	if in.Password == "" {
		in.Password = stored.Password
	}
	if in.Token == "" {
		in.Token = stored.Token
	}
	if in.ClientSecret == "" {
		in.ClientSecret = stored.ClientSecret
	}
	for i, f := range in.UserFiles {
		if f.Content != "" {
			continue
		}
		for _, sf := range stored.UserFiles {
			if sf.KeyName == f.KeyName {
				in.UserFiles[i].Content = sf.Content
			}
		}
	}
}

// sameIdentity reports whether two connection blocks reach the same
// database: same technology, host, port and database. Credentials, SSL and
// the schema may change under one connection key; the identity may not.
func sameIdentity(a, b connector.Connection) bool {
	port := func(c connector.Connection) int {
		if c.Port == 0 {
			return connector.DefaultPort(c.Handler)
		}
		return c.Port
	}
	return a.Handler == b.Handler && strings.EqualFold(a.Hostname, b.Hostname) && port(a) == port(b) && a.Database == b.Database &&
		a.HTTPPath == b.HTTPPath && a.SID == b.SID
}
