// Command lockstream-bench is a load generator that behaves like many
// streaming players. Each virtual client fetches a manifest, picks a
// rendition, fetches the content key once and then walks the segments in a
// loop. The run ends at a time bound or a request bound. The tool can also
// request one segment URL over and over, as wrk does, for side-by-side
// comparisons with a static file server.
//
// Run `lockstream-bench -h` for the flags and docs/benchmarks.md for how
// the project's benchmarks use it.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
