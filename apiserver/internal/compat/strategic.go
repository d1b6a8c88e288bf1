package compat

import (
	"fmt"

	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// StrategicMergePatch applies a strategic merge patch
// (application/strategic-merge-patch+json) to doc, an object's Kubernetes
// JSON as skiff.dev/proto/codec writes it, with the merge keys and patch
// strategies of Kubernetes' type of group/version/kind: containers merge
// by name, ports by containerPort, env by name, and $patch, $retainKeys,
// $setElementOrder and $deleteFromPrimitiveList directives work as in
// Kubernetes. The result is JSON for the same codec to decode.
func StrategicMergePatch(doc, patch []byte, group, version, kind string) ([]byte, error) {
	obj, err := kubeScheme.New(k8sschema.GroupVersionKind{Group: group, Version: version, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("no strategic merge patch for %s: %w", kind, err)
	}
	return strategicpatch.StrategicMergePatch(doc, patch, obj)
}

// HasStrategicMergePatch tells whether kind can be patched with a strategic
// merge patch.
func HasStrategicMergePatch(group, version, kind string) bool {
	return kubeScheme.Recognizes(k8sschema.GroupVersionKind{Group: group, Version: version, Kind: kind})
}
