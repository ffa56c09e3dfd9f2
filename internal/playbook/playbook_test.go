package playbook

import (
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/irdesk/irdesk/internal/core"
)

func TestBuiltinLoads(t *testing.T) {
	s := Builtin()
	if err := s.Complete(); err != nil {
		t.Fatal(err)
	}
	if want := len(core.Categories) + len(core.InfoTypes); s.Len() != want {
		t.Errorf("built-in set has %d playbooks, want %d", s.Len(), want)
	}
}

func TestBuiltinEveryCategoryAndLeakType(t *testing.T) {
	s := Builtin()
	for _, c := range core.Categories {
		p, ok := s.For(c, "")
		if !ok {
			t.Errorf("no playbook for %s", c)
			continue
		}
		if p.Category != c || p.InfoType != "" {
			t.Errorf("For(%s) = %s (%s/%s)", c, p.ID, p.Category, p.InfoType)
		}
	}
	for _, it := range core.InfoTypes {
		p, ok := s.For(core.CatDataLeak, it)
		if !ok || p.InfoType != it || p.Category != core.CatDataLeak {
			t.Errorf("For(data_leak, %s) = %v, %v", it, p, ok)
		}
	}
}

func TestBuiltinPlaybookShape(t *testing.T) {
	for _, p := range Builtin().All() {
		t.Run(p.ID, func(t *testing.T) {
			if missing := p.MissingPhases(); len(missing) > 0 {
				t.Errorf("no tasks in phases %v", missing)
			}
			if want := p.ID + ".yaml"; path.Base(p.Source) != want {
				t.Errorf("file %s holds playbook %q; name it %s", p.Source, p.ID, want)
			}
			if n := len(p.Tasks); n < 8 || n > 20 {
				t.Errorf("%d tasks; a playbook should have 8–20", n)
			}
			for _, ph := range WorkPhases {
				// Stopping the harm, finding its extent and removing the cause
				// are never optional.
				urgent := ph == core.PhaseTriage || ph == core.PhaseInvestigate || ph == core.PhaseContain
				if urgent && !slices.ContainsFunc(p.TasksIn(ph), func(t Task) bool { return t.Blocking }) {
					t.Errorf("phase %s has no blocking task", ph)
				}
			}
			// Tasks are listed in flow order, so the list reads as a procedure.
			last := -1
			for _, task := range p.Tasks {
				i := slices.Index(WorkPhases, task.Phase)
				if i < last {
					t.Errorf("task %s (%s) comes after a later phase", task.ID, task.Phase)
				}
				last = i
				if len([]rune(task.Guidance.Ja)) < 30 || len(task.Guidance.En) < 40 {
					t.Errorf("task %s: guidance too short to be useful", task.ID)
				}
			}
		})
	}
}

// guidance returns every task's title and guidance, both languages, lower-cased.
func guidance(p *Playbook) string {
	var b strings.Builder
	for _, t := range p.Tasks {
		for _, s := range []string{t.Title.Ja, t.Title.En, t.Guidance.Ja, t.Guidance.En} {
			b.WriteString(strings.ToLower(s))
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestBuiltinKeySteps(t *testing.T) {
	cases := []struct {
		cat  core.Category
		info core.InfoType
		want [][]string // each row: at least one of these must appear
	}{
		{core.CatRansomware, "", [][]string{
			{"電源"}, {"power off"}, // isolate but keep memory
			{"バックアップ"}, {"backup"}, // verify backups before restoring
			{"身代金"}, {"ransom payment", "pays a ransom"},
			{"個人情報保護委員会"}, {"ppc"},
			{"警察"}, {"police"},
			{"二重恐喝"}, {"double extortion"},
			{"メモリ"}, {"memory"},
			{"パスワード"}, {"password"},
		}},
		{core.CatMisdelivery, "", [][]string{
			{"削除"}, {"delete"}, {"人数"}, {"how many"}, {"bcc"}, {"保留"}, {"delayed sending"},
			{"個人情報保護委員会"}, {"本人"},
		}},
		{core.CatLostDevice, "", [][]string{
			{"遠隔ロック"}, {"remote"}, {"暗号化"}, {"encrypt"}, {"遺失届"}, {"lost-property"},
		}},
		{core.CatDataLeak, core.InfoPersonal, [][]string{
			{"項目"}, {"人数"}, {"速報"}, {"確報"}, {"本人へ通知"}, {"問い合わせ窓口"}, {"faq"}, {"1,000"}, {"30日"},
		}},
		{core.CatDataLeak, core.InfoPublicInterest, [][]string{
			{"公表"}, {"publish"}, {"広報"}, {"consistent"},
		}},
	}
	s := Builtin()
	for _, c := range cases {
		p, ok := s.For(c.cat, c.info)
		if !ok {
			t.Fatalf("no playbook for %s/%s", c.cat, c.info)
		}
		text := guidance(p)
		for _, alts := range c.want {
			if !slices.ContainsFunc(alts, func(w string) bool { return strings.Contains(text, w) }) {
				t.Errorf("%s: no task mentions any of %q", p.ID, alts)
			}
		}
	}
}

func TestRansomwareKeepsPowerOnAndNoPaymentWithoutManagement(t *testing.T) {
	p, _ := Builtin().For(core.CatRansomware, "")
	var isolate, ransom *Task
	for i := range p.Tasks {
		switch {
		case strings.Contains(p.Tasks[i].Guidance.Ja, "電源は切らず"):
			isolate = &p.Tasks[i]
		case strings.Contains(p.Tasks[i].Guidance.Ja, "身代金"):
			ransom = &p.Tasks[i]
		}
	}
	if isolate == nil || isolate.Phase != core.PhaseTriage || !isolate.Blocking {
		t.Errorf("ransomware needs a blocking triage task that isolates without powering off: %+v", isolate)
	}
	if ransom == nil || ransom.Role != RoleManagement || !ransom.Blocking {
		t.Errorf("the ransom rule must be a blocking management task: %+v", ransom)
	}
}

const validYAML = `id: custom
category: malware
title: {ja: カスタム, en: Custom}
summary: {ja: 概要, en: Summary}
tasks:
  - id: one
    phase: detect
    role: technical
    title: {ja: 一, en: One}
    guidance: {ja: 手順, en: Steps}
`

func TestLoadValid(t *testing.T) {
	s, err := Load(fstest.MapFS{"custom.yaml": {Data: []byte(validYAML)}, "README.md": {Data: []byte("ignored")}})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := s.Get("custom")
	if !ok || p.Category != core.CatMalware || len(p.Tasks) != 1 || p.Tasks[0].Title.In("en") != "One" || p.Tasks[0].Title.In("ja") != "一" {
		t.Fatalf("got %+v", p)
	}
	empty, err := Load(fstest.MapFS{})
	if err != nil || empty.Len() != 0 {
		t.Fatalf("empty fs: %v, %d", err, empty.Len())
	}
}

func TestLoadErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"ransomware.yaml": {Data: []byte(`id: ransomware
category: ransomware
title: {ja: ランサムウェア, en: Ransomware}
summary: {ja: 概要}
colour: red
tasks:
  - id: a
    phase: lunch
    role: technical
    title: {ja: 一, en: One}
    guidance: {ja: 手順, en: Steps}
  - id: a
    phase: closed
    role: janitor
    title: {ja: 二, en: ""}
    guidance: {ja: 手順, en: Steps}
    due_after: soon
    blocking: maybe
  - id: c
    phase: triage
    role: legal
    title: {ja: 三, en: Three}
    due_after: -1h
    extra: 1
`)},
		"leak.yaml": {Data: []byte(`id: Bad Id
category: misdelivery
info_type: personal
title: {ja: x, en: x}
summary: {ja: x, en: x}
tasks: []
`)},
		"dup.yaml": {Data: []byte(`id: ransomware
category: ransomware
info_type: secret
title: {ja: x, en: x}
summary: {ja: x, en: x}
tasks: {}
`)},
		"broken.yaml": {Data: []byte("id: x\ntitle: [unclosed\n")},
		"nocat.yaml":  {Data: []byte("id: nocat\ncategory: lunch\n")},
		"empty.yaml":  {Data: nil},
		"list.yaml":   {Data: []byte("- a\n- b\n")},
		"two.yaml":    {Data: []byte(validYAML + "---\nid: two\n")},
	}
	_, err := Load(fsys)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`ransomware.yaml:4: summary.en: missing`,
		`ransomware.yaml:5: colour: unknown field`,
		`ransomware.yaml:8: tasks[0].phase: unknown phase "lunch"`,
		`ransomware.yaml:12: tasks[1].id: duplicate task id "a", also on line 7`,
		`ransomware.yaml:13: tasks[1].phase: phase "closed" is the end state`,
		`ransomware.yaml:14: tasks[1].role: unknown role "janitor"`,
		`ransomware.yaml:15: tasks[1].title.en: must not be empty`,
		`ransomware.yaml:17: tasks[1].due_after: invalid duration "soon"`,
		`ransomware.yaml:18: tasks[1].blocking: must be true or false`,
		`ransomware.yaml:19: tasks[2].guidance: missing`,
		`ransomware.yaml:23: tasks[2].due_after: duration "-1h" must be positive`,
		`ransomware.yaml:24: tasks[2].extra: unknown field`,
		`leak.yaml:1: id: invalid id "Bad Id"`,
		`leak.yaml:3: info_type: info_type applies only to category "data_leak"`,
		`leak.yaml:6: tasks: a playbook needs at least one task`,
		`dup.yaml:3: info_type: unknown info_type "secret"`,
		`dup.yaml:6: tasks: must be a list of tasks`,
		`broken.yaml:1: invalid YAML:`,
		`nocat.yaml:2: category: unknown category "lunch"`,
		`nocat.yaml:1: title: missing`,
		`nocat.yaml:1: tasks: missing`,
		`empty.yaml: empty document`,
		`list.yaml:1: must be a mapping of fields`,
		`two.yaml:11: more than one YAML document`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing error %q", w)
		}
	}
	// dup.yaml and ransomware.yaml share an id; Load goes in name order.
	if !strings.Contains(msg, `ransomware.yaml:1: id: duplicate playbook id "ransomware", also in dup.yaml:1`) {
		t.Errorf("duplicate id across files not reported")
	}
	if t.Failed() {
		t.Logf("all errors:\n%s", msg)
	}

	if !errors.Is(err, core.ErrInvalid) {
		t.Error("errors.Is(err, core.ErrInvalid) is false")
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.File == "" {
		t.Errorf("errors.As *Error: %v", pe)
	}
	// Every error is reported, not just the first, and each one names its file.
	for _, line := range strings.Split(msg, "\n") {
		if !strings.Contains(line, ".yaml") {
			t.Errorf("error without a file: %q", line)
		}
	}
}

func TestLoadDuplicateSelector(t *testing.T) {
	other := strings.Replace(validYAML, "id: custom", "id: custom2", 1)
	_, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(validYAML)}, "b.yaml": {Data: []byte(other)}})
	if err == nil || !strings.Contains(err.Error(), `b.yaml:2: category: category "malware" already has a playbook in a.yaml:2`) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 42, Field: "tasks[3].phase", Message: `unknown phase "lunch"`}, `a.yaml:42: tasks[3].phase: unknown phase "lunch"`},
		{Error{File: "a.yaml", Message: "empty file"}, "a.yaml: empty file"},
		{Error{File: "a.yaml", Line: 1, Message: "must be a mapping of fields"}, "a.yaml:1: must be a mapping of fields"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func mustLoad(t *testing.T, files map[string]string) *Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func playbookYAML(id string, cat core.Category, info core.InfoType) string {
	y := strings.Replace(validYAML, "id: custom", "id: "+id, 1)
	y = strings.Replace(y, "category: malware", "category: "+string(cat), 1)
	if info != "" {
		y = strings.Replace(y, "title:", "info_type: "+string(info)+"\ntitle:", 1)
	}
	return y
}

func TestMerge(t *testing.T) {
	base := Builtin()
	custom := mustLoad(t, map[string]string{
		// Same id: replaces the built-in malware playbook.
		"malware.yaml": playbookYAML("malware", core.CatMalware, ""),
		// New id, new selector: added.
		"extra.yaml": playbookYAML("dos-extra", core.CatOther, ""),
		// New id, same selector as a built-in: takes over its incidents.
		"ours.yaml": playbookYAML("our-personal-leak", core.CatDataLeak, core.InfoPersonal),
	})
	// other is taken by dos-extra's selector (category other), so the
	// built-in "other" goes and dos-extra answers for it.
	m := base.Merge(custom)

	if p, _ := m.Get("malware"); len(p.Tasks) != 1 {
		t.Errorf("malware not overridden: %d tasks", len(p.Tasks))
	}
	if p, ok := m.For(core.CatDataLeak, core.InfoPersonal); !ok || p.ID != "our-personal-leak" {
		t.Errorf("For(data_leak, personal) = %v", p)
	}
	if _, ok := m.Get("data_leak-personal"); ok {
		t.Error("built-in data_leak-personal still present beside its replacement")
	}
	if p, ok := m.For(core.CatOther, ""); !ok || p.ID != "dos-extra" {
		t.Errorf("For(other) = %v", p)
	}
	if p, ok := m.For(core.CatRansomware, ""); !ok || p.ID != "ransomware" {
		t.Errorf("untouched built-in lost: %v", p)
	}
	if got, want := m.Len(), base.Len(); got != want {
		t.Errorf("merged set has %d playbooks, want %d", got, want)
	}
	if err := m.Complete(); err != nil {
		t.Error(err)
	}
	// Neither input changed.
	if p, _ := base.Get("malware"); len(p.Tasks) == 1 {
		t.Error("Merge changed the base set")
	}
	if base.Len() != len(core.Categories)+len(core.InfoTypes) || custom.Len() != 3 {
		t.Error("Merge changed a set's size")
	}

	// A brand-new playbook with an id and selector nobody has is simply added.
	added := base.Merge(mustLoad(t, map[string]string{"n.yaml": playbookYAML("leak-new", core.CatMalware, "")}))
	if _, ok := added.Get("leak-new"); !ok {
		t.Error("new playbook not added")
	}
	if got := base.Merge(nil).Len(); got != base.Len() {
		t.Errorf("Merge(nil) has %d playbooks", got)
	}
}

func TestFor(t *testing.T) {
	s := Builtin()
	cases := []struct {
		cat  core.Category
		info core.InfoType
		want string
		ok   bool
	}{
		{core.CatDataLeak, "", "data_leak", true},
		{core.CatDataLeak, core.InfoPersonal, "data_leak-personal", true},
		{core.CatDataLeak, core.InfoPublicInterest, "data_leak-public_interest", true},
		{core.CatDataLeak, core.InfoGeneral, "data_leak-general", true},
		{core.CatDataLeak, "bogus", "data_leak", true},
		{core.CatRansomware, core.InfoPersonal, "ransomware", true}, // info type only matters for leaks
		{core.CatMisdelivery, "", "misdelivery", true},
		{"lunch", "", "", false},
	}
	for _, c := range cases {
		p, ok := s.For(c.cat, c.info)
		if ok != c.ok || (ok && p.ID != c.want) {
			t.Errorf("For(%q, %q) = %v, %v; want %s, %v", c.cat, c.info, p, ok, c.want, c.ok)
		}
	}
	// A set without leak-type playbooks falls back to the generic one.
	g := mustLoad(t, map[string]string{"g.yaml": playbookYAML("g", core.CatDataLeak, "")})
	if p, ok := g.For(core.CatDataLeak, core.InfoPersonal); !ok || p.ID != "g" {
		t.Errorf("fallback: %v, %v", p, ok)
	}
	var nilSet *Set
	if _, ok := nilSet.For(core.CatMalware, ""); ok {
		t.Error("nil set found a playbook")
	}
}

func TestAllOrder(t *testing.T) {
	all := Builtin().All()
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	want := []string{"malware", "ransomware", "unauthorized_access",
		"data_leak", "data_leak-general", "data_leak-personal", "data_leak-public_interest",
		"dos", "web_defacement", "targeted_attack", "phishing", "insider", "lost_device",
		"misdelivery", "misconfiguration", "supply_chain", "vulnerability", "policy_violation", "other"}
	if !slices.Equal(ids, want) {
		t.Errorf("All order:\n got %v\nwant %v", ids, want)
	}
}

func TestTextIn(t *testing.T) {
	x := Text{Ja: "日本語", En: "English"}
	if x.In("en") != "English" || x.In("ja") != "日本語" || x.In("") != "日本語" {
		t.Error("Text.In")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(validYAML))
	f.Add([]byte("id: x\ntasks:\n  - *a\n"))
	f.Add([]byte("a: &a {b: *a}\n"))
	f.Add([]byte("tasks: [{id: a, phase: detect, blocking: yes, due_after: 1h}]\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("title: !!binary aGVsbG8=\n"))
	f.Add([]byte("x: &x [*x]\n"))
	f.Add([]byte("tasks: &t [*t]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load(fstest.MapFS{"f.yaml": {Data: data}})
		if err == nil {
			if s.Len() != 1 {
				t.Fatalf("valid file gave %d playbooks", s.Len())
			}
			return
		}
		if s != nil {
			t.Fatal("error with a set")
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "f.yaml") {
				t.Fatalf("error line without the file name: %q", line)
			}
		}
	})
}
