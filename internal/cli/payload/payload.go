// Package payload reads the documents custos commands send — V2 data
// source, policy, project and purpose files, SDD and audit export files —
// as YAML or JSON, resolves their {{EnvVar}} and {{ReadFile}} placeholders,
// recognises which kind of document a file is, and writes documents back
// as YAML for `custos clone`.
package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// Document is a parsed input file.
type Document struct {
	Path string         // as given on the command line
	Data map[string]any // the document; placeholders resolved once Resolve ran
	base string         // directory that relative ReadFile paths start from
}

// JSON is the document as the request body.
func (d *Document) JSON() []byte {
	b, _ := json.Marshal(d.Data)
	return b
}

// Env looks up environment variables for EnvVar placeholders.
type Env func(string) string

// Load reads a document and resolves its placeholders.
func Load(path string, stdin io.Reader, env Env) (*Document, error) {
	d, err := Read(path, stdin)
	if err != nil {
		return nil, err
	}
	return d, d.Resolve(env)
}

// Read reads path ("-" for stdin) and parses it as one YAML or JSON
// mapping, leaving placeholders as they are.
func Read(path string, stdin io.Reader) (*Document, error) {
	var (
		data []byte
		err  error
		base string
	)
	if path == "-" {
		data, err = io.ReadAll(stdin)
		base, _ = os.Getwd()
	} else {
		data, err = os.ReadFile(path)
		base = filepath.Dir(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &Document{Path: path, Data: m, base: base}, nil
}

// Resolve expands the {{EnvVar "NAME"}} and {{ReadFile "path"}}
// placeholders in the document's string values. Relative ReadFile paths
// are relative to the file's directory.
func (d *Document) Resolve(env Env) error {
	r := resolver{env: env, base: d.base}
	if _, err := r.value(d.Data, ""); err != nil {
		return fmt.Errorf("%s: %v", d.Path, err)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads exactly one YAML (or JSON) document that is a mapping.
func Parse(data []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.SetStrict(true) // duplicate keys are an error, not a silent overwrite
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML or JSON: %s", strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "yaml: ")), " "))
		}
		if v != nil {
			docs = append(docs, v)
		}
	}
	switch len(docs) {
	case 0:
		return nil, errors.New("the file is empty")
	case 1:
	default:
		return nil, fmt.Errorf("the file holds %d documents; give one document per file", len(docs))
	}
	v, err := plain(docs[0], "")
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document must be a mapping of fields, not %s", describe(v))
	}
	return m, nil
}

// plain turns a decoded YAML value into JSON-ready values.
func plain(v any, at string) (any, error) {
	switch x := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%s: keys must be strings, not %v", where(at), k)
			}
			pv, err := plain(val, join(at, key))
			if err != nil {
				return nil, err
			}
			out[key] = pv
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			pv, err := plain(val, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = pv
		}
		return out, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case float64:
		if x != x || x > 1.7e308 || x < -1.7e308 {
			return nil, fmt.Errorf("%s: %v is not a number JSON can hold", where(at), x)
		}
		return x, nil
	default:
		return x, nil
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func where(at string) string {
	if at == "" {
		return "the document"
	}
	return at
}

func describe(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "nothing"
	default:
		return "a single value"
	}
}

// Literal returns v (a value from DecodeOrdered) with every "{{" in its
// strings written as {{"{{"}}, so that Resolve gives the strings back as
// they are instead of reading the environment or files they name: a
// document read from a server is data, never placeholders.
func Literal(v any) any {
	switch x := v.(type) {
	case Ordered:
		for i := range x {
			x[i].Value = Literal(x[i].Value)
		}
		return x
	case []any:
		for i := range x {
			x[i] = Literal(x[i])
		}
		return x
	case string:
		return strings.ReplaceAll(x, "{{", `{{"{{"}}`)
	}
	return v
}

// resolver expands placeholders: Go text/template with exactly two
// functions, EnvVar "NAME" and ReadFile "path".
type resolver struct {
	env  Env
	base string
}

func (r resolver) value(v any, at string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // report the first problem deterministically
		for _, k := range keys {
			rv, err := r.value(x[k], join(at, k))
			if err != nil {
				return nil, err
			}
			x[k] = rv
		}
		return x, nil
	case []any:
		for i := range x {
			rv, err := r.value(x[i], at+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			x[i] = rv
		}
		return x, nil
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		out, err := r.expand(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where(at), err)
		}
		return out, nil
	}
	return v, nil
}

func (r resolver) expand(s string) (string, error) {
	funcs := template.FuncMap{
		"EnvVar": func(name string) (string, error) {
			v := r.env(name)
			if v == "" {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			return v, nil
		},
		"ReadFile": func(name string) (string, error) {
			p := name
			if !filepath.IsAbs(p) {
				p = filepath.Join(r.base, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("cannot read file %s: %v", name, unwrapPathError(err))
			}
			return string(b), nil
		},
	}
	t, err := template.New("value").Funcs(funcs).Option("missingkey=error").Parse(s)
	if err != nil {
		return "", fmt.Errorf("bad placeholder: %v", cleanTemplateError(err))
	}
	if err := onlyPlaceholders(t); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", cleanTemplateError(err)
	}
	return b.String(), nil
}

// cleanTemplateError drops text/template's position prefix, keeping the
// function's own message when there is one.
func cleanTemplateError(err error) error {
	var ee template.ExecError
	if errors.As(err, &ee) {
		if inner := errors.Unwrap(ee.Err); inner != nil {
			return inner
		}
		msg := ee.Err.Error()
		if i := strings.LastIndex(msg, "error calling "); i >= 0 {
			if j := strings.Index(msg[i:], ": "); j >= 0 {
				return errors.New(msg[i+j+2:])
			}
		}
		return ee.Err
	}
	msg := strings.TrimPrefix(err.Error(), "template: value:")
	if msg != err.Error() {
		msg = "line " + msg
	}
	return errors.New(strings.TrimSpace(msg))
}

// onlyPlaceholders accepts text, {{EnvVar "NAME"}}, {{ReadFile "path"}}
// and quoted strings such as {{"{{"}}: a value is data, not a program.
func onlyPlaceholders(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New(`only {{EnvVar "NAME"}} and {{ReadFile "path"}} placeholders are allowed`)
	}
	for _, n := range t.Tree.Root.Nodes {
		switch x := n.(type) {
		case *parse.TextNode:
			continue
		case *parse.ActionNode:
			if len(x.Pipe.Decl) == 0 && len(x.Pipe.Cmds) == 1 {
				args := x.Pipe.Cmds[0].Args
				if len(args) == 1 {
					if _, ok := args[0].(*parse.StringNode); ok {
						continue
					}
				}
				if len(args) == 2 {
					fn, isIdent := args[0].(*parse.IdentifierNode)
					_, isString := args[1].(*parse.StringNode)
					if isIdent && isString && (fn.Ident == "EnvVar" || fn.Ident == "ReadFile") {
						continue
					}
				}
			}
		}
		return fmt.Errorf(`only {{EnvVar "NAME"}} and {{ReadFile "path"}} placeholders are allowed, not %s`, n.String())
	}
	return nil
}
