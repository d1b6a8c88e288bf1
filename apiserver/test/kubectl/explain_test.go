package kubectl

import (
	"testing"
)

// TestExplain is kubectl explain (OpenAPI v3) on Skiff's documents: the
// contract's comments where it has them, else Kubernetes' own, and
// Kubernetes' types (IntOrString, Quantity, required fields).
func TestExplain(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, "", `GROUP:      apps
KIND:       Deployment
VERSION:    v1

FIELD: strategy <DeploymentStrategy>


DESCRIPTION:
    The deployment strategy to use to replace existing pods with new ones.
    DeploymentStrategy describes how to replace existing pods with new ones.
    
FIELDS:
  rollingUpdate	<RollingUpdateDeployment>
    Rolling update config params. Present only if DeploymentStrategyType =
    RollingUpdate.

  type	<string>
    type is RollingUpdate (default) or Recreate.


`, "explain", "deployment.spec.strategy")

	applyRun(t, k, "", `KIND:       Pod
VERSION:    v1

FIELD: resources <ResourceRequirements>


DESCRIPTION:
    Compute Resources required by this container. Cannot be updated. More info:
    https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
    ResourceRequirements maps resource names (cpu, memory) to quantities.
    
FIELDS:
  limits	<map[string]Quantity>
  requests	<map[string]Quantity>

`, "explain", "pod.spec.containers.resources", "--recursive")

	applyRun(t, k, "", `KIND:       Service
VERSION:    v1

FIELD: targetPort <IntOrString>


DESCRIPTION:
    targetPort is a number or a named container port; defaults to port.
    IntOrString is a type that can hold an int32 or a string.  When used in JSON
    or YAML marshalling and unmarshalling, it produces or consumes the inner
    type.  This allows you to have, for example, a JSON field that can accept a
    name or number.
    

`, "explain", "service.spec.ports.targetPort")

	// The OpenAPI v2 form, which kubectl reads as protobuf.
	applyRun(t, k, "", `KIND:     Deployment
VERSION:  apps/v1

RESOURCE: strategy <Object>

DESCRIPTION:
     The deployment strategy to use to replace existing pods with new ones.

     DeploymentStrategy describes how to replace existing pods with new ones.

FIELDS:
   rollingUpdate	<Object>
     Rolling update config params. Present only if DeploymentStrategyType =
     RollingUpdate.

   type	<string>
     type is RollingUpdate (default) or Recreate.

`, "explain", "deployment.spec.strategy", "--output", "plaintext-openapiv2")

	out, errOut, err := k.Run("", "explain", "pod.spec.containers.foo")
	if err == nil || out != "KIND:       Pod\nVERSION:    v1\n\n" || errOut != "error: field \"foo\" does not exist\n" {
		t.Fatalf("kubectl explain pod.spec.containers.foo: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
}
