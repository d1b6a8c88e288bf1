// Package codec reads and writes the Kubernetes-shaped JSON and YAML of the
// API's messages. It is the one codec of that format: the apiserver's REST
// gateway and watch streams, and skiffctl's manifests and -o json|yaml all
// use it, so a manifest means the same thing everywhere.
//
// The JSON is protojson's (lowerCamelCase names, enums by name, timestamps
// in RFC 3339) with the differences Kubernetes clients rely on:
//
//   - An IntOrString field (targetPort, probe ports, maxSurge,
//     maxUnavailable) holding an integer is written as a JSON number
//     ("targetPort": 8080); a name or a percentage as a string.
//   - A list's items are always written, "items": [] when empty.
//   - 64-bit integers are JSON numbers, not strings.
//   - Times are Kubernetes': whole seconds, or microseconds for the
//     fields Kubernetes types as MicroTime (an event's eventTime, a
//     lease's acquireTime and renewTime).
//   - The output is stable: compact, fields in declaration order, map
//     keys sorted.
//
// Decoding is strict about field names (an unknown field is an error) and,
// as Kubernetes is, lenient about numbers: a JSON number (or YAML int or
// float) is taken where the API has a string, as that number's text, so
// `targetPort: 80`, `port: 80` in a probe and `cpu: 1` or `cpu: 0.5` all
// work. Errors name the field path, and for YAML the line.
package codec

import (
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// intOrString lists the string fields that Kubernetes types as
// IntOrString (see skiff.dev/proto/intstr).
var intOrString = map[protoreflect.FullName]bool{
	"skiff.core.v1.ServicePort.target_port":                 true,
	"skiff.core.v1.HTTPGetAction.port":                      true,
	"skiff.core.v1.TCPSocketAction.port":                    true,
	"skiff.apps.v1.RollingUpdateDeployment.max_surge":       true,
	"skiff.apps.v1.RollingUpdateDeployment.max_unavailable": true,
	"skiff.apps.v1.RollingUpdateDaemonSet.max_surge":        true,
	"skiff.apps.v1.RollingUpdateDaemonSet.max_unavailable":  true,
}

// microTime lists the Timestamp fields that Kubernetes types as
// metav1.MicroTime, whose JSON has exactly six fractional digits
// ("2026-03-04T05:06:07.000000Z"): client-go cannot read them otherwise.
var microTime = map[protoreflect.FullName]bool{
	"skiff.coordination.v1.LeaseSpec.acquire_time": true,
	"skiff.coordination.v1.LeaseSpec.renew_time":   true,
	"skiff.core.v1.Event.event_time":               true,
}

// alwaysWritten lists the fields Kubernetes writes even when zero (no
// omitempty in its types), which scripts read without a default:
// `jq .status.containerStatuses[].restartCount`. Besides these, a list's
// items and metadata, and a Status's metadata, are always written.
var alwaysWritten = map[protoreflect.FullName]bool{
	"skiff.core.v1.ContainerStatus.ready":                    true,
	"skiff.core.v1.ContainerStatus.restart_count":            true,
	"skiff.core.v1.ContainerStatus.image":                    true,
	"skiff.core.v1.ContainerStatus.image_id":                 true,
	"skiff.core.v1.DaemonEndpoint.port":                      true,
	"skiff.core.v1.EndpointPort.port":                        true,
	"skiff.apps.v1.ReplicaSetStatus.replicas":                true,
	"skiff.apps.v1.DaemonSetStatus.current_number_scheduled": true,
	"skiff.apps.v1.DaemonSetStatus.number_misscheduled":      true,
	"skiff.apps.v1.DaemonSetStatus.desired_number_scheduled": true,
	"skiff.apps.v1.DaemonSetStatus.number_ready":             true,
	"skiff.apps.v1.ScaleStatus.replicas":                     true,
	"skiff.meta.v1.Status.metadata":                          true,
}

// IsIntOrString reports whether fd is a field Kubernetes types as
// IntOrString.
func IsIntOrString(fd protoreflect.FieldDescriptor) bool {
	return intOrString[fd.FullName()]
}

// always reports whether fd is written even when unset or zero.
func always(fd protoreflect.FieldDescriptor) bool {
	if alwaysWritten[fd.FullName()] {
		return true
	}
	if !strings.HasSuffix(string(fd.ContainingMessage().Name()), "List") {
		return false
	}
	return fd.IsList() && fd.Name() == "items" || fd.Message() != nil && fd.Name() == "metadata"
}

// fieldInfo is what the encoder needs of a field, computed once per
// message type.
type fieldInfo struct {
	fd          protoreflect.FieldDescriptor
	key         []byte // "jsonName":
	always      bool
	intOrString bool
}

var fieldInfos sync.Map // protoreflect.MessageDescriptor -> []fieldInfo

func fieldsOf(md protoreflect.MessageDescriptor) []fieldInfo {
	if v, ok := fieldInfos.Load(md); ok {
		return v.([]fieldInfo)
	}
	fds := md.Fields()
	out := make([]fieldInfo, fds.Len())
	for i := range out {
		fd := fds.Get(i)
		out[i] = fieldInfo{fd: fd, key: []byte(strconv.Quote(fd.JSONName()) + ":"), always: always(fd), intOrString: intOrString[fd.FullName()]}
	}
	fieldInfos.Store(md, out)
	return out
}
