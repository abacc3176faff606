package auditcmd

import (
	"reflect"
	"testing"
)

func TestBody(t *testing.T) {
	flat := map[string]any{"interval": "EVERY_HOUR", "bucket": "b", "region": "r", "enabled": false}
	got, err := Body("s3", flat)
	want := map[string]any{"type": "s3", "interval": "EVERY_HOUR", "enabled": false,
		"endpointConfiguration": map[string]any{"bucket": "b", "region": "r"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("flat: %v %v", got, err)
	}
	nested := map[string]any{"interval": "EVERY_HOUR", "type": "s3", "endpointConfiguration": map[string]any{"bucket": "b",
		"region": "r", "__typename": "S3EndpointConfiguration"}}
	got, err = Body("s3", nested)
	delete(want, "enabled")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("nested (as get prints it): %v %v", got, err)
	}
	for _, bad := range []map[string]any{{"type": "adls"}, {"endpointConfiguration": "x"},
		{"endpointConfiguration": map[string]any{}, "bucket": "b"}} {
		if _, err := Body("s3", bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
