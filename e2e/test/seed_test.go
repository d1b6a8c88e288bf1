package test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// event is the part of an Event the seed story reads.
type event struct {
	InvolvedObject struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"involvedObject"`
	Reason         string    `json:"reason"`
	Message        string    `json:"message"`
	FirstTimestamp time.Time `json:"firstTimestamp"`
	Count          int       `json:"count"`
}

// TestSeedStory is the README's first workflow: `skiffctl create deployment
// web --replicas=2` of an image in the lab registry; the Events tell the
// story in order (ScalingReplicaSet, SuccessfulCreate ×2, Scheduled ×2, one
// per node, then per pod Pulling, Pulled, Created, Started) and both pods
// run, ready, one on each node.
func TestSeedStory(t *testing.T) {
	l := startSeedCluster(t, nil)
	pods := createWeb(t, l, 2)
	onNode := map[string]string{}
	for _, p := range pods {
		onNode[p.Spec.NodeName] = p.Metadata.Name
	}
	if len(onNode) != 2 || onNode["n1"] == "" || onNode["n2"] == "" {
		t.Errorf("pods %v: want one on n1 and one on n2", pods)
	}

	framework.Eventually(t, time.Minute, time.Second, "the seed story's events", func(ctx context.Context) error {
		var list struct {
			Items []event `json:"items"`
		}
		if err := framework.GetJSON(ctx, l, admin, &list, "events"); err != nil {
			return err
		}
		return checkSeedEvents(list.Items, pods)
	})
}

// checkSeedEvents checks the events of the Deployment web, its ReplicaSet
// and pods: each reason there, as often as wanted, in the story's order.
func checkSeedEvents(events []event, pods []pod) error {
	// find returns the events of kind/name (a name prefix for the
	// ReplicaSet, whose name has a hash) with reason, oldest first.
	find := func(kind, name, reason string) ([]event, error) {
		var found []event
		for _, e := range events {
			if e.InvolvedObject.Kind == kind && strings.HasPrefix(e.InvolvedObject.Name, name) && e.Reason == reason {
				found = append(found, e)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no %s event of %s/%s", reason, kind, name)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].FirstTimestamp.Before(found[j].FirstTimestamp) })
		return found, nil
	}
	scaled, err := find("Deployment", "web", "ScalingReplicaSet")
	if err != nil {
		return err
	}
	if len(scaled) != 1 || !strings.Contains(scaled[0].Message, "to 2") {
		return fmt.Errorf("ScalingReplicaSet events %+v: want one, scaling to 2", scaled)
	}
	created, err := find("ReplicaSet", "web-", "SuccessfulCreate")
	if err != nil {
		return err
	}
	if n := countEvents(created); n != 2 {
		return fmt.Errorf("%d SuccessfulCreate events, want 2: %+v", n, created)
	}
	for _, p := range pods {
		name := p.Metadata.Name
		var createdIt *event
		for i, e := range created {
			if strings.HasSuffix(e.Message, " "+name) {
				createdIt = &created[i]
			}
		}
		if createdIt == nil {
			return fmt.Errorf("no SuccessfulCreate event names pod %s: %+v", name, created)
		}
		// The story of this pod, in order.
		prev, prevReason := createdIt.FirstTimestamp, "SuccessfulCreate"
		if prev.Before(scaled[0].FirstTimestamp) {
			return fmt.Errorf("SuccessfulCreate of %s (%s) before ScalingReplicaSet (%s)", name, prev, scaled[0].FirstTimestamp)
		}
		for _, reason := range []string{"Scheduled", "Pulling", "Pulled", "Created", "Started"} {
			evs, err := find("Pod", name, reason)
			if err != nil {
				return err
			}
			e := evs[0]
			if reason == "Scheduled" && !strings.HasSuffix(e.Message, " to "+p.Spec.NodeName) {
				return fmt.Errorf("Scheduled event of %s says %q, but the pod runs on %s", name, e.Message, p.Spec.NodeName)
			}
			if reason == "Pulling" && !strings.Contains(e.Message, webImage) {
				return fmt.Errorf("Pulling event of %s says %q, want a pull of %s", name, e.Message, webImage)
			}
			if e.FirstTimestamp.Before(prev) {
				return fmt.Errorf("pod %s: %s (%s) came before %s (%s)", name, reason, e.FirstTimestamp, prevReason, prev)
			}
			prev, prevReason = e.FirstTimestamp, reason
		}
	}
	return nil
}

// countEvents adds up the counts of events (a repeated event is one
// object with a count).
func countEvents(evs []event) int {
	n := 0
	for _, e := range evs {
		n += max(e.Count, 1)
	}
	return n
}
