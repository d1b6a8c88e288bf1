package authn

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// TokenAuthenticator finds the user a bearer token stands for. It returns
// ok=false and a nil error for a token it does not know.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (user *User, ok bool, err error)
}

// errInvalidToken is what BearerToken answers for a token no authenticator
// knows; like Kubernetes it says no more, so as not to help guessing.
var errInvalidToken = errors.New("invalid bearer token")

// BearerToken authenticates requests by their "Authorization: Bearer
// <token>" header with ta. A request without such a header has no
// credentials of this kind; an unknown token is an error. On success the
// header is removed, so that handlers never see the token.
func BearerToken(ta TokenAuthenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		token, ok := bearerToken(r)
		if !ok {
			return nil, false, nil
		}
		user, ok, err := ta.AuthenticateToken(r.Context(), token)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, errInvalidToken
		}
		r.Header.Del("Authorization")
		return user, true, nil
	})
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// TokenFile is a static token file (--token-auth-file) in Kubernetes' CSV
// format, one token a line:
//
//	token,user,uid,"group1,group2"
//
// The groups column is optional; lines starting with # are comments.
type TokenFile struct {
	// tokens is keyed by the SHA-256 of the token: a map lookup then leaks
	// nothing about the token itself through its timing, and the token is
	// compared in constant time after.
	tokens map[[sha256.Size]byte]tokenEntry
}

type tokenEntry struct {
	token string
	user  User
	line  int
}

var _ TokenAuthenticator = (*TokenFile)(nil)

// LoadTokenFile reads the token file at path.
func LoadTokenFile(path string) (*TokenFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	return ParseTokenFile(path, f)
}

// ParseTokenFile reads a token file from r; name is used in errors, which
// say where the file is wrong: "tokens.csv:3: expected at least 3 columns".
func ParseTokenFile(name string, r io.Reader) (*TokenFile, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	tf := &TokenFile{tokens: map[[sha256.Size]byte]tokenEntry{}}
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", name, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range record {
			record[i] = strings.TrimSpace(record[i])
		}
		if len(record) < 3 {
			return nil, fmt.Errorf("%s:%d: expected at least 3 columns (token,user,uid[,groups]), got %d", name, line, len(record))
		}
		token, user, uid := record[0], record[1], record[2]
		switch {
		case token == "":
			return nil, fmt.Errorf("%s:%d: token (column 1) is empty", name, line)
		case strings.ContainsAny(token, " \t"):
			return nil, fmt.Errorf("%s:%d: token (column 1) contains white space, which an Authorization header cannot carry", name, line)
		case user == "":
			return nil, fmt.Errorf("%s:%d: user name (column 2) is empty", name, line)
		}
		key := sha256.Sum256([]byte(token))
		if prev, dup := tf.tokens[key]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate token, first used on line %d for user %q", name, line, prev.line, prev.user.Name)
		}
		e := tokenEntry{token: token, user: User{Name: user, UID: uid}, line: line}
		if len(record) >= 4 {
			for g := range strings.SplitSeq(record[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					e.user.Groups = append(e.user.Groups, g)
				}
			}
		}
		tf.tokens[key] = e
	}
	return tf, nil
}

// Len returns the number of tokens in the file.
func (tf *TokenFile) Len() int { return len(tf.tokens) }

// AuthenticateToken implements TokenAuthenticator.
func (tf *TokenFile) AuthenticateToken(_ context.Context, token string) (*User, bool, error) {
	e, ok := tf.tokens[sha256.Sum256([]byte(token))]
	if !ok || subtle.ConstantTimeCompare([]byte(e.token), []byte(token)) != 1 {
		return nil, false, nil
	}
	return e.user.clone(), true, nil
}
