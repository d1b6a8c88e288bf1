// Package apierrors builds the errors the API returns and maps them, in one
// table, between gRPC codes, HTTP statuses and Kubernetes Status reasons.
package apierrors

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

// Reasons, as Kubernetes' metav1.StatusReason.
const (
	ReasonNotFound           = "NotFound"
	ReasonAlreadyExists      = "AlreadyExists"
	ReasonConflict           = "Conflict"
	ReasonInvalid            = "Invalid"
	ReasonBadRequest         = "BadRequest"
	ReasonGone               = "Expired"
	ReasonUnauthorized       = "Unauthorized"
	ReasonForbidden          = "Forbidden"
	ReasonTooManyRequests    = "TooManyRequests"
	ReasonServiceUnavailable = "ServiceUnavailable"
	ReasonInternalError      = "InternalError"
	ReasonRequestEntityLarge = "RequestEntityTooLarge"
	ReasonMethodNotAllowed   = "MethodNotAllowed"
	ReasonUnsupportedMedia   = "UnsupportedMediaType"
	ReasonNotAcceptable      = "NotAcceptable"
	ReasonTimeout            = "Timeout"
)

// errorDomain tags the ErrorInfo detail our errors carry.
const errorDomain = "skiff.dev"

// reasons is the one table from reason to gRPC code and HTTP status.
var reasons = map[string]struct {
	code codes.Code
	http int
}{
	ReasonNotFound:           {codes.NotFound, http.StatusNotFound},
	ReasonAlreadyExists:      {codes.AlreadyExists, http.StatusConflict},
	ReasonConflict:           {codes.Aborted, http.StatusConflict},
	ReasonInvalid:            {codes.InvalidArgument, http.StatusUnprocessableEntity},
	ReasonBadRequest:         {codes.InvalidArgument, http.StatusBadRequest},
	ReasonGone:               {codes.OutOfRange, http.StatusGone},
	ReasonUnauthorized:       {codes.Unauthenticated, http.StatusUnauthorized},
	ReasonForbidden:          {codes.PermissionDenied, http.StatusForbidden},
	ReasonTooManyRequests:    {codes.ResourceExhausted, http.StatusTooManyRequests},
	ReasonServiceUnavailable: {codes.Unavailable, http.StatusServiceUnavailable},
	ReasonInternalError:      {codes.Internal, http.StatusInternalServerError},
	ReasonRequestEntityLarge: {codes.InvalidArgument, http.StatusRequestEntityTooLarge},
	ReasonMethodNotAllowed:   {codes.Unimplemented, http.StatusMethodNotAllowed},
	ReasonUnsupportedMedia:   {codes.InvalidArgument, http.StatusUnsupportedMediaType},
	ReasonNotAcceptable:      {codes.InvalidArgument, http.StatusNotAcceptable},
	ReasonTimeout:            {codes.DeadlineExceeded, http.StatusGatewayTimeout},
}

// codeReasons is the reason of a gRPC error that carries none of ours.
var codeReasons = map[codes.Code]string{
	codes.NotFound:          ReasonNotFound,
	codes.AlreadyExists:     ReasonAlreadyExists,
	codes.Aborted:           ReasonConflict,
	codes.InvalidArgument:   ReasonBadRequest,
	codes.OutOfRange:        ReasonGone,
	codes.Unauthenticated:   ReasonUnauthorized,
	codes.PermissionDenied:  ReasonForbidden,
	codes.ResourceExhausted: ReasonTooManyRequests,
	codes.Unavailable:       ReasonServiceUnavailable,
	codes.DeadlineExceeded:  ReasonTimeout,
	codes.Unimplemented:     ReasonMethodNotAllowed,
	codes.Canceled:          ReasonTimeout,
}

// New is an error with a reason, a message, and the object it is about.
func New(reason, resource, name, message string) error {
	m, ok := reasons[reason]
	if !ok {
		m = reasons[ReasonInternalError]
	}
	st := status.New(m.code, message)
	info := &errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: map[string]string{}}
	if resource != "" {
		info.Metadata["kind"] = resource
	}
	if name != "" {
		info.Metadata["name"] = name
	}
	if d, err := st.WithDetails(info); err == nil {
		st = d
	}
	return st.Err()
}

// NotFound: pods "web" not found.
func NotFound(resource, name string) error {
	return New(ReasonNotFound, resource, name, fmt.Sprintf("%s %q not found", resource, name))
}

// AlreadyExists: pods "web" already exists.
func AlreadyExists(resource, name string) error {
	return New(ReasonAlreadyExists, resource, name, fmt.Sprintf("%s %q already exists", resource, name))
}

// Conflict is a failed compare-and-swap or precondition.
func Conflict(resource, name, detail string) error {
	return New(ReasonConflict, resource, name,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", resource, name, detail))
}

// StaleUpdate is the conflict of an update whose resourceVersion is not the current one.
func StaleUpdate(resource, name, given, current string) error {
	return Conflict(resource, name, fmt.Sprintf(
		"the object has been modified (resourceVersion %s given, current is %s); please apply your changes to the latest version and try again",
		given, current))
}

// Invalid: Pod "web" is invalid: spec.containers[0].image: Required value.
func Invalid(kind, name string, errs field.ErrorList) error {
	msg := fmt.Sprintf("%s %q is invalid: %s", kind, name, errs.Error())
	m := reasons[ReasonInvalid]
	st := status.New(m.code, msg)
	info := &errdetails.ErrorInfo{Reason: ReasonInvalid, Domain: errorDomain,
		Metadata: map[string]string{"kind": kind, "name": name}}
	br := &errdetails.BadRequest{}
	for _, e := range errs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: e.Field, Description: e.Error()})
	}
	if d, err := st.WithDetails(info, br); err == nil {
		st = d
	}
	return st.Err()
}

// BadRequest is input that cannot be understood at all.
func BadRequest(format string, args ...any) error {
	return New(ReasonBadRequest, "", "", fmt.Sprintf(format, args...))
}

// Forbidden is a request the server refuses whoever makes it.
func Forbidden(resource, name, detail string) error {
	return New(ReasonForbidden, resource, name, fmt.Sprintf("%s %q is forbidden: %s", resource, name, detail))
}

// Gone is a resourceVersion older than the history kept.
func Gone(format string, args ...any) error {
	return New(ReasonGone, "", "", fmt.Sprintf(format, args...))
}

// Unavailable is a backend (etcd) that cannot be reached.
func Unavailable(format string, args ...any) error {
	return New(ReasonServiceUnavailable, "", "", fmt.Sprintf(format, args...))
}

// Internal is a server bug or an unexpected failure.
func Internal(format string, args ...any) error {
	return New(ReasonInternalError, "", "", fmt.Sprintf(format, args...))
}

// TooLarge is a request body over the limit.
func TooLarge(format string, args ...any) error {
	return New(ReasonRequestEntityLarge, "", "", fmt.Sprintf(format, args...))
}

// ReasonOf is the Kubernetes reason of any error.
func ReasonOf(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ReasonInternalError
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			return info.GetReason()
		}
	}
	if r, ok := codeReasons[st.Code()]; ok {
		return r
	}
	return ReasonInternalError
}

// Is reports whether err has the given reason.
func Is(err error, reason string) bool { return err != nil && ReasonOf(err) == reason }

// IsNotFound reports a NotFound error.
func IsNotFound(err error) bool { return Is(err, ReasonNotFound) }

// ToStatus renders any error as the Status body and HTTP code the REST API answers with.
func ToStatus(err error) (*metav1.Status, int) {
	st, _ := status.FromError(err)
	reason := ReasonOf(err)
	httpCode := http.StatusInternalServerError
	if m, ok := reasons[reason]; ok {
		httpCode = m.http
	}
	out := &metav1.Status{
		ApiVersion: "v1", Kind: "Status", Metadata: &metav1.ListMeta{},
		Status: "Failure", Message: st.Message(), Reason: reason, Code: int32(httpCode),
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() != errorDomain {
				continue
			}
			if out.Details == nil {
				out.Details = &metav1.StatusDetails{}
			}
			out.Details.Name = d.GetMetadata()["name"]
			// "deployments.apps" is kind deployments of group apps, as
			// Kubernetes' details say.
			out.Details.Kind, out.Details.Group, _ = strings.Cut(d.GetMetadata()["kind"], ".")
		case *errdetails.BadRequest:
			if out.Details == nil {
				out.Details = &metav1.StatusDetails{}
			}
			for _, v := range d.GetFieldViolations() {
				out.Details.Causes = append(out.Details.Causes, &metav1.StatusCause{
					Reason: "FieldValueInvalid", Message: v.GetDescription(), Field: v.GetField()})
			}
		}
	}
	return out, httpCode
}

// ErrCompacted and friends are the storage layer's sentinels.
var (
	ErrKeyExists   = errors.New("key exists")
	ErrKeyNotFound = errors.New("key not found")
	ErrConflict    = errors.New("resource version conflict")
)
