package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Prompt asks a question on ErrOut and reads one line of In.
func (s IO) Prompt(question string) (string, error) {
	fmt.Fprint(s.ErrOut, question)
	return readLine(s.In)
}

// PromptSecret is Prompt without echoing what is typed on a terminal.
func (s IO) PromptSecret(question string) (string, error) {
	fmt.Fprint(s.ErrOut, question)
	f, ok := s.In.(*os.File)
	if !ok || !s.InTTY {
		return readLine(s.In)
	}
	var line string
	err := withoutEcho(f, func() error {
		var err error
		line, err = readLine(f)
		return err
	})
	fmt.Fprintln(s.ErrOut)
	return line, err
}

// Confirm asks a yes/no question; only an explicit yes counts.
func (s IO) Confirm(question string) (bool, error) {
	answer, err := s.Prompt(question + " [y/N]: ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// readLine reads up to a newline one byte at a time, so that successive
// prompts on the same stream never lose input to a buffer.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", errors.New("no answer: the input ended")
			}
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimRight(b.String(), "\r"), nil
}
