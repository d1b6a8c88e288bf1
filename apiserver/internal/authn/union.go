package authn

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Union returns an authenticator that tries each of authenticators in
// order and takes the first user found; nil entries are skipped, so that
// optional authenticators can be passed as they are. Every user it returns
// is in the group system:authenticated.
//
// As in Kubernetes, an authenticator's error does not stop the others: a
// request whose client certificate is rejected can still authenticate with
// a valid token. Only when none finds a user are the errors returned,
// joined.
func Union(authenticators ...Authenticator) Authenticator {
	var as []Authenticator
	for _, a := range authenticators {
		if a != nil {
			as = append(as, a)
		}
	}
	return union(as)
}

type union []Authenticator

func (u union) Authenticate(r *http.Request) (*User, bool, error) {
	var errs []error
	for _, a := range u {
		user, ok, err := a.Authenticate(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok && user == nil {
			errs = append(errs, fmt.Errorf("authenticator %T found no user but said it did", a))
			continue
		}
		if ok {
			user = user.clone()
			if !slices.Contains(user.Groups, AuthenticatedGroup) {
				user.Groups = append(user.Groups, AuthenticatedGroup)
			}
			return user, true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}
