package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCompletionScripts builds the custos binary and loads its bash
// completion in bash, then asks it to complete a command.
func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_custos", "zsh": "#compdef custos",
		"fish": "complete -c custos", "powershell": "Register-ArgumentCompleter"} {
		if out := newCLI(t).ok("completion", shell); !strings.Contains(out, marker) {
			t.Errorf("completion %s lacks %q", shell, marker)
		}
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	bin := t.TempDir()
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(bin, "custos"),
		"github.com/custosdata/custos/cmd/custos")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
	load := exec.Command(bash, "-c", `source <(custos completion bash)`)
	load.Env = env
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("sourcing the bash completion failed: %v\n%s", err, out)
	}
	// The script relies on the bash-completion package; where it is not
	// installed, a minimal stand-in of its word splitting is enough.
	complete := exec.Command(bash, "-c", `
if [ -f /usr/share/bash-completion/bash_completion ]; then
  source /usr/share/bash-completion/bash_completion
else
  _get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
fi
source <(custos completion bash)
COMP_WORDS=(custos data); COMP_CWORD=1; COMP_LINE="custos data"; COMP_POINT=${#COMP_LINE}
__start_custos
printf '%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(custos datasource list ""); COMP_CWORD=3; COMP_LINE="custos datasource list "; COMP_POINT=${#COMP_LINE}
__start_custos
printf '%s\n' "${COMPREPLY[@]}"`)
	complete.Env = env
	out, err := complete.Output() // compopt complains on stderr outside a real completion
	if err != nil {
		t.Fatalf("completing: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if strings.Join(got, " ") != "datasource keys sources" {
		t.Fatalf("completions: %q", out)
	}
}
