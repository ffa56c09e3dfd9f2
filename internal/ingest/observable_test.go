package ingest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/ingest"
)

func TestNormalizeObservable(t *testing.T) {
	tests := []struct {
		typ, in, want string // want "" means invalid
	}{
		// ip
		{"ip", "203.0.113.45", "203.0.113.45"},
		{"ip", " 203.0.113.45 ", "203.0.113.45"},
		{"ip", "203.0.113[.]45", "203.0.113.45"},
		{"ip", "203[.]0[.]113[.]45", "203.0.113.45"},
		{"ip", "203(.)0{.}113[dot]45", "203.0.113.45"},
		{"ip", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{"ip", "2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"},
		{"ip", "[2001:db8::1]", "2001:db8::1"},
		{"ip", "2001[:]db8[:][:]1", "2001:db8::1"},
		{"ip", "::ffff:192.0.2.1", "192.0.2.1"},
		{"ip", "fe80::1%eth0", "fe80::1"},
		{"ip", "256.1.1.1", ""},
		{"ip", "010.1.1.1", ""},
		{"ip", "1.2.3", ""},
		{"ip", "example.com", ""},
		{"ip", "", ""},
		// domain
		{"domain", "Evil.Example.COM", "evil.example.com"},
		{"domain", "evil[.]example[.]com", "evil.example.com"},
		{"domain", "evil(.)example{.}com", "evil.example.com"},
		{"domain", "evil[DOT]example[dot]com", "evil.example.com"},
		{"domain", "example.com.", "example.com"},
		{"domain", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"domain", "例え.テスト", "例え.テスト"},
		{"domain", "_dmarc.example.com", "_dmarc.example.com"},
		{"domain", "localhost", ""},
		{"domain", "1.2.3.4", ""},
		{"domain", "-bad.example", ""},
		{"domain", "bad-.example", ""},
		{"domain", "a..example", ""},
		{"domain", "with space.example", ""},
		{"domain", "*.example.com", ""},
		{"domain", strings.Repeat("a", 64) + ".example", ""},
		// url
		{"url", "hxxp://evil[.]example/a.php?x=1", "http://evil.example/a.php?x=1"},
		{"url", "hxxps://Evil[.]Example[:]443/Path", "https://evil.example/Path"},
		{"url", "HXXPS[://]evil[.]example/x", "https://evil.example/x"},
		{"url", "http://EVIL.example:8080/", "http://evil.example:8080/"},
		{"url", "http://evil.example:80/a", "http://evil.example/a"},
		{"url", "https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x"},
		{"url", "http://198.51.100.7/gate", "http://198.51.100.7/gate"},
		{"url", "evil[.]example/path", "http://evil.example/path"},
		{"url", "ftp://files.example/pub", "ftp://files.example/pub"},
		{"url", "fxp://files.example/pub", "ftp://files.example/pub"},
		{"url", "http://intranet/wiki", "http://intranet/wiki"},
		{"url", "http://evil.example/a b", ""},
		{"url", "http:///nohost", ""},
		{"url", "mailto:a@example.com", ""},
		{"url", "http://bad host.example/", ""},
		{"url", "http://evil.example:99999/", ""},
		{"url", "/just/a/path", ""},
		// hash
		{"hash", "44D88612FEA8A8F36DE82E1278ABB02F", "44d88612fea8a8f36de82e1278abb02f"},
		{"hash", "3395856ce81f2b7382dee72602f798b642f14140", "3395856ce81f2b7382dee72602f798b642f14140"},
		{"hash", "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"},
		{"hash", "0000000000000000000000000000000000000000", ""},
		{"hash", "44d88612fea8a8f36de82e1278abb02", ""},
		{"hash", "zz488612fea8a8f36de82e1278abb02f", ""},
		{"hash", "44d88612-fea8-a8f3-6de8-2e1278abb02f", ""},
		// email
		{"email", "Alice.Smith@Corp.Example", "alice.smith@corp.example"},
		{"email", "alice[@]corp[.]example", "alice@corp.example"},
		{"email", "alice[at]corp[dot]example", "alice@corp.example"},
		{"email", "alice(at)corp(dot)example", "alice@corp.example"},
		{"email", "mailto:bob@example.org", "bob@example.org"},
		{"email", "alice@localhost", ""},
		{"email", "@corp.example", ""},
		{"email", "alice", ""},
		{"email", "a@b@corp.example", ""},
		{"email", "Alice <alice@corp.example>", ""},
		// user
		{"user", " jdoe ", "jdoe"},
		{"user", `CORP\JDoe`, `CORP\JDoe`},
		{"user", "-", ""},
		{"user", "N/A", ""},
		{"user", "a\x00b", ""},
		{"user", strings.Repeat("u", 257), ""},
		// host
		{"host", "WS-0142", "ws-0142"},
		{"host", "db-02.corp.example.", "db-02.corp.example"},
		{"host", "10.0.0.1", "10.0.0.1"},
		{"host", "2001:DB8::5", "2001:db8::5"},
		{"host", "bad host", ""},
		{"host", "null", ""},
		// filename
		{"filename", "Invoice.PDF.exe", "Invoice.PDF.exe"},
		{"filename", `C:\Users\a\mimi.exe`, `C:\Users\a\mimi.exe`},
		{"filename", "line\nbreak", ""},
		// registry_key
		{"registry_key", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, `HKEY_LOCAL_MACHINE\Software\Microsoft\Windows\CurrentVersion\Run`},
		{"registry_key", `hkcu\Software\x\`, `HKEY_CURRENT_USER\Software\x`},
		{"registry_key", `HKEY_USERS\S-1-5-21-1\Software`, `HKEY_USERS\S-1-5-21-1\Software`},
		{"registry_key", `\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\evil`, `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\evil`},
		{"registry_key", `HKLM`, `HKEY_LOCAL_MACHINE`},
		{"registry_key", `HKLM\Software\  \`, `HKEY_LOCAL_MACHINE\Software`},
		{"registry_key", `HKLMX\Software`, ""},
		{"registry_key", `Software\Microsoft`, ""},
		// type
		{"IP", "192.0.2.1", "192.0.2.1"},
		{"mutex", "Global\\x", ""},
	}
	for _, tt := range tests {
		got, err := ingest.NormalizeObservable(tt.typ, tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizeObservable(%q, %q) = %q, want an error", tt.typ, tt.in, got)
			} else if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("NormalizeObservable(%q, %q) error %v does not wrap ErrInvalid", tt.typ, tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeObservable(%q, %q) = %q, %v; want %q", tt.typ, tt.in, got, err, tt.want)
			continue
		}
		// Normal forms are fixed points.
		if again, err := ingest.NormalizeObservable(tt.typ, got); err != nil || again != got {
			t.Errorf("NormalizeObservable(%q, %q) = %q, %v; not idempotent", tt.typ, got, again, err)
		}
	}
}

func TestHashType(t *testing.T) {
	for in, want := range map[string]string{
		"44d88612fea8a8f36de82e1278abb02f":                                 "md5",
		"3395856CE81F2B7382DEE72602F798B642F14140":                         "sha1",
		"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f": "sha256",
		"abc": "", "": "", "g4d88612fea8a8f36de82e1278abb02f": "",
	} {
		if got := ingest.HashType(in); got != want {
			t.Errorf("HashType(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeObservable(f *testing.F) {
	for _, s := range []string{"hxxp://evil[.]example/a", "2001:db8::1", "[::1]", "a[@]b[.]c", "HKLM\\x", "例え.テスト", "http://[::1]:80/", "0"} {
		for _, typ := range ingest.ObservableTypes {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, value string) {
		got, err := ingest.NormalizeObservable(typ, value)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		again, err := ingest.NormalizeObservable(typ, got)
		if err != nil || again != got {
			t.Fatalf("NormalizeObservable(%q, %q) = %q; again %q, %v", typ, value, got, again, err)
		}
	})
}
