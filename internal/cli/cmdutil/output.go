package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/payload"
)

// WriteJSONLine prints a JSON answer on one line, as the write commands
// (save, rename, delete) do; an answer that is not JSON is printed as is.
func WriteJSONLine(w io.Writer, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, bytes.TrimSpace(body)); err != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(body))
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteJSONIndented prints a JSON answer indented by two spaces, keeping
// the server's key order.
func WriteJSONIndented(w io.Writer, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(body), "", "  "); err != nil {
		buf.Reset()
		buf.Write(bytes.TrimSpace(body))
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// Template is a Go text/template rendered over a JSON answer.
type Template struct{ t *template.Template }

// ParseTemplate parses a template given on the command line; a bad
// template is a usage error, found before any request is sent.
func ParseTemplate(flag, text string) (*Template, error) {
	t, err := template.New(flag).Option("missingkey=zero").Parse(text)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "template: "+flag+":")
		if msg != err.Error() {
			msg = "line " + msg
		}
		return nil, Usagef("--%s is not a valid Go template: %s", flag, msg)
	}
	return &Template{t: t}, nil
}

// Execute renders the template over a JSON body.
func (t *Template) Execute(w io.Writer, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // integers print as written, not as 1e+06
	var data any
	if err := dec.Decode(&data); err != nil {
		return fmt.Errorf("the answer is not JSON, so the template cannot render it: %v", err)
	}
	if err := t.t.Execute(w, data); err != nil {
		return fmt.Errorf("rendering the template: %v", err)
	}
	return nil
}

// Output is the -o/--output and --outputTemplate pair of the SDD and audit
// commands.
type Output struct {
	Format       string
	TemplateText string
	formats      []string
	template     *Template
}

// AddFlags declares the flags on cmd; formats lists the -o values.
func (o *Output) AddFlags(cmd *cobra.Command, formats ...string) {
	o.formats = formats
	cmd.Flags().StringVarP(&o.Format, "output", "o", "", "output format: "+strings.Join(formats, " | "))
	cmd.Flags().StringVar(&o.TemplateText, "outputTemplate", "", "format the answer with a Go template rendered over its JSON")
}

// Check validates the flags before anything is sent.
func (o *Output) Check() error {
	if o.Format != "" {
		ok := false
		for _, f := range o.formats {
			ok = ok || f == o.Format
		}
		if !ok {
			return ArgErrorf("--output must be %s, not %q", strings.Join(o.formats, " or "), o.Format)
		}
	}
	if o.TemplateText != "" {
		if o.Format != "" {
			return ArgErrorf("give either --output or --outputTemplate, not both")
		}
		t, err := ParseTemplate("outputTemplate", o.TemplateText)
		if err != nil {
			return err
		}
		o.template = t
	}
	return nil
}

// Chosen reports whether the user picked a format or a template; commands
// then keep stdout for the data alone and say everything else on stderr.
func (o *Output) Chosen() bool { return o.Format != "" || o.template != nil }

// Write prints a JSON answer in the chosen format (json when none).
func (o *Output) Write(w io.Writer, body []byte) error {
	switch {
	case o.template != nil:
		return o.template.Execute(w, body)
	case o.Format == "yaml":
		y, err := payload.JSONToYAML(body)
		if err != nil {
			return fmt.Errorf("the answer is not JSON: %v", err)
		}
		_, err = w.Write(y)
		return err
	default:
		return WriteJSONIndented(w, body)
	}
}

// Status returns the stream for status lines ("Getting template ..."):
// stdout normally, stderr when the user chose a machine-readable output.
func (o *Output) Status(s IO) io.Writer {
	if o.Chosen() {
		return s.ErrOut
	}
	return s.Out
}
