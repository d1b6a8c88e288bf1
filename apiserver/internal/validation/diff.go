package validation

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"skiff.dev/proto/validation/field"
)

// diffPaths lists the JSON paths under p at which messages a and b differ,
// descending into nested messages and into lists of messages of the same
// length, so a user learns which field an update must not change
// ("spec.nodeName", "spec.containers[0].ports").
func diffPaths(a, b proto.Message, p *field.Path) []string {
	return diffMessages(a.ProtoReflect(), b.ProtoReflect(), p)
}

func diffMessages(a, b protoreflect.Message, p *field.Path) []string {
	var out []string
	fields := a.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if proto.Equal(onlyField(a, fd).Interface(), onlyField(b, fd).Interface()) {
			continue
		}
		fp := p.Child(fd.JSONName())
		switch {
		case fd.IsList() && fd.Message() != nil && a.Get(fd).List().Len() == b.Get(fd).List().Len():
			la, lb := a.Get(fd).List(), b.Get(fd).List()
			for j := range la.Len() {
				ea, eb := la.Get(j).Message(), lb.Get(j).Message()
				if !proto.Equal(ea.Interface(), eb.Interface()) {
					out = append(out, diffMessages(ea, eb, fp.Index(j))...)
				}
			}
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil && a.Has(fd) && b.Has(fd):
			out = append(out, diffMessages(a.Get(fd).Message(), b.Get(fd).Message(), fp)...)
		default:
			out = append(out, fp.String())
		}
	}
	return out
}

// onlyField is a message of m's type holding only m's field fd, for
// comparing one field of two messages.
func onlyField(m protoreflect.Message, fd protoreflect.FieldDescriptor) protoreflect.Message {
	c := m.New()
	if m.Has(fd) {
		c.Set(fd, m.Get(fd))
	}
	return c
}
