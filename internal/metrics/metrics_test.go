package metrics

import (
	"strings"
	"testing"
)

func TestTextFormat(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("http_requests_total", "Requests.", "route", "code")
	h := r.NewHistogramVec("http_request_duration_seconds", "Durations.", []float64{0.1, 1}, "route")
	c.Inc("GET /x", "200")
	c.Inc("GET /x", "200")
	c.Inc(`a"b`, "500")
	h.Observe(0.05, "GET /x")
	h.Observe(0.5, "GET /x")
	h.Observe(5, "GET /x")
	var b strings.Builder
	r.WriteText(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter",
		`http_requests_total{route="GET /x",code="200"} 2`,
		`http_requests_total{route="a\"b",code="500"} 1`,
		`http_request_duration_seconds_bucket{route="GET /x",le="0.1"} 1`,
		`http_request_duration_seconds_bucket{route="GET /x",le="1"} 2`,
		`http_request_duration_seconds_bucket{route="GET /x",le="+Inf"} 3`,
		`http_request_duration_seconds_count{route="GET /x"} 3`,
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
