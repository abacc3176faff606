package sdd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
)

type runOptions struct {
	dryRun, force bool
	template      string
	wait          int
	out           cmdutil.Output
}

func runCmd(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [datasourceName(s)]",
		Short: "Run sensitive data discovery with the provided options",
		Long: `Run sensitive data discovery on the named data sources, or on every data source when none is
named (after a confirmation, which --force skips). By default the command waits until the jobs
finish; --wait sets a limit in seconds.`,
		Example: `  # a dry run on two data sources with another template
  custos sdd run "Datasource One" "Datasource Two" --dryRun --template "someFramework"
  # every data source
  custos sdd run --force`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, f, &o, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.dryRun, "dryRun", "d", false, "change no tags; show the tags that would be applied")
	fl.BoolVarP(&o.force, "force", "f", false, "do not ask for confirmation when running on all data sources")
	fl.StringVarP(&o.template, "template", "t", "", "run with this template instead of the applied one (only with --dryRun)")
	fl.IntVarP(&o.wait, "wait", "w", -1, "seconds to wait for the SDD jobs to finish (-1: until they finish)")
	o.out.AddFlags(cmd, "json", "yaml")
	return cmd
}

type job struct {
	ID     string          `json:"id"`
	State  string          `json:"state"`
	Output json.RawMessage `json:"output"`
}

func run(cmd *cobra.Command, f *cmdutil.Factory, o *runOptions, names []string) error {
	if o.template != "" && !o.dryRun {
		return cmdutil.ArgErrorf("--template can only be used with --dryRun")
	}
	if err := o.out.Check(); err != nil {
		return err
	}
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return cmdutil.ArgErrorf("a data source name is empty")
		}
	}
	body := map[string]any{"wait": o.wait}
	if len(names) == 0 {
		if !o.force {
			if !f.IO.InTTY {
				return cmdutil.ArgErrorf("running SDD on all data sources needs a confirmation and stdin is not a terminal: pass --force, or name the data sources")
			}
			ok, err := f.IO.Confirm("Run sensitive data discovery on ALL data sources?")
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("cancelled: SDD was not run")
			}
		}
		body["all"] = true
	} else {
		body["sources"] = names
	}
	if o.dryRun {
		body["dryRun"] = true
	}
	if o.template != "" {
		body["template"] = o.template
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	status := o.out.Status(f.IO)
	fmt.Fprintln(status, "Running SDD")
	var p *cmdutil.Progress
	if o.wait != 0 {
		p = f.IO.StartProgress("Waiting for the SDD jobs to finish")
	}
	resp, err := c.JSON(cmd.Context(), http.MethodPost, "/sdd/run", nil, body, nil)
	if p != nil {
		p.Stop()
	}
	if err != nil {
		return err
	}
	if o.out.Chosen() {
		return o.out.Write(f.IO.Out, resp)
	}
	if len(names) == 0 {
		// Every data source: the server answers how many jobs it started.
		var all struct {
			JobCount *int `json:"jobCount"`
		}
		if err := json.Unmarshal(resp, &all); err != nil || all.JobCount == nil {
			return fmt.Errorf("the server's answer has no jobCount: %s", resp)
		}
		_, err := fmt.Fprintf(f.IO.Out, "Started %d SDD jobs\n", *all.JobCount)
		return err
	}
	var jobs map[string]job
	if err := json.Unmarshal(resp, &jobs); err != nil {
		return fmt.Errorf("the server's answer is not one job per data source: %s", resp)
	}
	order := append([]string(nil), names...)
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	var extra []string
	for n := range jobs {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range append(order, extra...) {
		j, ok := jobs[n]
		if !ok {
			fmt.Fprintf(f.IO.Out, "%s  -  not started\n", n)
			continue
		}
		fmt.Fprintf(f.IO.Out, "%s  %s  %s\n", n, j.ID, j.State)
		if o.dryRun {
			printTags(f, j.Output)
		}
	}
	return nil
}

// printTags lists, for a dry run, the tags each column would get.
func printTags(f *cmdutil.Factory, output json.RawMessage) {
	var out struct {
		SDDTagResult map[string][]string `json:"sddTagResult"`
	}
	if json.Unmarshal(output, &out) != nil {
		return
	}
	cols := make([]string, 0, len(out.SDDTagResult))
	for c := range out.SDDTagResult {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		fmt.Fprintf(f.IO.Out, "    %s: %s\n", c, strings.Join(out.SDDTagResult[c], ", "))
	}
}
