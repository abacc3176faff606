// Package apicmd implements `custos api`: an authenticated request to any
// endpoint of the server, printing the answer (or a Go template of it).
package apicmd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
)

type options struct {
	method     string
	body       string
	data       []string
	rawData    []string
	headers    []string
	input      string
	query      []string
	pathParams []string
	template   string
}

// New returns the api command.
func New(f *cmdutil.Factory) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "api <endpoint>",
		Short: "Make an authenticated request to the custos API and print the answer",
		Long: `Make an authenticated request to any endpoint of the custos API and print the answer.

The endpoint is a path such as tag or /bim/rpc/user/current. The method is GET, or POST when a
body is given (--body, --input, --data or --raw-data); --method overrides it. --data values true,
false, null and integers become JSON booleans, null and numbers; --raw-data values stay strings;
a key ending in [] collects its values in an array. {name} in the endpoint is replaced by the
URL-escaped value of --path-param name=value.`,
		Example: `  custos api tag
  custos api tag -q searchText=Discovered -q limit=10
  custos api tag -q limit=10 --template '{{range .}}{{.name}}{{"\n"}}{{end}}'
  custos api dataSource/detectRemoteChanges -X PUT -d table=tableName -d schema=schemaName
  custos api project/current/{projectId} -P projectId=1 -X POST
  custos api bim/group --input group.json`,
		Args: cmdutil.Args("<endpoint>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, f, &o, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.method, "method", "X", "", "HTTP method (default GET, or POST when a body is given)")
	fl.StringVarP(&o.body, "body", "b", "", "request body, sent unmodified")
	fl.StringArrayVarP(&o.data, "data", "d", nil, "add a typed `key=value` field to a JSON body")
	fl.StringArrayVar(&o.rawData, "raw-data", nil, "add a string `key=value` field to a JSON body (also --data-raw)")
	fl.StringArrayVarP(&o.headers, "header", "H", nil, "add an HTTP request header (`key:value`)")
	fl.StringVar(&o.input, "input", "", "read the request body from a `file` (- for stdin)")
	fl.StringArrayVarP(&o.query, "query", "q", nil, "add a query parameter (`key=value`)")
	fl.StringArrayVarP(&o.pathParams, "path-param", "P", nil, "replace {key} in the endpoint (`key=value`)")
	fl.StringVarP(&o.template, "outputTemplate", "t", "", "format the answer with a Go template (also --template)")
	fl.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "data-raw":
			name = "raw-data"
		case "template":
			name = "outputTemplate"
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}

func run(cmd *cobra.Command, f *cmdutil.Factory, o *options, endpoint string) error {
	req, err := o.request(endpoint, f.IO.In)
	if err != nil {
		return err
	}
	var tmpl *cmdutil.Template
	if o.template != "" {
		if tmpl, err = cmdutil.ParseTemplate("outputTemplate", o.template); err != nil {
			return err
		}
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.Do(cmd.Context(), req)
	if err != nil {
		return err
	}
	out := f.IO.Out
	if tmpl != nil {
		return tmpl.Execute(out, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	if _, err := out.Write(resp.Body); err != nil {
		return err
	}
	if !bytes.HasSuffix(resp.Body, []byte("\n")) {
		_, err = io.WriteString(out, "\n")
	}
	return err
}

var placeholder = regexp.MustCompile(`\{([^{}/]+)\}`)

// request builds the request from the endpoint and the flags, checking
// everything before anything is sent.
func (o *options) request(endpoint string, stdin io.Reader) (client.Request, error) {
	var r client.Request
	path, rawQuery, _ := strings.Cut(endpoint, "?")
	params := map[string]string{}
	for _, p := range o.pathParams {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return r, cmdutil.ArgErrorf("--path-param %q must be key=value", p)
		}
		params[k] = v
	}
	var missing []string
	path = placeholder.ReplaceAllStringFunc(path, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := params[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return url.PathEscape(v)
	})
	if len(missing) > 0 {
		return r, cmdutil.ArgErrorf("the endpoint has {%s} but no --path-param %s=value", missing[0], missing[0])
	}
	r.Path = "/" + strings.TrimLeft(path, "/")

	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return r, cmdutil.ArgErrorf("the endpoint's query string is malformed: %v", err)
	}
	for _, q := range o.query {
		k, v, ok := strings.Cut(q, "=")
		if !ok || k == "" {
			return r, cmdutil.ArgErrorf("--query %q must be key=value", q)
		}
		query.Add(k, v)
	}
	r.Query = query

	r.Header = http.Header{}
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return r, cmdutil.ArgErrorf("--header %q must be key:value", h)
		}
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}

	sources := 0
	for _, given := range []bool{o.input != "", o.body != "", len(o.data)+len(o.rawData) > 0} {
		if given {
			sources++
		}
	}
	if sources > 1 {
		return r, cmdutil.ArgErrorf("give the body one way: --input, --body, or --data/--raw-data fields")
	}
	switch {
	case o.input != "":
		var data []byte
		if o.input == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(o.input)
		}
		if err != nil {
			return r, cmdutil.Usagef("cannot read --input %s: %v", o.input, err)
		}
		r.Body, r.ContentType = data, sniff(data)
	case o.body != "":
		r.Body, r.ContentType = []byte(o.body), sniff([]byte(o.body))
	case len(o.data)+len(o.rawData) > 0:
		fields, err := buildFields(o.data, o.rawData)
		if err != nil {
			return r, err
		}
		r.Body, _ = json.Marshal(fields)
		r.ContentType = "application/json"
	}

	switch {
	case o.method != "":
		r.Method = strings.ToUpper(o.method)
	case r.Body != nil:
		r.Method = http.MethodPost
	default:
		r.Method = http.MethodGet
	}
	return r, nil
}

// sniff picks the content type of a body given as text: JSON when it
// parses as JSON, YAML otherwise (the server reads both).
func sniff(b []byte) string {
	if json.Valid(b) {
		return "application/json"
	}
	return "application/yaml"
}

// buildFields turns key=value flags into a JSON object. Typed values
// convert true, false, null and integers; a key ending in [] appends to
// an array.
func buildFields(typed, raw []string) (map[string]any, error) {
	out := map[string]any{}
	add := func(flag, kv string, convert bool) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == "[]" {
			return cmdutil.ArgErrorf("--%s %q must be key=value", flag, kv)
		}
		var val any = v
		if convert {
			val = typedValue(v)
		}
		if name, isArray := strings.CutSuffix(k, "[]"); isArray {
			prev, exists := out[name]
			arr, ok := prev.([]any)
			if exists && !ok {
				return cmdutil.ArgErrorf("--%s %s: %s is already a single value", flag, kv, name)
			}
			out[name] = append(arr, val)
			return nil
		}
		if _, exists := out[k]; exists {
			return cmdutil.ArgErrorf("--%s %s: field %s is given twice (use %s[]=... for an array)", flag, kv, k, k)
		}
		out[k] = val
		return nil
	}
	for _, kv := range typed {
		if err := add("data", kv, true); err != nil {
			return nil, err
		}
	}
	for _, kv := range raw {
		if err := add("raw-data", kv, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func typedValue(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && (v == "0" || !strings.HasPrefix(strings.TrimPrefix(v, "-"), "0")) {
		return n
	}
	return v
}
