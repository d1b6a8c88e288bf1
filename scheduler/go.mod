module skiff.dev/scheduler

go 1.26.0

require skiff.dev/proto v0.0.0

replace (
	skiff.dev/apiserver => ../apiserver
	skiff.dev/proto => ../proto
)
