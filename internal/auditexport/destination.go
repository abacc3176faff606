package auditexport

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// destination receives exported files.
type destination interface {
	// Put stores data under name (a relative slash-separated path),
	// replacing what is there.
	Put(ctx context.Context, name string, data []byte) error
	// String says where files go, for status messages.
	String() string
}

// destination builds the destination of c with its secrets.
func (s *Service) destination(c *Config) (destination, error) {
	str := func(k string) string { v, _ := c.Endpoint[k].(string); return v }
	switch c.Type {
	case TypeLocal:
		if s.opts.Dir == "" {
			return nil, fmt.Errorf("this server has no audit export directory")
		}
		return localDir{root: s.opts.Dir, dir: filepath.Join(s.opts.Dir, filepath.FromSlash(str("directory")))}, nil
	case TypeS3:
		secrets, err := s.secrets(c)
		if err != nil {
			return nil, fmt.Errorf("the stored credentials cannot be read: %v", err)
		}
		return &s3Bucket{client: s.opts.HTTPClient, bucket: str("bucket"), prefix: str("path"), region: str("region"),
			endpoint: str("endpoint"), keyID: str("accessKeyId"), secret: secrets["secretAccessKey"]}, nil
	case TypeADLS:
		return nil, errNotConnected
	}
	return nil, fmt.Errorf("unknown destination type %q", c.Type)
}

// localDir writes files under a directory of the server.
type localDir struct{ root, dir string }

func (d localDir) String() string { return "the directory " + d.dir }

func (d localDir) Put(_ context.Context, name string, data []byte) error {
	target := filepath.Join(d.dir, filepath.FromSlash(path.Clean("/"+name)))
	if !strings.HasPrefix(target, filepath.Clean(d.root)+string(filepath.Separator)) {
		return fmt.Errorf("%s is outside the audit export directory", target)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
