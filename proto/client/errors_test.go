package client

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorHelpers(t *testing.T) {
	helpers := map[string]func(error) bool{
		"IsNotFound": IsNotFound, "IsAlreadyExists": IsAlreadyExists, "IsConflict": IsConflict,
		"IsInvalid": IsInvalid, "IsGone": IsGone, "IsResourceExpired": IsResourceExpired,
		"IsUnauthorized": IsUnauthorized, "IsForbidden": IsForbidden,
		"IsTooManyRequests": IsTooManyRequests, "IsUnavailable": IsUnavailable,
	}
	tests := []struct {
		code codes.Code
		true []string
	}{
		{codes.NotFound, []string{"IsNotFound"}},
		{codes.AlreadyExists, []string{"IsAlreadyExists"}},
		{codes.Aborted, []string{"IsConflict"}},
		{codes.InvalidArgument, []string{"IsInvalid"}},
		{codes.OutOfRange, []string{"IsGone", "IsResourceExpired"}},
		{codes.Unauthenticated, []string{"IsUnauthorized"}},
		{codes.PermissionDenied, []string{"IsForbidden"}},
		{codes.ResourceExhausted, []string{"IsTooManyRequests"}},
		{codes.Unavailable, []string{"IsUnavailable"}},
		{codes.Internal, nil},
	}
	for _, tt := range tests {
		err := status.Error(tt.code, "x")
		for _, e := range []error{err, fmt.Errorf("get pod web/a: %w", err)} {
			for name, h := range helpers {
				want := false
				for _, n := range tt.true {
					want = want || n == name
				}
				if got := h(e); got != want {
					t.Errorf("%s(%v) = %v, want %v", name, e, got, want)
				}
			}
		}
	}
	for name, h := range helpers {
		if h(nil) || h(errors.New("plain")) {
			t.Errorf("%s is true for nil or a plain error", name)
		}
	}
}
