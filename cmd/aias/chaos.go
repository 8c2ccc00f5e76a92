package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"aias/internal/tools/chaos"
)

// chaosCmd runs the fault-injection suite (docs/reliability.md) against the
// programs in -bin, prints one row per scenario and, with -doc, writes the
// table into that document between its markers.
func chaosCmd(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(out)
	bin := fs.String("bin", "bin", "directory holding aias-ingress, aias-worker and aias-scheduler")
	doc := fs.String("doc", "", "write the results table into this Markdown file, between its chaos markers")
	only := fs.String("only", "", "comma-separated scenario numbers (default: all)")
	keep := fs.Bool("keep", false, "keep the work directory with every program's log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var nums []int
	for _, f := range strings.FieldsFunc(*only, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		nums = append(nums, n)
	}
	admin := getenv("AIAS_TEST_DATABASE_URL")
	t0 := time.Now()
	results, err := chaos.Run(ctx, chaos.Options{BinDir: *bin, AdminURL: admin, KeepDir: *keep, Out: out}, nums)
	took := time.Since(t0).Round(time.Second)
	fmt.Fprintf(out, "\n%s\nsuite took %s\n", chaos.Table(results), took)
	if err != nil {
		return err
	}
	if *doc != "" && len(nums) == 0 {
		header := fmt.Sprintf("Measured %s UTC on this repository's development machine (%d CPUs, %s/%s) with `make chaos`; the suite took %s.",
			time.Now().UTC().Format("2006-01-02 15:04"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, took)
		if err := chaos.WriteTable(*doc, header, results); err != nil {
			return err
		}
	}
	failed := 0
	for _, r := range results {
		if !r.Pass() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scenarios failed", failed, len(results))
	}
	if len(results) == 0 {
		return errors.New("no scenario matched -only")
	}
	return nil
}
