// Package clone implements `custos clone`: every data source connection,
// policy, project and purpose of a server written as V2 YAML files, with
// secrets replaced by {{EnvVar}} and {{ReadFile}} placeholders that `save`
// resolves, so that a tenant can be kept in Git.
package clone

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
)

// New returns the clone command.
func New(f *cmdutil.Factory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "clone <directory>",
		Short: "Write every data source, project, policy and purpose to V2 YAML files",
		Long: `Write every data source connection, global policy, project and purpose of the server as V2
YAML files under <directory> (datasource/, policy/, project/, purpose/), ready to be kept in Git and
saved back with the save commands.

The server never returns secrets. Where a connection needs one, the file holds a placeholder
instead: {{EnvVar "NAME"}} for passwords and client secrets (set NAME before saving) and
{{ReadFile "file"}} for the base64 content of user files (a path relative to the YAML file).

The directory must be empty or missing unless --force is given; --force overwrites the files it
writes and leaves other files alone. Cloning needs the GOVERNANCE permission.`,
		Example: "  custos clone ./tenant\n  custos clone ./tenant --force",
		Args:    cmdutil.Args("<directory>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := CheckDir(args[0], force); err != nil {
				return err
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			cl := NewCloner(f, c, args[0], false)
			ctx := cmd.Context()
			for _, step := range []func(context.Context) error{cl.DataSources, cl.Policies, cl.Projects, cl.Purposes} {
				if err := step(ctx); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "write into a directory that is not empty, overwriting files")
	return cmd
}

// CheckDir refuses an output directory that holds anything, unless force.
func CheckDir(dir string, force bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return cmdutil.Usagef("cannot use %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return cmdutil.Usagef("%s is not a directory", dir)
	}
	if force {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return cmdutil.Usagef("cannot read %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return cmdutil.Usagef("the output directory %s is not empty: use --force to overwrite files in it", dir)
	}
	return nil
}

// Cloner writes documents from one server under one directory.
type Cloner struct {
	f       *cmdutil.Factory
	c       *client.Client
	dir     string
	verbose bool
	written map[string]bool
}

// NewCloner returns a Cloner; verbose also prints every file written.
func NewCloner(f *cmdutil.Factory, c *client.Client, dir string, verbose bool) *Cloner {
	return &Cloner{f: f, c: c, dir: dir, verbose: verbose, written: map[string]bool{}}
}

// DataSources writes one file per connection key.
func (cl *Cloner) DataSources(ctx context.Context) error {
	fmt.Fprintln(cl.f.IO.Out, "Cloning all data sources...")
	var keys []struct {
		ConnectionKey string `json:"connectionKey"`
	}
	if _, err := cl.c.JSON(ctx, http.MethodGet, "/api/v2/data", nil, nil, &keys); err != nil {
		return err
	}
	p := cl.f.IO.StartProgress("Cloning data sources")
	defer p.Stop()
	for i, k := range keys {
		p.Update("Cloning data sources %d/%d", i+1, len(keys))
		body, err := cl.c.JSON(ctx, http.MethodGet, "/api/v2/data"+client.Path(k.ConnectionKey), nil, nil, nil)
		if err != nil {
			return err
		}
		doc, err := payload.DecodeOrdered(body)
		if err != nil {
			return fmt.Errorf("data source %s: the server's answer is not JSON: %v", k.ConnectionKey, err)
		}
		obj, ok := payload.Literal(doc).(payload.Ordered)
		if !ok {
			return fmt.Errorf("data source %s: the server's answer is not an object", k.ConnectionKey)
		}
		if err := cl.write("datasource", k.ConnectionKey, AddPlaceholders(obj)); err != nil {
			return err
		}
	}
	return nil
}

// Policies writes one file per global policy.
func (cl *Cloner) Policies(ctx context.Context) error {
	fmt.Fprintln(cl.f.IO.Out, "Cloning all global policies...")
	return cl.list(ctx, "/api/v2/policy", "policy", "policyKey")
}

// Projects writes one file per project.
func (cl *Cloner) Projects(ctx context.Context) error {
	fmt.Fprintln(cl.f.IO.Out, "Cloning all projects...")
	return cl.list(ctx, "/api/v2/project", "project", "projectKey")
}

// Purposes writes one file per purpose.
func (cl *Cloner) Purposes(ctx context.Context) error {
	fmt.Fprintln(cl.f.IO.Out, "Cloning all purposes...")
	return cl.list(ctx, "/api/v2/purpose", "purpose", "name")
}

func (cl *Cloner) list(ctx context.Context, path, sub, keyField string) error {
	p := cl.f.IO.StartProgress("Reading " + sub + " documents")
	body, err := cl.c.JSON(ctx, http.MethodGet, path, nil, nil, nil)
	p.Stop()
	if err != nil {
		return err
	}
	all, err := payload.DecodeOrdered(body)
	if err != nil {
		return fmt.Errorf("%s: the server's answer is not JSON: %v", path, err)
	}
	docs, ok := all.([]any)
	if !ok {
		return fmt.Errorf("%s: the server's answer is not a list", path)
	}
	for _, d := range docs {
		obj, ok := d.(payload.Ordered)
		if !ok {
			return fmt.Errorf("%s: the server listed something that is not a document", path)
		}
		key, _ := payload.Get(obj, keyField)
		name, _ := key.(string)
		if name == "" {
			return fmt.Errorf("%s: a document has no %s", path, keyField)
		}
		if err := cl.write(sub, name, payload.Literal(obj).(payload.Ordered)); err != nil {
			return err
		}
	}
	return nil
}

// write saves one document as <dir>/<sub>/<file name of key>.yaml.
func (cl *Cloner) write(sub, key string, doc payload.Ordered) error {
	dir := filepath.Join(cl.dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %v", dir, err)
	}
	base := FileName(key)
	path := filepath.Join(dir, base+".yaml")
	for n := 2; cl.written[path]; n++ {
		path = filepath.Join(dir, fmt.Sprintf("%s (%d).yaml", base, n))
	}
	cl.written[path] = true
	data, err := payload.ToYAML(doc)
	if err != nil {
		return fmt.Errorf("%s %s: %v", sub, key, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %v", path, err)
	}
	if _, err := fmt.Fprintf(cl.f.IO.Out, "Cloning: %s to %s\n", key, path); err != nil {
		return err
	}
	if cl.verbose {
		_, err = cl.f.IO.Out.Write(data)
	}
	return err
}

// FileName turns a key into a file name: characters other than letters,
// digits, spaces, dots, dashes and underscores become underscores.
func FileName(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		case r > 127 && r != 0xFFFD:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), " .")
	if name == "" {
		name = "unnamed"
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// EnvName is the environment variable a connection's secret is read from:
// the connection key in upper case with other characters as underscores,
// then the secret's name, e.g. MY_DATABRICKS_PASSWORD.
func EnvName(connectionKey, secret string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(connectionKey) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	name := strings.TrimRight(b.String(), "_")
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		name = "CUSTOS_" + name
	}
	return strings.TrimRight(name, "_") + "_" + secret
}

// AddPlaceholders puts placeholders where a connection needs a secret the
// server did not return: the password of methods that use one (or the
// client secret of OAuth machine-to-machine connections) and the content of
// user files.
func AddPlaceholders(doc payload.Ordered) payload.Ordered {
	key, _ := payload.Get(doc, "connectionKey")
	connKey, _ := key.(string)
	conn, ok := get[payload.Ordered](doc, "connection")
	if !ok {
		return doc
	}
	method, _ := get[string](conn, "authenticationMethod")
	switch strings.ToLower(method) {
	case "oauthm2m":
		if missing(conn, "clientSecret") {
			conn = payload.Set(conn, "clientSecret", envVar(EnvName(connKey, "CLIENT_SECRET")))
		}
	case "kerberos", "kerberos authentication", "keypair", "keyfile", "auto", "no authentication", "oauthclientcredentials":
		// these authenticate with a file, a ticket or the platform's own
		// credentials: no password
	default:
		if _, hasUser := payload.Get(conn, "username"); hasUser && missing(conn, "password") {
			conn = payload.Set(conn, "password", envVar(EnvName(connKey, "PASSWORD")))
		}
	}
	if files, ok := get[[]any](conn, "userFiles"); ok {
		for i, item := range files {
			file, ok := item.(payload.Ordered)
			if !ok || !missing(file, "content") {
				continue
			}
			name, _ := get[string](file, "userFilename")
			if name == "" {
				name, _ = get[string](file, "keyName")
			}
			files[i] = payload.Set(file, "content", fmt.Sprintf(`{{ReadFile "%s.b64"}}`, FileName(name)))
		}
		conn = payload.Set(conn, "userFiles", files)
	}
	return payload.Set(doc, "connection", conn)
}

func envVar(name string) string { return fmt.Sprintf(`{{EnvVar "%s"}}`, name) }

func missing(o payload.Ordered, key string) bool {
	v, ok := payload.Get(o, key)
	s, isString := v.(string)
	return !ok || v == nil || (isString && s == "")
}

func get[T any](o payload.Ordered, key string) (T, bool) {
	v, _ := payload.Get(o, key)
	t, ok := v.(T)
	return t, ok
}
