// Command stoabench holds the Go helpers of stoa's benchmark suite (driven by bench/run):
//
//	stoabench corpus  writes a synthetic GOPROXY file tree (module zips made with x/mod/zip)
//	stoabench upsim   an upstream GOPROXY simulator: serves a tree with injected latency and
//	                  bandwidth, and counts the fetches of every path
//	stoabench burst   N simultaneous requests for one URL over pre-opened connections; checks bodies
//	stoabench verify  spot-checks a server's answers (size and SHA-256) against the tree on disk
//
// Every subcommand prints one JSON object on stdout and exits 1 when what it checked was wrong.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "corpus":
		err = runCorpus(args)
	case "upsim":
		err = runUpsim(args)
	case "burst":
		err = runBurst(args)
	case "verify":
		err = runVerify(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stoabench "+os.Args[1]+":", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stoabench corpus|upsim|burst|verify [flags]")
	os.Exit(2)
}

// emit prints v as one JSON line on stdout.
func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}
