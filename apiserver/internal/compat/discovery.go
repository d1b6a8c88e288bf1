package compat

// allCategory lists the resources in Kubernetes' "all" category, which
// `kubectl get all` expands to (group/resource, "" for core).
var allCategory = map[string]bool{
	"/pods": true, "/services": true, "apps/deployments": true, "apps/replicasets": true,
	"apps/daemonsets": true, "batch/jobs": true,
}

// Categories are the discovery categories of group/resource, as Kubernetes
// names them: ["all"] for the kinds `kubectl get all` lists.
func Categories(group, resource string) []string {
	if allCategory[group+"/"+resource] {
		return []string{"all"}
	}
	return nil
}
