package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	quantity "skiff.dev/proto/resource"
	"skiff.dev/proto/stats"
)

func (c *cli) topCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Display resource (CPU/memory) usage",
		Long: `Display the resource (CPU/memory) usage of nodes or pods, as kubectl top does.
The figures come from every node's kubelet (its Summary API,
/api/v1/nodes/NAME/proxy/stats/summary), sampled from the node and the
containers' cgroups; a pod's is the sum of its containers'.`,
	}
	cmd.AddCommand(c.topNodeCommand(), c.topPodCommand())
	return cmd
}

func (c *cli) topNodeCommand() *cobra.Command {
	var selector, sortBy string
	var noHeaders, showCapacity bool
	cmd := &cobra.Command{
		Use:     "node [NAME | -l label]",
		Aliases: []string{"nodes", "no"},
		Short:   "Display resource (CPU/memory) usage of nodes",
		Long: `Display the CPU and memory usage of nodes: CPU in millicores and as a share
of the node's allocatable CPU, memory (working set) in MiB and as a share of
its allocatable memory.`,
		Example: `  skiffctl top node
  skiffctl top node n1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sortBy != "" && sortBy != "cpu" && sortBy != "memory" {
				return errors.New("--sort-by accepts only cpu or memory")
			}
			if len(args) > 0 && selector != "" {
				return errors.New("only one of NAME or --selector can be provided")
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var nodes []*corev1.Node
			if len(args) > 0 {
				n, err := cs.CoreV1().Nodes().Get(ctx, args[0])
				if err != nil {
					return err
				}
				nodes = append(nodes, n)
			} else {
				list, err := cs.CoreV1().Nodes().List(ctx, client.ListOptions{LabelSelector: selector})
				if err != nil {
					return err
				}
				nodes = list.GetItems()
			}
			summaries := nodeSummaries(ctx, cs, nodes)
			var rows []usageRow
			var missing []string
			for _, n := range nodes {
				name := n.GetMetadata().GetName()
				s := summaries[name]
				if s == nil || s.Node.CPU == nil || s.Node.CPU.UsageNanoCores == nil || s.Node.Memory == nil || s.Node.Memory.WorkingSetBytes == nil {
					missing = append(missing, name)
					continue
				}
				avail := n.GetStatus().GetAllocatable()
				if showCapacity {
					avail = n.GetStatus().GetCapacity()
				}
				rows = append(rows, usageRow{name: name, nanoCores: *s.Node.CPU.UsageNanoCores,
					memory: *s.Node.Memory.WorkingSetBytes, available: avail})
			}
			if len(rows) == 0 {
				return errors.New("metrics not available yet")
			}
			sortRows(rows, sortBy, false)
			tw := tabwriter.NewWriter(c.out, 6, 4, 3, ' ', 0)
			defer tw.Flush()
			if !noHeaders {
				printCells(tw, "NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)")
			}
			for _, r := range rows {
				cells := []string{r.name, formatCPU(r.nanoCores)}
				if pct, ok := percent(int64(milliCores(r.nanoCores)), r.available["cpu"]); ok {
					cells = append(cells, pct)
				}
				cells = append(cells, formatMemory(r.memory))
				if pct, ok := percent(int64(r.memory)*1000, r.available["memory"]); ok {
					cells = append(cells, pct)
				}
				printCells(tw, cells...)
			}
			sort.Strings(missing)
			for _, name := range missing {
				printCells(tw, name, "<unknown>", "<unknown>", "<unknown>", "<unknown>")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&selector, "selector", "l", "", "selector (label query) to filter on")
	f.StringVar(&sortBy, "sort-by", "", "sort by cpu or memory")
	f.BoolVar(&noHeaders, "no-headers", false, "print no header line")
	f.BoolVar(&showCapacity, "show-capacity", false, "show the nodes' capacity rather than their allocatable as the base of the percentages")
	return cmd
}

func (c *cli) topPodCommand() *cobra.Command {
	var selector, sortBy string
	var allNamespaces, containers, noHeaders, sum bool
	cmd := &cobra.Command{
		Use:     "pod [NAME | -l label]",
		Aliases: []string{"pods", "po"},
		Short:   "Display resource (CPU/memory) usage of pods",
		Long: `Display the CPU (millicores) and memory (working set, MiB) usage of pods, or
with --containers of each of their containers.`,
		Example: `  skiffctl top pod
  skiffctl top pod -A
  skiffctl top pod web-0 --containers`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sortBy != "" && sortBy != "cpu" && sortBy != "memory" {
				return errors.New("--sort-by accepts only cpu or memory")
			}
			if len(args) > 0 && selector != "" {
				return errors.New("only one of NAME or selector can be provided")
			}
			cs, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ns := c.namespace()
			listNS := ns
			if allNamespaces {
				listNS = ""
			}
			var pods []*corev1.Pod
			if len(args) > 0 {
				p, err := cs.CoreV1().Pods(ns).Get(ctx, args[0])
				if err != nil {
					return err
				}
				pods = append(pods, p)
			} else {
				list, err := cs.CoreV1().Pods(listNS).List(ctx, client.ListOptions{LabelSelector: selector})
				if err != nil {
					return err
				}
				pods = list.GetItems()
			}
			nodes, err := cs.CoreV1().Nodes().List(ctx, client.ListOptions{})
			if err != nil {
				return err
			}
			byPod := map[string]*stats.PodStats{}
			for _, s := range nodeSummaries(ctx, cs, nodes.GetItems()) {
				for i := range s.Pods {
					p := &s.Pods[i]
					byPod[p.PodRef.Namespace+"/"+p.PodRef.Name+"/"+p.PodRef.UID] = p
				}
			}
			var rows []usageRow
			for _, p := range pods {
				m := p.GetMetadata()
				ps := byPod[m.GetNamespace()+"/"+m.GetName()+"/"+m.GetUid()]
				if ps == nil {
					continue
				}
				row := usageRow{namespace: m.GetNamespace(), name: m.GetName()}
				complete := len(ps.Containers) > 0
				for _, cst := range ps.Containers {
					if cst.CPU == nil || cst.CPU.UsageNanoCores == nil || cst.Memory == nil || cst.Memory.WorkingSetBytes == nil {
						complete = false
						break
					}
					row.containers = append(row.containers, usageRow{name: cst.Name,
						nanoCores: *cst.CPU.UsageNanoCores, memory: *cst.Memory.WorkingSetBytes})
					row.milli += milliCores(*cst.CPU.UsageNanoCores)
					row.memory += *cst.Memory.WorkingSetBytes
				}
				if complete {
					rows = append(rows, row)
				}
			}
			if len(rows) == 0 {
				if len(pods) > 0 {
					return errors.New("metrics not available yet")
				}
				if allNamespaces {
					fmt.Fprintln(c.errOut, "No resources found")
				} else {
					fmt.Fprintf(c.errOut, "No resources found in %s namespace.\n", ns)
				}
				return nil
			}
			sortRows(rows, sortBy, allNamespaces)
			tw := tabwriter.NewWriter(c.out, 6, 4, 3, ' ', 0)
			defer tw.Flush()
			if !noHeaders {
				var head []string
				if allNamespaces {
					head = append(head, "NAMESPACE")
				}
				if containers {
					head = append(head, "POD")
				}
				printCells(tw, append(head, "NAME", "CPU(cores)", "MEMORY(bytes)")...)
			}
			var totalMilli, totalMem uint64
			for _, r := range rows {
				totalMilli += r.milli
				totalMem += r.memory
				var lead []string
				if allNamespaces {
					lead = append(lead, r.namespace)
				}
				if !containers {
					printCells(tw, append(lead, r.name, fmt.Sprintf("%dm", r.milli), formatMemory(r.memory))...)
					continue
				}
				sortRows(r.containers, sortBy, false)
				for _, ct := range r.containers {
					printCells(tw, append(lead, r.name, ct.name, formatCPU(ct.nanoCores), formatMemory(ct.memory))...)
				}
			}
			if sum {
				width := 3
				if allNamespaces {
					width++
				}
				if containers {
					width++
				}
				blank := make([]string, width-2)
				printCells(tw, append(blank, "________", "________")...)
				printCells(tw, append(blank[:len(blank)-1], "", fmt.Sprintf("%dm", totalMilli), formatMemory(totalMem))...)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&selector, "selector", "l", "", "selector (label query) to filter on")
	f.StringVar(&sortBy, "sort-by", "", "sort by cpu or memory")
	f.BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list the pods of all namespaces")
	f.BoolVar(&containers, "containers", false, "print the usage of every container of the pods")
	f.BoolVar(&noHeaders, "no-headers", false, "print no header line")
	f.BoolVar(&sum, "sum", false, "print the sum of the usage")
	return cmd
}

// usageRow is one line of top: a node, a pod (milli and memory summed
// over its containers) or a container.
type usageRow struct {
	namespace, name string
	nanoCores       uint64
	milli           uint64 // a pod's: the sum of its containers' millicores
	memory          uint64
	available       map[string]string
	containers      []usageRow
}

func (r usageRow) cpu() uint64 {
	if r.milli > 0 || len(r.containers) > 0 {
		return r.milli
	}
	return milliCores(r.nanoCores)
}

// sortRows orders by name (namespace first when shown), or by cpu or
// memory, most first, as kubectl's metrics sorters.
func sortRows(rows []usageRow, by string, withNamespace bool) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch by {
		case "cpu":
			return a.cpu() > b.cpu()
		case "memory":
			return a.memory > b.memory
		}
		if withNamespace && a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		return a.name < b.name
	})
}

// nodeSummaries fetches the Summary of every node through the
// apiserver's node proxy, at once; a node that does not answer is missing.
func nodeSummaries(ctx context.Context, cs *client.Clientset, nodes []*corev1.Node) map[string]*stats.Summary {
	out := map[string]*stats.Summary{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		name := n.GetMetadata().GetName()
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := cs.RESTGet(ctx, "/api/v1/nodes/"+url.PathEscape(name)+"/proxy/stats/summary")
			if err != nil {
				return
			}
			var s stats.Summary
			if json.Unmarshal(b, &s) != nil {
				return
			}
			mu.Lock()
			out[name] = &s
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// printCells prints one line as kubectl's top does: every cell ends with
// a tab.
func printCells(w io.Writer, cells ...string) {
	for _, c := range cells {
		fmt.Fprintf(w, "%s\t", c)
	}
	fmt.Fprint(w, "\n")
}

// milliCores is a CPU rate in millicores, rounded up as a Kubernetes
// quantity's MilliValue is.
func milliCores(nanoCores uint64) uint64 { return (nanoCores + 999_999) / 1_000_000 }

// formatCPU is kubectl's CPU(cores): 12m.
func formatCPU(nanoCores uint64) string { return fmt.Sprintf("%dm", milliCores(nanoCores)) }

// formatMemory is kubectl's MEMORY(bytes): whole MiB, 34Mi.
func formatMemory(bytes uint64) string { return fmt.Sprintf("%dMi", bytes/(1024*1024)) }

// percent is usage (in thousandths of the unit) as a whole percentage of
// the quantity avail, as kubectl prints it.
func percent(usageMilli int64, avail string) (string, bool) {
	if avail == "" {
		return "", false
	}
	q, err := quantity.ParseQuantity(avail)
	if err != nil || q.MilliValue() == 0 {
		return "", false
	}
	return fmt.Sprintf("%d%%", int64(float64(usageMilli)/float64(q.MilliValue())*100)), true
}
