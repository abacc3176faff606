// Package user implements `custos user`: users of the built-in identity
// manager, their profile (with the database role they query as), password,
// permissions, and whether they may log in.
package user

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/cli/client"
	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// Path is the path of a user of the built-in identity manager.
func Path(userid string, rest ...string) string {
	return "/bim/iam/bim/user" + client.Path(append([]string{userid}, rest...)...)
}

// New returns the user command and its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := cmdutil.Group(&cobra.Command{
		Use:   "user",
		Short: "Manage users",
		Long: `Manage the users of custos's built-in identity manager. A user is named by their user id (or
numeric id). The database role a user queries governed tables as is their SQL user (--sql-user):
enforcement grants that role what the user may read.`,
	})
	complete := cmdutil.CompleteFrom(f, "/bim/user", url.Values{"size": {"1000"}}, "hits", "userid")
	cmd.AddCommand(createCmd(f), listCmd(f), getCmd(f, complete), updateCmd(f, complete), passwordCmd(f, complete),
		permissionCmd(f, complete, true), permissionCmd(f, complete, false), enableCmd(f, complete, true),
		enableCmd(f, complete, false), deleteCmd(f, complete))
	return cmd
}

func createCmd(f *cmdutil.Factory) *cobra.Command {
	var name, email, sqlUser string
	var permissions []string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create <userid>",
		Short: "Create a user",
		Long: `Create a user. Without --password-stdin the user has no password and cannot log in until one is
set (custos user password); a user who only queries the database needs none.`,
		Example: `  custos user create ana --name "Ana Lima" --email ana@example.com --sql-user ana
  custos user create ops --permission GOVERNANCE,USER_ADMIN
  printf '%s\n' "$PASSWORD" | custos user create bob --password-stdin`,
		Args: cmdutil.Args("<userid>"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"iamid": "bim", "userid": args[0], "permissions": upper(permissions)}
			profile := map[string]any{}
			if name != "" {
				profile["name"] = name
			}
			if email != "" {
				profile["email"] = email
			}
			body["profile"] = profile
			if passwordStdin {
				pw, err := readPassword(f, "? Password for "+args[0]+": ")
				if err != nil {
					return err
				}
				body["password"] = pw
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			resp, err := c.JSON(cmd.Context(), http.MethodPost, "/bim/iam/bim/user", nil, body, nil)
			if err != nil {
				return err
			}
			if sqlUser != "" {
				if _, err := c.JSON(cmd.Context(), http.MethodPut, Path(args[0], "profile"), nil,
					map[string]any{"sqlUser": sqlUser}, nil); err != nil {
					return fmt.Errorf("created user %s, but setting its SQL user failed (run `custos user update %s --sql-user %s`): %w",
						args[0], args[0], sqlUser, err)
				}
				// Show the user as it is now, with its SQL user.
				var created map[string]json.RawMessage
				if json.Unmarshal(resp, &created) == nil {
					if now, err := c.JSON(cmd.Context(), http.MethodGet, Path(args[0]), nil, nil, nil); err == nil {
						created["newUser"] = now
						resp, _ = json.Marshal(created)
					}
				}
			}
			return cmdutil.WriteJSONLine(f.IO.Out, resp)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "the user's full name")
	fl.StringVar(&email, "email", "", "the user's e-mail address")
	fl.StringVar(&sqlUser, "sql-user", "", "the database role the user queries as")
	fl.StringSliceVar(&permissions, "permission", nil, "a permission to give (repeat, or separate with commas)")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the user's password from stdin")
	_ = cmd.RegisterFlagCompletionFunc("permission", cobra.FixedCompletions(Permissions, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Permissions are the permissions a user can hold, for completion.
var Permissions = auth.AllPermissions

func upper(list []string) []string {
	out := []string{}
	for _, p := range list {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.ToUpper(p))
		}
	}
	return out
}

// readPassword reads a password: asked without echo on a terminal, else the
// first line of stdin.
func readPassword(f *cmdutil.Factory, question string) (string, error) {
	var pw string
	var err error
	if f.IO.InTTY {
		pw, err = f.IO.PromptSecret(question)
	} else {
		pw, err = f.IO.Prompt("")
	}
	if err != nil {
		return "", cmdutil.Usagef("reading the password from stdin: %v", err)
	}
	if pw == "" {
		return "", cmdutil.Usagef("the password is empty")
	}
	return pw, nil
}

func listCmd(f *cmdutil.Factory) *cobra.Command {
	var verbose, disabled bool
	cmd := &cobra.Command{
		Use:     "list [text]",
		Short:   "List users by user id (those whose user id contains text)",
		Example: "  custos user list\n  custos user list ana -v",
		Args:    cmdutil.ArgsRange(0, 1, "[text]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"size": {"1000"}, "sortField": {"name"}}
			if len(args) == 1 {
				q.Set("userid", args[0])
			}
			if disabled {
				q.Set("includeDisabled", "true")
			}
			return cmdutil.ListNames(cmd.Context(), f, "/bim/user", q, "hits", "userid", verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the answer as JSON")
	cmd.Flags().BoolVar(&disabled, "include-disabled", false, "list disabled users too")
	return cmd
}

func getCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var out cmdutil.Output
	cmd := &cobra.Command{
		Use:               "get <userid>",
		Short:             "Show a user: profile, permissions, groups and attributes",
		Example:           "  custos user get ana\n  custos user get ana -o yaml",
		Args:              cmdutil.Args("<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Show(cmd.Context(), f, &out, Path(args[0]), nil)
		},
	}
	out.AddFlags(cmd, "json", "yaml")
	return cmd
}

func updateCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	var name, email, sqlUser string
	cmd := &cobra.Command{
		Use:               "update <userid>",
		Short:             "Change a user's name, e-mail or SQL user",
		Example:           "  custos user update ana --sql-user ana_reader",
		Args:              cmdutil.Args("<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("name") {
				body["name"] = name
			}
			if cmd.Flags().Changed("email") {
				body["email"] = email
			}
			if cmd.Flags().Changed("sql-user") {
				body["sqlUser"] = sqlUser
			}
			if len(body) == 0 {
				return cmdutil.ArgErrorf("give --name, --email or --sql-user")
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodPut, Path(args[0], "profile"), nil, body, "")
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the user's full name")
	cmd.Flags().StringVar(&email, "email", "", "the user's e-mail address")
	cmd.Flags().StringVar(&sqlUser, "sql-user", "", "the database role the user queries as")
	return cmd
}

func passwordCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "password <userid>",
		Short: "Set a user's password (read from stdin, or asked on a terminal)",
		Long: `Set a user's password, as a USER_ADMIN. The password is asked on a terminal (not echoed) or read
from the first line of stdin, never from the command line where other users could see it.`,
		Example:           "  custos user password ana\n  printf '%s\\n' \"$PASSWORD\" | custos user password ana",
		Args:              cmdutil.Args("<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(f, "? New password for "+args[0]+": ")
			if err != nil {
				return err
			}
			return cmdutil.Send(cmd.Context(), f, http.MethodPut, Path(args[0], "password"), nil,
				map[string]any{"password": pw}, "")
		},
	}
}

func permissionCmd(f *cmdutil.Factory, complete cobra.CompletionFunc, grant bool) *cobra.Command {
	verb, short := "grant", "Give a user permissions"
	if !grant {
		verb, short = "revoke", "Take permissions from a user"
	}
	cmd := &cobra.Command{
		Use:     verb + " <userid> <PERMISSION>...",
		Short:   short,
		Example: "  custos user " + verb + " ana GOVERNANCE CREATE_DATA_SOURCE",
		Args:    cmdutil.ArgsRange(2, -1, "<userid>", "<PERMISSION>"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return complete(cmd, args, toComplete)
			}
			var out []string
			for _, p := range Permissions {
				if strings.HasPrefix(p, strings.ToUpper(toComplete)) {
					out = append(out, p)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			perms := upper(args[1:])
			if grant {
				return cmdutil.Send(cmd.Context(), f, http.MethodPost, Path(args[0], "permissions"), nil, perms, "")
			}
			for _, p := range perms {
				if err := cmdutil.Send(cmd.Context(), f, http.MethodDelete, Path(args[0], "permissions", p), nil, nil, ""); err != nil {
					return err
				}
			}
			return nil
		},
	}
	return cmd
}

func enableCmd(f *cmdutil.Factory, complete cobra.CompletionFunc, enable bool) *cobra.Command {
	verb, disable := "enable", "false"
	if !enable {
		verb, disable = "disable", "true"
	}
	return &cobra.Command{
		Use:               verb + " <userid>",
		Short:             strings.ToUpper(verb[:1]) + verb[1:] + " a user",
		Example:           "  custos user " + verb + " ana",
		Args:              cmdutil.Args("<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Send(cmd.Context(), f, http.MethodPut, Path(args[0], "disable", disable), nil, nil, "")
		},
	}
}

func deleteCmd(f *cmdutil.Factory, complete cobra.CompletionFunc) *cobra.Command {
	return &cobra.Command{
		Use:               "delete <userid>",
		Short:             "Delete a user",
		Example:           "  custos user delete ana",
		Args:              cmdutil.Args("<userid>"),
		ValidArgsFunction: complete,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Send(cmd.Context(), f, http.MethodDelete, Path(args[0]), nil, nil, "")
		},
	}
}
