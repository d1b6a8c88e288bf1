// Package stats is the kubelet's Summary API (GET /stats/summary), in the
// JSON shape of Kubernetes' k8s.io/kubelet/pkg/apis/stats/v1alpha1: the
// node's and every pod's and container's CPU and memory. The kubelet
// writes it; skiffctl top reads it through the apiserver's node proxy
// (/api/v1/nodes/NAME/proxy/stats/summary).
package stats

import "time"

// Summary is a node's and its pods' usage.
type Summary struct {
	Node NodeStats  `json:"node"`
	Pods []PodStats `json:"pods"`
}

// NodeStats is the whole node's usage.
type NodeStats struct {
	NodeName  string       `json:"nodeName"`
	StartTime time.Time    `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// PodStats is one pod's usage: the sum of its containers'.
type PodStats struct {
	PodRef     PodReference     `json:"podRef"`
	StartTime  time.Time        `json:"startTime"`
	Containers []ContainerStats `json:"containers"`
	CPU        *CPUStats        `json:"cpu,omitempty"`
	Memory     *MemoryStats     `json:"memory,omitempty"`
}

// ContainerStats is one running container's usage.
type ContainerStats struct {
	Name      string       `json:"name"`
	StartTime time.Time    `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
}

// CPUStats: UsageCoreNanoSeconds is the CPU time used since the start;
// UsageNanoCores the rate over the last sampling interval (absent until
// there have been two samples).
type CPUStats struct {
	Time                 time.Time `json:"time"`
	UsageNanoCores       *uint64   `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64   `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats: WorkingSetBytes is usage less inactive file pages, the
// figure the OOM killer and `kubectl top` go by.
type MemoryStats struct {
	Time            time.Time `json:"time"`
	AvailableBytes  *uint64   `json:"availableBytes,omitempty"`
	UsageBytes      *uint64   `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64   `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64   `json:"rssBytes,omitempty"`
}
