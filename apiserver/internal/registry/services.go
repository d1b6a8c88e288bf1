package registry

import (
	"context"
	"strconv"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/storage"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// serviceAllocation gives Services their ClusterIP and NodePorts.
type serviceAllocation struct {
	ips   *Allocator
	ports *Allocator
}

func owner(s *corev1.Service) string {
	return s.GetMetadata().GetNamespace() + "/" + s.GetMetadata().GetName()
}

func headless(s *corev1.Service) bool { return s.GetSpec().GetClusterIp() == "None" }

func wantsNodePorts(s *corev1.Service) bool { return s.GetSpec().GetType() == "NodePort" }

func invalid(s *corev1.Service, p *field.Path, v any, detail string) error {
	return apierrors.Invalid("Service", s.GetMetadata().GetName(), field.ErrorList{field.Invalid(p, v, detail)})
}

// beforeCreate allocates the ClusterIP and NodePorts of a new Service.
func (a *serviceAllocation) beforeCreate(ctx context.Context, s *corev1.Service) (storage.Txn, error) {
	var tx storage.Txn
	spec := s.GetSpec()
	if !headless(s) {
		ip := spec.ClusterIp
		if ip == "" {
			picked, err := a.ips.Pick(ctx, nil)
			if err != nil {
				return tx, apierrors.Internal("failed to allocate a service IP: %v", err)
			}
			ip = picked
		} else if err := a.checkIP(ctx, s, ip); err != nil {
			return tx, err
		}
		spec.ClusterIp = ip
		spec.ClusterIps = []string{ip}
		tx = mergeTxn(tx, a.ips.Claim(ip, owner(s)))
	} else {
		spec.ClusterIps = []string{"None"}
	}
	ptx, err := a.allocatePorts(ctx, s, nil)
	return mergeTxn(tx, ptx), err
}

func (a *serviceAllocation) checkIP(ctx context.Context, s *corev1.Service, ip string) error {
	p := field.NewPath("spec", "clusterIP")
	if !a.ips.Contains(ip) {
		return invalid(s, p, ip, "provided IP is not in the valid range; the range of valid IPs is the --service-cluster-ip-range")
	}
	taken, err := a.ips.Taken(ctx, ip)
	if err != nil {
		return apierrors.Unavailable("etcd is unavailable: %v", err)
	}
	if taken {
		return invalid(s, p, ip, "provided IP is already allocated")
	}
	return nil
}

// allocatePorts gives every port of a NodePort service a node port, keeping
// those old already holds.
func (a *serviceAllocation) allocatePorts(ctx context.Context, s *corev1.Service, old *corev1.Service) (storage.Txn, error) {
	var tx storage.Txn
	held := map[string]bool{}
	if old != nil && wantsNodePorts(old) {
		for _, p := range old.GetSpec().GetPorts() {
			if p.NodePort != 0 {
				held[strconv.Itoa(int(p.NodePort))] = true
			}
		}
	}
	if !wantsNodePorts(s) {
		for _, p := range s.GetSpec().GetPorts() {
			p.NodePort = 0
		}
		return tx, nil
	}
	chosen := map[string]bool{}
	for i, p := range s.GetSpec().GetPorts() {
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if p.NodePort != 0 {
			v := strconv.Itoa(int(p.NodePort))
			if chosen[v] {
				return tx, invalid(s, path, p.NodePort, "provided port is used by another port of this service")
			}
			chosen[v] = true
			if held[v] {
				continue
			}
			if !a.ports.Contains(v) {
				return tx, invalid(s, path, p.NodePort, "provided port is not in the valid range; the range of valid ports is the --service-node-port-range")
			}
			taken, err := a.ports.Taken(ctx, v)
			if err != nil {
				return tx, apierrors.Unavailable("etcd is unavailable: %v", err)
			}
			if taken {
				return tx, invalid(s, path, p.NodePort, "provided port is already allocated")
			}
			tx = mergeTxn(tx, a.ports.Claim(v, owner(s)))
			continue
		}
		skip := map[string]bool{}
		for v := range chosen {
			skip[v] = true
		}
		v, err := a.ports.Pick(ctx, skip)
		if err != nil {
			return tx, apierrors.Internal("failed to allocate a node port: %v", err)
		}
		n, _ := strconv.Atoi(v)
		p.NodePort = int32(n)
		chosen[v] = true
		tx = mergeTxn(tx, a.ports.Claim(v, owner(s)))
	}
	return tx, nil
}

// beforeUpdate allocates node ports an update adds and releases those it drops.
func (a *serviceAllocation) beforeUpdate(ctx context.Context, s, old *corev1.Service) (storage.Txn, error) {
	tx, err := a.allocatePorts(ctx, s, old)
	if err != nil {
		return tx, err
	}
	keep := map[int32]bool{}
	for _, p := range s.GetSpec().GetPorts() {
		keep[p.NodePort] = true
	}
	for _, p := range old.GetSpec().GetPorts() {
		if p.NodePort != 0 && !keep[p.NodePort] {
			tx = mergeTxn(tx, a.ports.Release(strconv.Itoa(int(p.NodePort))))
		}
	}
	return tx, nil
}

// beforeDelete releases everything the Service holds.
func (a *serviceAllocation) beforeDelete(_ context.Context, old *corev1.Service) (storage.Txn, error) {
	var tx storage.Txn
	if ip := old.GetSpec().GetClusterIp(); ip != "" && ip != "None" {
		tx = mergeTxn(tx, a.ips.Release(ip))
	}
	for _, p := range old.GetSpec().GetPorts() {
		if p.NodePort != 0 {
			tx = mergeTxn(tx, a.ports.Release(strconv.Itoa(int(p.NodePort))))
		}
	}
	return tx, nil
}
