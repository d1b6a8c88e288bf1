package authn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTokenFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    map[string]User // token -> user
		wantErr string
	}{
		{
			name: "users with and without groups",
			file: `# token,user,uid,groups
admin-token,admin,uid-1,"system:masters"
dev-token, alice , uid-2,"dev, ops"

ci-token,ci-bot,,
node-token,system:node:node-1,uid-4,"system:nodes",extra column
`,
			want: map[string]User{
				"admin-token": {Name: "admin", UID: "uid-1", Groups: []string{"system:masters"}},
				"dev-token":   {Name: "alice", UID: "uid-2", Groups: []string{"dev", "ops"}},
				"ci-token":    {Name: "ci-bot"},
				"node-token":  {Name: "system:node:node-1", UID: "uid-4", Groups: []string{"system:nodes"}},
			},
		},
		{name: "empty file", file: "", want: map[string]User{}},
		{name: "too few columns", file: "# comment\na,alice,1\nb,bob\n", wantErr: "tokens.csv:3: expected at least 3 columns (token,user,uid[,groups]), got 2"},
		{name: "empty token", file: "a,alice,1\n,bob,2\n", wantErr: "tokens.csv:2: token (column 1) is empty"},
		{name: "token with a space", file: `"a b",alice,1` + "\n", wantErr: "tokens.csv:1: token (column 1) contains white space"},
		{name: "empty user", file: "a,,1\n", wantErr: "tokens.csv:1: user name (column 2) is empty"},
		{name: "duplicate token", file: "a,alice,1\nb,bob,2\na,carol,3\n", wantErr: `tokens.csv:3: duplicate token, first used on line 1 for user "alice"`},
		{name: "unclosed quote", file: "a,alice,1\nb,bob,2,\"dev\n", wantErr: "tokens.csv:2: extraneous or missing \" in quoted-field"},
		{name: "bare quote", file: "a,alice,1\n# comment\nc,ca\"rol,3\n", wantErr: "tokens.csv:3: bare \" in non-quoted-field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf, err := ParseTokenFile("tokens.csv", strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tf.Len() != len(tt.want) {
				t.Errorf("%d tokens, want %d", tf.Len(), len(tt.want))
			}
			for token, want := range tt.want {
				u, ok, err := tf.AuthenticateToken(context.Background(), token)
				if !ok || err != nil {
					t.Errorf("token %q: ok=%v err=%v, want a user", token, ok, err)
					continue
				}
				if !reflect.DeepEqual(*u, want) {
					t.Errorf("token %q: user %+v, want %+v", token, *u, want)
				}
			}
		})
	}
}

func TestLoadTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(path, []byte("t1,alice,1\nt2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTokenFile(path); err == nil || !strings.Contains(err.Error(), path+":2: expected at least 3 columns") {
		t.Errorf("error %v, want one naming %s:2", err, path)
	}
	if _, err := LoadTokenFile(filepath.Join(dir, "missing.csv")); err == nil || !strings.Contains(err.Error(), "missing.csv: no such file") {
		t.Errorf("error %v, want one naming the missing file", err)
	}
}

func TestBearerToken(t *testing.T) {
	tf, err := ParseTokenFile("tokens.csv", strings.NewReader("good-token,alice,uid-1,dev\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := BearerToken(tf)
	tests := []struct {
		name     string
		header   string // Authorization; empty: none
		wantOK   bool
		wantErr  string
		wantUser string
	}{
		{name: "no header"},
		{name: "valid token", header: "Bearer good-token", wantOK: true, wantUser: "alice"},
		{name: "scheme in lower case", header: "bearer good-token", wantOK: true, wantUser: "alice"},
		{name: "unknown token", header: "Bearer bad-token", wantErr: "invalid bearer token"},
		{name: "prefix of a valid token", header: "Bearer good", wantErr: "invalid bearer token"},
		{name: "valid token with more", header: "Bearer good-token-and-more", wantErr: "invalid bearer token"},
		{name: "basic auth is not ours", header: "Basic YWxpY2U6cHc="},
		{name: "scheme only", header: "Bearer"},
		{name: "empty token", header: "Bearer    "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, ok, err := a.Authenticate(r)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if ok && u.Name != tt.wantUser {
				t.Errorf("user %q, want %q", u.Name, tt.wantUser)
			}
			if ok && r.Header.Get("Authorization") != "" {
				t.Error("Authorization header left in the request after authentication")
			}
		})
	}
}
