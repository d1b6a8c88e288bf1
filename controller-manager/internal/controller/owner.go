package controller

import (
	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

// ControllerOf is the ownerReference of meta with controller=true, or nil.
func ControllerOf(meta *metav1.ObjectMeta) *metav1.OwnerReference {
	for _, ref := range meta.GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

// NewControllerRef is the ownerReference a controller puts on what it
// creates: controller=true and blockOwnerDeletion=true, as Kubernetes' do.
func NewControllerRef(owner client.Object) *metav1.OwnerReference {
	apiVersion, kind := client.TypeOf(owner)
	t := true
	return &metav1.OwnerReference{
		ApiVersion:         apiVersion,
		Kind:               kind,
		Name:               owner.GetMetadata().GetName(),
		Uid:                owner.GetMetadata().GetUid(),
		Controller:         &t,
		BlockOwnerDeletion: &t,
	}
}

// IsControlledBy reports whether meta's controller is the object with uid.
func IsControlledBy(meta *metav1.ObjectMeta, uid string) bool {
	ref := ControllerOf(meta)
	return ref != nil && ref.GetUid() == uid
}
