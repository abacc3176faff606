package cmdutil

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProgressOnlyOnATerminal(t *testing.T) {
	var piped bytes.Buffer
	p := IO{ErrOut: &piped}.StartProgress("waiting")
	time.Sleep(150 * time.Millisecond)
	p.Stop()
	if piped.Len() != 0 {
		t.Fatalf("progress written to a pipe: %q", piped.String())
	}
	var tty bytes.Buffer
	p = IO{ErrOut: &tty, ErrTTY: true}.StartProgress("waiting")
	p.Update("cloning %d/%d", 1, 2)
	time.Sleep(150 * time.Millisecond)
	p.Stop()
	if !strings.Contains(tty.String(), "cloning 1/2") || !strings.HasSuffix(tty.String(), "\r\033[K") {
		t.Fatalf("terminal progress: %q", tty.String())
	}
}

func TestPromptsReadLineByLine(t *testing.T) {
	var errOut bytes.Buffer
	s := IO{In: strings.NewReader("first\r\nsecond\ny\n"), ErrOut: &errOut}
	a, _ := s.Prompt("1? ")
	b, _ := s.PromptSecret("2? ")
	ok, _ := s.Confirm("3?")
	if a != "first" || b != "second" || !ok || errOut.String() != "1? 2? 3? [y/N]: " {
		t.Fatalf("%q %q %v %q", a, b, ok, errOut.String())
	}
	if _, err := s.Prompt("4? "); err == nil {
		t.Fatal("no error at the end of the input")
	}
}

func TestExitCodes(t *testing.T) {
	for err, want := range map[error]int{nil: 0, errors.New("server"): 1, Usagef("file"): 2, ArgErrorf("args"): 2,
		errors.New(`unknown flag: --x`): 2} {
		if got, _ := ExitCode(err); got != want {
			t.Errorf("%v: %d, want %d", err, got, want)
		}
	}
}
