package registry

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/proto/meta/v1"
)

// Every kind's message has the fields api_version, kind, metadata and
// usually spec and status; these helpers reach them without per-kind code.

func fieldOf(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

// metaOf returns the object's metadata, creating it when absent.
func metaOf(obj proto.Message) *metav1.ObjectMeta {
	m := obj.ProtoReflect()
	fd := fieldOf(m, "metadata")
	return m.Mutable(fd).Message().Interface().(*metav1.ObjectMeta)
}

// setTypeMeta stamps apiVersion and kind.
func setTypeMeta(obj proto.Message, apiVersion, kind string) {
	m := obj.ProtoReflect()
	m.Set(fieldOf(m, "api_version"), protoreflect.ValueOfString(apiVersion))
	m.Set(fieldOf(m, "kind"), protoreflect.ValueOfString(kind))
}

func typeMeta(obj proto.Message) (apiVersion, kind string) {
	m := obj.ProtoReflect()
	return m.Get(fieldOf(m, "api_version")).String(), m.Get(fieldOf(m, "kind")).String()
}

// hasField reports whether the kind's message has a field of this name.
func hasField(obj proto.Message, name string) bool { return fieldOf(obj.ProtoReflect(), name) != nil }

// copyField sets dst's field to a copy of src's (clearing it when src has none).
func copyField(dst, src proto.Message, name string) {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	fd := fieldOf(d, name)
	if fd == nil {
		return
	}
	if !s.Has(fd) {
		d.Clear(fd)
		return
	}
	d.Set(fd, protoreflect.ValueOfMessage(proto.Clone(s.Get(fd).Message().Interface()).ProtoReflect()))
}

// clearField removes a field.
func clearField(obj proto.Message, name string) {
	m := obj.ProtoReflect()
	if fd := fieldOf(m, name); fd != nil {
		m.Clear(fd)
	}
}

// fieldEqual compares one message field of two objects.
func fieldEqual(a, b proto.Message, name string) bool {
	am, bm := a.ProtoReflect(), b.ProtoReflect()
	fd := fieldOf(am, name)
	if fd == nil {
		return true
	}
	if am.Has(fd) != bm.Has(fd) {
		// An empty message and an absent one are the same spec.
		var x, y proto.Message
		if am.Has(fd) {
			x = am.Get(fd).Message().Interface()
		}
		if bm.Has(fd) {
			y = bm.Get(fd).Message().Interface()
		}
		return (x == nil || proto.Size(x) == 0) && (y == nil || proto.Size(y) == 0)
	}
	if !am.Has(fd) {
		return true
	}
	return proto.Equal(am.Get(fd).Message().Interface(), bm.Get(fd).Message().Interface())
}

// newListOf builds a list message of type L holding items, with typed metadata.
func newListOf[L proto.Message, T proto.Message](apiVersion, kind string, items []T, lm *metav1.ListMeta) L {
	var zero L
	m := zero.ProtoReflect().New()
	m.Set(fieldOf(m, "api_version"), protoreflect.ValueOfString(apiVersion))
	m.Set(fieldOf(m, "kind"), protoreflect.ValueOfString(kind))
	m.Set(fieldOf(m, "metadata"), protoreflect.ValueOfMessage(lm.ProtoReflect()))
	list := m.Mutable(fieldOf(m, "items")).List()
	for _, it := range items {
		list.Append(protoreflect.ValueOfMessage(it.ProtoReflect()))
	}
	return m.Interface().(L)
}

// newEventOf builds a watch event message of type EV.
func newEventOf[EV any, T proto.Message](typ metav1.EventType, obj T) *EV {
	ev := new(EV)
	m := any(ev).(proto.Message).ProtoReflect()
	m.Set(fieldOf(m, "type"), protoreflect.ValueOfEnum(protoreflect.EnumNumber(typ)))
	m.Set(fieldOf(m, "object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
	return ev
}

// newUID is a random RFC 4122 version 4 UUID.
func newUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// randomSuffix is the 5 characters Kubernetes appends to a generateName.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
