package app

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestFormatError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unauthenticated, "invalid bearer token"), "error: You must be logged in to the server (Unauthorized): invalid bearer token"},
		{status.Error(codes.PermissionDenied, `pods is forbidden: User "bob" cannot list pods`), `Error from server (Forbidden): pods is forbidden: User "bob" cannot list pods`},
		{status.Error(codes.NotFound, `pods "x" not found`), `Error from server (NotFound): pods "x" not found`},
		{status.Error(codes.Aborted, "the object has been modified"), "Error from server (Conflict): the object has been modified"},
		{errors.New("boom"), "error: boom"},
	}
	c := &cli{}
	for _, tt := range tests {
		if got := c.formatError(tt.err); got != tt.want {
			t.Errorf("formatError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
