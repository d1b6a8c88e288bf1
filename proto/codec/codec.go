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
	"strings"

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

// IsIntOrString reports whether fd is a field Kubernetes types as
// IntOrString.
func IsIntOrString(fd protoreflect.FieldDescriptor) bool {
	return intOrString[fd.FullName()]
}

// alwaysItems reports whether fd is a list's items, written even when
// empty: the repeated field "items" of a message whose name ends in List.
func alwaysItems(fd protoreflect.FieldDescriptor) bool {
	return fd.IsList() && fd.Name() == "items" && strings.HasSuffix(string(fd.ContainingMessage().Name()), "List")
}
