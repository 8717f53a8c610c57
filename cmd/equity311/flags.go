package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/equity311/equity311"
	"github.com/equity311/equity311/internal/options"
)

// keyAnnotation marks a flag with the config key it sets.
const keyAnnotation = "equity311/key"

// bindFlags adds a flag for every option of the struct v points to, named
// and explained by its tags, its default v's current value: the flags and
// the service config share one definition (package internal/options).
func bindFlags(fs *pflag.FlagSet, v any) {
	for _, f := range options.Fields(v) {
		switch p := f.Value.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, f.Flag, *p, f.Help)
		case *bool:
			fs.BoolVar(p, f.Flag, *p, f.Help)
		case *int:
			fs.IntVar(p, f.Flag, *p, f.Help)
		case *int64:
			fs.Int64Var(p, f.Flag, *p, f.Help)
		case *float64:
			fs.Float64Var(p, f.Flag, *p, f.Help)
		case *time.Duration:
			fs.DurationVar(p, f.Flag, *p, f.Help)
		case *[]string:
			fs.StringArrayVar(p, f.Flag, *p, f.Help)
		default:
			panic(fmt.Sprintf("bindFlags: option %s has an unsupported type %T", f.Key, p))
		}
		fs.SetAnnotation(f.Flag, keyAnnotation, []string{f.Key})
	}
}

// mendOptionErrors makes every command's errors say which flag mends an
// option a library found wrong (an equity311.OptionError names the option
// by its config key).
func mendOptionErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		mendOptionErrors(sub)
	}
	if c.RunE == nil {
		return
	}
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		key := equity311.OptionKey(err)
		if key == "" {
			return err
		}
		return fmt.Errorf("%w (%s)", err, flagsFor(cmd, key))
	}
}

// flagsFor spells a config key (or keys joined by "/") as the command's
// flags: the flag bound to the key, else the key with dashes.
func flagsFor(cmd *cobra.Command, key string) string {
	var parts []string
	for _, k := range strings.Split(key, "/") {
		name := strings.ReplaceAll(k, "_", "-")
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if keys := f.Annotations[keyAnnotation]; len(keys) == 1 && keys[0] == k {
				name = f.Name
			}
		})
		parts = append(parts, "--"+name)
	}
	return strings.Join(parts, "/")
}
