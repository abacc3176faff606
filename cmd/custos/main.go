// Command custos is the custos server and its command line client.
package main

import (
	"os"

	"github.com/custosdata/custos/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], cli.StdIO()))
}
