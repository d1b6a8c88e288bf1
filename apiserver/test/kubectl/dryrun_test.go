package kubectl

import (
	"strings"
	"testing"
)

func TestDryRunProbe(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")
	for _, c := range []struct{ in string; args []string }{
		{applyWeb, []string{"diff", "-f", "-"}},
		{applyWebEdited, []string{"diff", "-f", "-"}},
		{applyWebEdited, []string{"apply", "-f", "-", "--dry-run=server"}},
		{strings.Replace(applyWeb, "name: web", "name: fresh", 1), []string{"create", "-f", "-", "--dry-run=server", "-o", "yaml"}},
		{"", []string{"get", "deploy", "-o", "yaml"}},
	} {
		out, errOut, err := k.Run(c.in, c.args...)
		t.Logf("%v: err %v\nSTDOUT\n%s\nSTDERR\n%s", c.args, err, out, errOut)
	}
}
