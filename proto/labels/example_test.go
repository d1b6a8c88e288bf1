package labels_test

import (
	"fmt"

	"skiff.dev/proto/labels"
)

func ExampleParse() {
	sel, err := labels.Parse("app=web, tier in (front,back), !canary")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sel)
	fmt.Println(sel.Matches(labels.Set{"app": "web", "tier": "front"}))
	fmt.Println(sel.Matches(labels.Set{"app": "web", "tier": "front", "canary": "true"}))

	_, err = labels.Parse("app=web,!)")
	fmt.Println(err)
	// Output:
	// app=web,!canary,tier in (back,front)
	// true
	// false
	// unable to parse requirement: found ')' at position 9, expected: identifier
}
