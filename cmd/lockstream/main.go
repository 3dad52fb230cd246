// Command lockstream runs the Lockstream streaming origin and talks to it:
// serve, publish, token, inspect and version. Run "lockstream help" for
// the subcommands and their flags.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
