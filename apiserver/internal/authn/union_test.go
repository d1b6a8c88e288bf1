package authn

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestUnion(t *testing.T) {
	alice := &User{Name: "alice", UID: "1", Groups: []string{"dev"}}
	found := func(u *User) Authenticator {
		return AuthenticatorFunc(func(*http.Request) (*User, bool, error) { return u, true, nil })
	}
	none := AuthenticatorFunc(func(*http.Request) (*User, bool, error) { return nil, false, nil })
	failing := func(msg string) Authenticator {
		return AuthenticatorFunc(func(*http.Request) (*User, bool, error) { return nil, false, errors.New(msg) })
	}
	tests := []struct {
		name    string
		as      []Authenticator
		want    *User
		wantErr []string
	}{
		{"first with credentials wins", []Authenticator{none, found(alice), found(&User{Name: "bob"})},
			&User{Name: "alice", UID: "1", Groups: []string{"dev", AuthenticatedGroup}}, nil},
		{"an error does not stop the others", []Authenticator{failing("bad certificate"), found(alice)},
			&User{Name: "alice", UID: "1", Groups: []string{"dev", AuthenticatedGroup}}, nil},
		{"group added once", []Authenticator{found(&User{Name: "carol", Groups: []string{AuthenticatedGroup}})},
			&User{Name: "carol", Groups: []string{AuthenticatedGroup}}, nil},
		{"nil authenticators skipped", []Authenticator{nil, found(&User{Name: "dave"})},
			&User{Name: "dave", Groups: []string{AuthenticatedGroup}}, nil},
		{"no credentials", []Authenticator{none, none}, nil, nil},
		{"nothing to try", nil, nil, nil},
		{"all errors returned", []Authenticator{failing("bad certificate"), none, failing("invalid bearer token")},
			nil, []string{"bad certificate", "invalid bearer token"}},
		{"ok without a user is an error", []Authenticator{found(nil)}, nil, []string{"found no user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok, err := Union(tt.as...).Authenticate(httptest.NewRequest(http.MethodGet, "/", nil))
			if ok != (tt.want != nil) || !reflect.DeepEqual(u, tt.want) {
				t.Errorf("got %+v ok=%v, want %+v", u, ok, tt.want)
			}
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
		})
	}
	if !reflect.DeepEqual(alice.Groups, []string{"dev"}) {
		t.Errorf("Union changed the authenticator's user: groups %q", alice.Groups)
	}
}

// TestUnionTokenFileUserUnchanged: a token file's user is shared by every
// request with its token; adding the authenticated group must not grow it.
func TestUnionTokenFileUserUnchanged(t *testing.T) {
	tf, err := ParseTokenFile("tokens.csv", strings.NewReader("tok,alice,1,\"dev,ops\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := Union(BearerToken(tf))
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer tok")
		u, ok, err := a.Authenticate(r)
		if !ok || err != nil {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		if want := []string{"dev", "ops", AuthenticatedGroup}; !reflect.DeepEqual(u.Groups, want) {
			t.Fatalf("groups %q, want %q", u.Groups, want)
		}
		u.Groups[0] = "changed by a handler"
	}
}
