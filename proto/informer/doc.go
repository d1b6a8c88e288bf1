// Package informer keeps local caches of API objects in step with the
// apiservers, as client-go's tools/cache: a reflector lists (in pages) and
// then watches from the list's resourceVersion, resumes a broken watch from
// the last version it saw, and lists again only when the server answers
// "too old" (codes.OutOfRange); an indexed, thread-safe store holds the
// objects; handlers hear about every add, update and delete, in order, each
// from its own queue.
//
// Objects handed out by stores, listers and handlers are shared: never
// modify one in place. Clone it (informer.Clone or proto.Clone), change the
// copy, and write that through the client.
//
// Most programs use a SharedInformerFactory, so one process opens one
// watch per kind however many controllers read it.
package informer
