package share

import (
	"testing"
	"time"
)

func FuzzParseSTIX(f *testing.F) {
	inc, obs := fixture()
	b, _ := STIXBundle(inc, obs, ExportOptions{TLP: "amber"})
	data, _ := b.JSON()
	f.Add(data)
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"indicator","pattern":"[ipv4-addr:value = '1.2.3.4'] OR [url:value = 'x']"}]}`))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"observed-data","objects":{"0":{"type":"file","hashes":{"MD5":"x"}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseSTIX(data, ImportOptions{Source: "fuzz", Now: t0, DefaultTTL: time.Hour})
		if err != nil {
			return
		}
		for _, e := range res.Entries {
			if e.Value == "" || e.ExpiresAt == nil || e.Source != "fuzz" {
				t.Fatalf("bad entry %+v", e)
			}
		}
		_ = ValidateBundle(data)
	})
}

func FuzzParseMISP(f *testing.F) {
	inc, obs := fixture()
	d, _ := MISPEventOf(inc, obs, ExportOptions{TLP: "green"})
	data, _ := d.JSON()
	f.Add(data)
	f.Add([]byte(`{"response":[{"Event":{"Object":[{"Attribute":[{"type":"domain|ip","value":"a.example|1.2.3.4","to_ids":"1"}]}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseMISP(data, ImportOptions{Source: "fuzz", Now: t0})
		if err != nil {
			return
		}
		for _, e := range res.Entries {
			if e.Value == "" || e.ExpiresAt == nil {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"[ipv4-addr:value = '1.2.3.4']", "[file:hashes.'SHA-256' = 'ab'] OR [a-b:c[0].d LIKE 'x\\'y']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err == nil && len(p.Observations) == 0 {
			t.Fatal("parsed with no observations")
		}
	})
}
