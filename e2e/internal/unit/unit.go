// Package unit reads systemd unit files, as much of systemd.syntax(7) as
// Skiff's units use: sections, Key=Value lines, repeated keys, comments.
package unit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Unit is a parsed unit file.
type Unit struct {
	Name string
	Path string
	// Sections maps section ("Service") to key to its values in order.
	Sections map[string]map[string][]string
}

// Load parses the unit file at path.
func Load(path string) (*Unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &Unit{Name: filepath.Base(path), Path: path, Sections: map[string]map[string][]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u.Sections[section] == nil {
				u.Sections[section] = map[string][]string{}
			}
		case strings.HasSuffix(line, `\`):
			return nil, fmt.Errorf("%s:%d: continuation lines are not supported here", path, n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("%s:%d: want Key=Value inside a [Section], got %q", path, n, line)
			}
			k = strings.TrimSpace(k)
			u.Sections[section][k] = append(u.Sections[section][k], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

// Get is the last value of section.key ("" if unset).
func (u *Unit) Get(section, key string) string {
	vs := u.Sections[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// Exec is the one ExecStart= command line, split into words, with
// systemd's prefixes ("-", "@", "+", "!", ":") removed.
func (u *Unit) Exec() ([]string, error) {
	vs := u.Sections["Service"]["ExecStart"]
	if len(vs) != 1 {
		return nil, fmt.Errorf("%s: want one ExecStart=, got %d", u.Name, len(vs))
	}
	line := strings.TrimLeft(vs[0], "-@+!:")
	if strings.ContainsAny(line, `"'$%\`) {
		return nil, fmt.Errorf("%s: ExecStart=%s: quoting, variables and specifiers are not supported here", u.Name, vs[0])
	}
	return strings.Fields(line), nil
}

// Duration is a time span setting such as TimeoutStopSec= ("30s", "2min",
// or plain seconds).
func (u *Unit) Duration(section, key string) (time.Duration, error) {
	v := u.Get(section, key)
	if v == "" {
		return 0, fmt.Errorf("%s: %s= is not set", u.Name, key)
	}
	if !strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") {
		v += "s"
	}
	v = strings.ReplaceAll(v, "min", "m")
	d, err := time.ParseDuration(strings.ReplaceAll(v, " ", ""))
	if err != nil {
		return 0, fmt.Errorf("%s: %s=%s: %w", u.Name, key, u.Get(section, key), err)
	}
	return d, nil
}
