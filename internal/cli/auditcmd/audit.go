// Package auditcmd implements `custos audit exportConfig`: the
// configurations that export audit records to a local directory, S3 or
// ADLS Gen2 on an interval.
package auditcmd

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
	"github.com/custosdata/custos/internal/cli/payload"
)

const path = "/audit/exportConfig"

// Technologies are the export destinations.
var Technologies = []string{"s3", "adls", "local"}

// New returns the audit command.
func New(f *cmdutil.Factory) *cobra.Command {
	audit := cmdutil.Group(&cobra.Command{Use: "audit", Short: "Manage the audit trail's export"})
	export := cmdutil.Group(&cobra.Command{
		Use:   "exportConfig",
		Short: "Manage audit export configurations",
		Long: `Manage the configurations that export new audit records, as JSON lines, on an interval: to a
directory on the server (local), to an S3 bucket (s3) or to an ADLS Gen2 container (adls).`,
	})
	export.AddCommand(createCmd(f))
	for _, tech := range Technologies {
		export.AddCommand(createAsCmd(f, tech))
	}
	export.AddCommand(getCmd(f), listCmd(f), stateCmd(f, "enable"), stateCmd(f, "disable"), deleteCmd(f))
	audit.AddCommand(export)
	return audit
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:   "create <s3|adls|local> <filepath>",
		Short: "Create an audit export configuration from a JSON or YAML file",
		Long: `Create an audit export configuration. The file gives the interval and the destination, either
as fields beside interval or under endpointConfiguration:

  local:  interval, directory (relative to the server's audit export directory)
  s3:     interval, bucket, path, region, accessKeyId, secretAccessKey
  adls:   interval, storageAccount, container, path, sasToken

Intervals: EVERY_HOUR, EVERY_2_HOURS, EVERY_6_HOURS, EVERY_12_HOURS, EVERY_24_HOURS.
Secrets may be given as {{EnvVar "NAME"}} or {{ReadFile "path"}}. The form create:s3 <filepath>
is accepted too.`,
		Example: `  custos audit exportConfig create s3 ./exportConfig.json
  custos audit exportConfig create:s3 ./exportConfig.json
  custos audit exportConfig create local ./local-export.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.Args("<s3|adls|local>", "<filepath>")(cmd, args); err != nil {
				return err
			}
			return checkTechnology(args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return create(cmd, f, &out, args[0], args[1])
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

// createAsCmd is create:<technology> <filepath>.
func createAsCmd(f *cmdutil.Factory, tech string) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:    "create:" + tech + " <filepath>",
		Short:  "Create an audit export configuration to " + tech,
		Hidden: true,
		Args:   cmdutil.Args("<filepath>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return create(cmd, f, &out, tech, args[0])
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func checkTechnology(t string) error {
	for _, x := range Technologies {
		if t == x {
			return nil
		}
	}
	return cmdutil.ArgErrorf("the destination must be s3, adls or local, not %q", t)
}

// Body turns a configuration file into the request body: interval and
// enabled stay at the top, the other fields form endpointConfiguration.
func Body(tech string, doc map[string]any) (map[string]any, error) {
	if t, ok := doc["type"]; ok && t != tech {
		return nil, fmt.Errorf("the file says type %v but the command says %s", t, tech)
	}
	body := map[string]any{"type": tech}
	endpoint := map[string]any{}
	if nested, ok := doc["endpointConfiguration"]; ok {
		m, isMap := nested.(map[string]any)
		if !isMap {
			return nil, fmt.Errorf("endpointConfiguration must be a mapping of fields")
		}
		endpoint = m
	}
	for k, v := range doc {
		switch k {
		case "type", "endpointConfiguration":
		case "interval", "enabled":
			body[k] = v
		default:
			if _, nested := doc["endpointConfiguration"]; nested {
				return nil, fmt.Errorf("%s must be inside endpointConfiguration", k)
			}
			endpoint[k] = v
		}
	}
	delete(endpoint, "__typename")
	body["endpointConfiguration"] = endpoint
	return body, nil
}

func create(cmd *cobra.Command, f *cmdutil.Factory, out *cmdutil.Output, tech, file string) error {
	if err := out.Check(); err != nil {
		return err
	}
	doc, err := payload.Read(file, f.IO.In)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	if kind, err := payload.DetectKind(doc.Data); err == nil {
		return cmdutil.Usagef("%s is a %s document, not an audit export configuration", file, kind)
	}
	if _, err := Body(tech, doc.Data); err != nil {
		return cmdutil.Usagef("%s: %v", file, err)
	}
	if err := doc.Resolve(f.IO.Getenv); err != nil {
		return cmdutil.Usagef("%v", err)
	}
	body, _ := Body(tech, doc.Data) // checked above; built again from the resolved values
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.JSON(cmd.Context(), http.MethodPost, path, nil, body, nil)
	if err != nil {
		return err
	}
	return out.Write(f.IO.Out, resp)
}

func getCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "get <export configuration ID>",
		Short:   "Get an audit export configuration",
		Example: "  custos audit exportConfig get f7f9e289-f37b-4942-a18d-66d6de6e7cb2",
		Args:    cmdutil.Args("<export configuration ID>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, f, &out, http.MethodGet, path+client.Path(args[0]), "")
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the audit export configurations",
		Example: "  custos audit exportConfig list",
		Args:    cmdutil.Args(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, f, &out, http.MethodGet, path, "")
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func stateCmd(f *cmdutil.Factory, verb string) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     verb + " <export configuration ID>",
		Short:   strings.ToUpper(verb[:1]) + verb[1:] + " an audit export configuration",
		Example: "  custos audit exportConfig " + verb + " f7f9e289-f37b-4942-a18d-66d6de6e7cb2",
		Args:    cmdutil.Args("<export configuration ID>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, f, &out, http.MethodPut, path+client.Path(args[0], verb), "")
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func deleteCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:     "delete <export configuration ID>",
		Short:   "Delete an audit export configuration",
		Example: "  custos audit exportConfig delete f7f9e289-f37b-4942-a18d-66d6de6e7cb2",
		Args:    cmdutil.Args("<export configuration ID>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, f, &out, http.MethodDelete, path+client.Path(args[0]),
				"Deleted audit export configuration "+args[0])
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

// send makes a request without a body and prints the answer, or done
// when there is none.
func send(cmd *cobra.Command, f *cmdutil.Factory, out *cmdutil.Output, method, p, done string) error {
	if err := out.Check(); err != nil {
		return err
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	resp, err := c.JSON(cmd.Context(), method, p, nil, nil, nil)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(resp))) == 0 {
		if done != "" {
			fmt.Fprintln(out.Status(f.IO), done)
		}
		return nil
	}
	return out.Write(f.IO.Out, resp)
}
