module skiff.dev/e2e

go 1.26.0

require (
	skiff.dev/apiserver v0.0.0
	skiff.dev/proto v0.0.0
)

replace (
	skiff.dev/apiserver => ../apiserver
	skiff.dev/proto => ../proto
)
