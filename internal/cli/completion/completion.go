// Package completion implements `custos completion`: shell completion
// scripts for bash, zsh, fish and PowerShell.
package completion

import (
	"github.com/spf13/cobra"

	"github.com/custosdata/custos/internal/cli/cmdutil"
)

// New returns the completion command.
func New(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a script that teaches your shell to complete custos commands and flags.
Restart the shell (or open a new one) after installing it.

bash (needs the bash-completion package for the best results):
    add to ~/.bash_profile or ~/.bashrc:   eval "$(custos completion bash)"

zsh:
    custos completion zsh > "${fpath[1]}/_custos"
    and make sure ~/.zshrc runs:  autoload -U compinit; compinit -i

fish:
    custos completion fish > ~/.config/fish/completions/custos.fish

PowerShell:
    custos completion powershell | Out-String | Invoke-Expression
    or, to keep it, save it with  custos completion powershell > custos.ps1
    and dot-source custos.ps1 from your PowerShell profile.`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		DisableFlagsInUseLine: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.Args("bash|zsh|fish|powershell")(cmd, args); err != nil {
				return err
			}
			switch args[0] {
			case "bash", "zsh", "fish", "powershell":
				return nil
			}
			return cmdutil.ArgErrorf("no completion for shell %q: choose bash, zsh, fish or powershell", args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.IO.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
