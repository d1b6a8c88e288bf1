package client

import "google.golang.org/protobuf/proto"

// clone deep-copies a message, keeping its type.
func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }
