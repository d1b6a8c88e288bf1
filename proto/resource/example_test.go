package resource_test

import (
	"fmt"

	"skiff.dev/proto/resource"
)

func ExampleParseQuantity() {
	for _, s := range []string{"250m", "0.5", "1.5Gi", "1e3", "1000", "0.1n"} {
		q, err := resource.ParseQuantity(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-6s -> %-7s milli=%d value=%d\n", s, q, q.MilliValue(), q.Value())
	}
	_, err := resource.ParseQuantity("1 core")
	fmt.Println(err)
	_, err = resource.ParseQuantity("1E")
	fmt.Println(err)
	// Output:
	// 250m   -> 250m    milli=250 value=1
	// 0.5    -> 500m    milli=500 value=1
	// 1.5Gi  -> 1536Mi  milli=1610612736000 value=1610612736
	// 1e3    -> 1e3     milli=1000000 value=1000
	// 1000   -> 1k      milli=1000000 value=1000
	// 0.1n   -> 1n      milli=1 value=1
	// quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got "1 core"
	// quantity out of range: "1E"; quantities must be between -9223372036854775808m and 9223372036854775807m (about ±8Pi)
}

func ExampleParseList() {
	requests, err := resource.ParseList(map[string]string{"cpu": "500m", "memory": "128Mi"})
	if err != nil {
		fmt.Println(err)
		return
	}
	free := resource.MustParse("2")
	if err := free.Sub(requests.CPU()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(requests.CPU(), requests.Memory(), free)

	_, err = resource.ParseList(map[string]string{"cpu": "half"})
	fmt.Println(err)
	// Output:
	// 500m 128Mi 1500m
	// cpu: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got "half"
}
