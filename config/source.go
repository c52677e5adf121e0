package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// source is where settings are read from: flags beat the environment, which
// beats the default. It collects every problem, so one start names them all.
type source struct {
	flags  map[string]*string
	given  map[string]bool
	getenv func(string) string
	errs   []error
}

func parseFlags(args []string, getenv func(string) string) (*source, error) {
	fs := flag.NewFlagSet("etpay-dashboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	src := &source{flags: map[string]*string{}, given: map[string]bool{}, getenv: getenv}
	for _, s := range Settings {
		if !s.Secret {
			src.flags[s.Name] = fs.String(flagName(s.Name), "", s.Usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { src.given[f.Name] = true })
	return src, nil
}

func (src *source) fail(err error) {
	if err != nil {
		src.errs = append(src.errs, err)
	}
}

// value is a non-secret setting as given, trimmed; empty when not given.
func (src *source) value(name string) string {
	if p, ok := src.flags[name]; ok && src.given[flagName(name)] {
		return strings.TrimSpace(*p)
	}
	return strings.TrimSpace(src.getenv(name))
}

// secret is a setting from the environment or the file NAME_FILE names.
func (src *source) secret(name string) string {
	if path := src.getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			src.fail(fmt.Errorf("%s_FILE: %w", name, err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	return strings.TrimSpace(src.getenv(name))
}

// orDefault is value, or the setting's default when not given.
func (src *source) orDefault(name string) string {
	if v := src.value(name); v != "" {
		return v
	}
	for _, s := range Settings {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}
