package resource_test

import (
	"errors"
	"maps"
	"testing"

	"skiff.dev/proto/resource"
)

func TestParseList(t *testing.T) {
	l, err := resource.ParseList(map[string]string{"cpu": "0.5", "memory": "1.5Gi", "pods": "110", "ephemeral-storage": "10G"})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.CPU().MilliValue(); got != 500 {
		t.Errorf("CPU().MilliValue() = %d, want 500", got)
	}
	if got := l.Memory().Value(); got != 1_610_612_736 {
		t.Errorf("Memory().Value() = %d", got)
	}
	if got := l.Pods().Value(); got != 110 {
		t.Errorf("Pods().Value() = %d", got)
	}
	if got := l.EphemeralStorage().String(); got != "10G" {
		t.Errorf("EphemeralStorage() = %s", got)
	}
	if got := l.Get("nvidia.com/gpu"); !got.IsZero() {
		t.Errorf("Get(missing) = %s, want 0", got)
	}
	want := map[string]string{"cpu": "500m", "memory": "1536Mi", "pods": "110", "ephemeral-storage": "10G"}
	if got := l.Strings(); !maps.Equal(got, want) {
		t.Errorf("Strings() = %v, want %v", got, want)
	}
	if l, err := resource.ParseList(nil); err != nil || len(l) != 0 {
		t.Errorf("ParseList(nil) = %v, %v", l, err)
	}
	if resource.List(nil).Strings() != nil {
		t.Error("nil List Strings() must be nil")
	}
}

func TestParseListErrors(t *testing.T) {
	_, err := resource.ParseList(map[string]string{"memory": "1mi", "cpu": "1 core", "pods": "10"})
	want := `cpu: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got "1 core"` + "\n" +
		`memory: unable to parse quantity's suffix "mi" in "1mi", expected one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
	if !errors.Is(err, resource.ErrFormatWrong) || !errors.Is(err, resource.ErrSuffix) {
		t.Errorf("error does not wrap both causes: %v", err)
	}
	_, err = resource.ParseList(map[string]string{"cpu": ""})
	if err == nil || err.Error() != `cpu: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got ""` {
		t.Errorf("empty cpu: %v", err)
	}
}

func TestListAdd(t *testing.T) {
	total := resource.List{}
	for _, c := range []map[string]string{
		{"cpu": "250m", "memory": "64Mi"},
		{"cpu": "500m", "memory": "128Mi"},
		{"cpu": "1", "nvidia.com/gpu": "1"},
	} {
		l, err := resource.ParseList(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := total.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"cpu": "1750m", "memory": "192Mi", "nvidia.com/gpu": "1"}
	if got := total.Strings(); !maps.Equal(got, want) {
		t.Errorf("sum = %v, want %v", got, want)
	}

	big := resource.List{"cpu": resource.MustParse("1"), "memory": resource.MustParse("8Pi")}
	err := big.Add(resource.List{"cpu": resource.MustParse("1"), "memory": resource.MustParse("8Pi")})
	if !errors.Is(err, resource.ErrOutOfRange) || err.Error()[:8] != "memory: " {
		t.Errorf("overflow error = %v", err)
	}
	if got := big.Strings(); got["cpu"] != "1" || got["memory"] != "8Pi" {
		t.Errorf("list changed by a failed Add: %v", got)
	}
}
