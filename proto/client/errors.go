package client

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code returns the gRPC code of err, also when err wraps a gRPC status
// error; nil is codes.OK and an error that carries no status is codes.Unknown.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus().Code()
	}
	return codes.Unknown
}

// IsNotFound reports whether the object or collection does not exist (404).
func IsNotFound(err error) bool { return Code(err) == codes.NotFound }

// IsAlreadyExists reports whether a create named an existing object (409).
func IsAlreadyExists(err error) bool { return Code(err) == codes.AlreadyExists }

// IsConflict reports whether an update lost a race: its resourceVersion was
// not the object's current one (409). Read the object again and retry.
func IsConflict(err error) bool { return Code(err) == codes.Aborted }

// IsInvalid reports whether the object failed validation (422); the message
// names the field, e.g. "spec.replicas: must be >= 0, got -1".
func IsInvalid(err error) bool { return Code(err) == codes.InvalidArgument }

// IsGone reports whether a watch or a paged list asked for a resourceVersion
// older than the server's history (410 "too old resource version"): the
// caller must list again.
func IsGone(err error) bool { return Code(err) == codes.OutOfRange }

// IsResourceExpired is IsGone under client-go's name.
func IsResourceExpired(err error) bool { return IsGone(err) }

// IsUnauthorized reports whether the credentials were missing or wrong (401).
func IsUnauthorized(err error) bool { return Code(err) == codes.Unauthenticated }

// IsForbidden reports whether the caller may not do this (403).
func IsForbidden(err error) bool { return Code(err) == codes.PermissionDenied }

// IsTooManyRequests reports whether the server shed the call (429).
func IsTooManyRequests(err error) bool { return Code(err) == codes.ResourceExhausted }

// IsUnavailable reports whether no apiserver could serve the call (503).
func IsUnavailable(err error) bool { return Code(err) == codes.Unavailable }
