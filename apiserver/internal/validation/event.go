package validation

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// Event types.
const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"

	eventReasonMaxLength = 128
)

var eventTypes = []string{EventTypeNormal, EventTypeWarning}

// DefaultEvent fills an event's defaults. Kubernetes defaults nothing on
// core/v1 events; it exists so every kind has the same three functions.
func DefaultEvent(*corev1.Event) {}

// ValidateEvent checks a new event: it names the object it is about (in
// its own namespace), has type Normal or Warning, and a short reason.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	errs := validateObjectMeta(e.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	op := field.NewPath("involvedObject")
	switch obj := e.GetInvolvedObject(); {
	case obj == nil:
		errs = append(errs, field.Required(op, ""))
	default:
		if obj.Kind == "" {
			errs = append(errs, field.Required(op.Child("kind"), ""))
		}
		if obj.Name == "" {
			errs = append(errs, field.Required(op.Child("name"), ""))
		}
		if obj.Namespace != "" && obj.Namespace != e.GetMetadata().GetNamespace() {
			errs = append(errs, field.Invalid(op.Child("namespace"), obj.Namespace, "does not match event.namespace"))
		}
	}
	errs = append(errs, validateEnum(e.GetType(), eventTypes, field.NewPath("type"))...)
	if len(e.GetReason()) > eventReasonMaxLength {
		errs = append(errs, field.TooLong(field.NewPath("reason"), e.GetReason(), eventReasonMaxLength))
	}
	if len(e.GetAction()) > eventReasonMaxLength {
		errs = append(errs, field.TooLong(field.NewPath("action"), e.GetAction(), eventReasonMaxLength))
	}
	return append(errs, validateNonnegative(int64(e.GetCount()), field.NewPath("count"))...)
}

// ValidateEventUpdate checks an event update, as a recorder makes when the
// same event recurs (count, lastTimestamp, message): what the event is
// about, its reason, source and first timestamp may not change.
func ValidateEventUpdate(newObj, old *corev1.Event) field.ErrorList {
	errs := ValidateEvent(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	if !proto.Equal(newObj.GetInvolvedObject(), old.GetInvolvedObject()) {
		errs = append(errs, field.Immutable(field.NewPath("involvedObject"), newObj.GetInvolvedObject().String()))
	}
	if newObj.GetReason() != old.GetReason() {
		errs = append(errs, field.Immutable(field.NewPath("reason"), newObj.GetReason()))
	}
	if !proto.Equal(newObj.GetSource(), old.GetSource()) {
		errs = append(errs, field.Immutable(field.NewPath("source"), newObj.GetSource().String()))
	}
	if !proto.Equal(newObj.GetFirstTimestamp(), old.GetFirstTimestamp()) {
		errs = append(errs, field.Immutable(field.NewPath("firstTimestamp"), formatTime(newObj.GetFirstTimestamp())))
	}
	return errs
}
