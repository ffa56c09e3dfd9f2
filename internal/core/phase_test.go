package core_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/irdesk/irdesk/internal/core"
)

// moveTable is the lifecycle written out by hand, one row per "from" phase
// and one column per "to" phase, both in core.Phases order:
//
//	= same phase (refused)   n next   s skip forward   b back
var moveTable = map[core.Phase]string{
	//                    det tri inv con rec rev clo
	core.PhaseDetect:      "=nsssss",
	core.PhaseTriage:      "b=nssss",
	core.PhaseInvestigate: "bb=nsss",
	core.PhaseContain:     "bbb=nss",
	core.PhaseRecover:     "bbbb=ns",
	core.PhaseReview:      "bbbbb=n",
	core.PhaseClosed:      "bbbbbb=",
}

var moveColumns = []core.Phase{
	core.PhaseDetect, core.PhaseTriage, core.PhaseInvestigate, core.PhaseContain,
	core.PhaseRecover, core.PhaseReview, core.PhaseClosed,
}

var moveKinds = map[byte]core.MoveKind{'=': core.MoveNone, 'n': core.MoveNext, 's': core.MoveSkip, 'b': core.MoveBack}

var allClosingFacts = core.ClosingFacts{
	RootCause:          "phishing mail opened",
	LessonsLearned:     "report faster",
	PreventionMeasures: "mail filtering",
}

// wantFieldError fails unless err is a *core.FieldError for field that is
// also a core.ErrInvalid.
func wantFieldError(tb testing.TB, err error, field string) {
	tb.Helper()
	var fe *core.FieldError
	if !errors.As(err, &fe) {
		tb.Fatalf("error = %v (%T), want a *core.FieldError for %q", err, err, field)
	}
	if fe.Field != field {
		tb.Fatalf("FieldError.Field = %q, want %q (error %v)", fe.Field, field, err)
	}
	if !errors.Is(err, core.ErrInvalid) {
		tb.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
	}
	if fe.Message == "" {
		tb.Fatalf("FieldError for %q has no message", field)
	}
}

func wantConflict(tb testing.TB, err error) {
	tb.Helper()
	if !errors.Is(err, core.ErrConflict) {
		tb.Fatalf("error = %v, want core.ErrConflict", err)
	}
	if errors.Is(err, core.ErrInvalid) {
		tb.Fatalf("error %v is both a conflict and invalid", err)
	}
	var ce *core.ConflictError
	if !errors.As(err, &ce) || ce.Message == "" {
		tb.Fatalf("error = %v (%T), want a *core.ConflictError with a message", err, err)
	}
}

func TestMoveTableCoversPhases(t *testing.T) {
	// The table above must be about the phases the code knows, in order,
	// or every test below checks the wrong thing.
	if fmt.Sprint(moveColumns) != fmt.Sprint(core.Phases) {
		t.Fatalf("core.Phases = %v, the test table has %v: update the table", core.Phases, moveColumns)
	}
	if len(moveTable) != len(core.Phases) {
		t.Fatalf("table has %d rows, want %d", len(moveTable), len(core.Phases))
	}
	for _, p := range core.Phases {
		if !p.Valid() {
			t.Errorf("%q.Valid() = false", p)
		}
		if len(moveTable[p]) != len(moveColumns) {
			t.Errorf("row %s has %d columns, want %d", p, len(moveTable[p]), len(moveColumns))
		}
	}
}

func TestClassifyMoveAllPairs(t *testing.T) {
	for _, from := range moveColumns {
		for j, to := range moveColumns {
			want := moveKinds[moveTable[from][j]]
			if got := core.ClassifyMove(from, to); got != want {
				t.Errorf("ClassifyMove(%s, %s) = %d, want %d", from, to, got, want)
			}
		}
	}
}

func TestClassifyMoveUnknown(t *testing.T) {
	tests := []struct{ from, to core.Phase }{
		{"", core.PhaseTriage},
		{core.PhaseTriage, ""},
		{"bogus", core.PhaseTriage},
		{core.PhaseTriage, "bogus"},
		{"Detect", core.PhaseTriage},
		{"bogus", "bogus"},
	}
	for _, tt := range tests {
		if got := core.ClassifyMove(tt.from, tt.to); got != core.MoveUnknown {
			t.Errorf("ClassifyMove(%q, %q) = %d, want MoveUnknown", tt.from, tt.to, got)
		}
	}
}

// TestCheckPhaseMoveAllPairs runs every (from, to) pair with and without a
// reason. The closing facts are all present here; the closing rules have
// their own test.
func TestCheckPhaseMoveAllPairs(t *testing.T) {
	reasons := []struct {
		name   string
		reason string
		given  bool
	}{
		{"no reason", "", false},
		{"blank reason", " \t\n　", false}, // includes an ideographic space
		{"reason", "re-infected from a backup", true},
	}
	for _, from := range moveColumns {
		for j, to := range moveColumns {
			kind := moveTable[from][j]
			for _, r := range reasons {
				t.Run(fmt.Sprintf("%s_to_%s/%s", from, to, r.name), func(t *testing.T) {
					err := core.CheckPhaseMove(from, to, r.reason, allClosingFacts)
					switch {
					case kind == '=':
						wantConflict(t, err)
					case kind == 'n':
						if err != nil {
							t.Fatalf("next phase refused: %v", err)
						}
					case r.given:
						if err != nil {
							t.Fatalf("move with a reason refused: %v", err)
						}
					default:
						wantFieldError(t, err, "reason")
					}
				})
			}
		}
	}
}

func TestCheckPhaseMoveUnknownPhase(t *testing.T) {
	tests := []struct{ from, to core.Phase }{
		{core.PhaseDetect, ""},
		{core.PhaseDetect, "bogus"},
		{core.PhaseDetect, "Triage"},
		{core.PhaseDetect, " triage"},
		{"", core.PhaseTriage},
		{"bogus", core.PhaseTriage},
		{"bogus", core.PhaseClosed},
		{"bogus", "bogus"},
	}
	for _, tt := range tests {
		for _, reason := range []string{"", "a reason"} {
			err := core.CheckPhaseMove(tt.from, tt.to, reason, allClosingFacts)
			wantFieldError(t, err, "to")
		}
	}
}

func TestCheckPhaseMoveClosing(t *testing.T) {
	tests := []struct {
		name    string
		closing core.ClosingFacts
		want    string // field at fault, "" for allowed
	}{
		{"all present", allClosingFacts, ""},
		{"no root cause", core.ClosingFacts{LessonsLearned: "l", PreventionMeasures: "p"}, "root_cause"},
		{"blank root cause", core.ClosingFacts{RootCause: "  \n", LessonsLearned: "l", PreventionMeasures: "p"}, "root_cause"},
		{"no lessons", core.ClosingFacts{RootCause: "r", PreventionMeasures: "p"}, "lessons_learned"},
		{"blank lessons", core.ClosingFacts{RootCause: "r", LessonsLearned: "\t", PreventionMeasures: "p"}, "lessons_learned"},
		{"no prevention", core.ClosingFacts{RootCause: "r", LessonsLearned: "l"}, "prevention_measures"},
		{"blank prevention", core.ClosingFacts{RootCause: "r", LessonsLearned: "l", PreventionMeasures: " "}, "prevention_measures"},
		{"nothing", core.ClosingFacts{}, "root_cause"},
		{"only root cause", core.ClosingFacts{RootCause: "r"}, "lessons_learned"},
	}
	// Every phase that can move to closed, with the reason its move needs.
	froms := []struct {
		from   core.Phase
		reason string
	}{
		{core.PhaseReview, ""}, // next: no reason needed
		{core.PhaseReview, "documented"},
		{core.PhaseDetect, "false positive"}, // skips
		{core.PhaseTriage, "false positive"},
		{core.PhaseInvestigate, "x"},
		{core.PhaseContain, "x"},
		{core.PhaseRecover, "x"},
	}
	for _, tt := range tests {
		for _, f := range froms {
			t.Run(fmt.Sprintf("%s/from_%s_%q", tt.name, f.from, f.reason), func(t *testing.T) {
				err := core.CheckPhaseMove(f.from, core.PhaseClosed, f.reason, tt.closing)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("close refused: %v", err)
					}
					return
				}
				wantFieldError(t, err, tt.want)
			})
		}
	}
}

func TestCheckPhaseMoveClosingOnlyForClosed(t *testing.T) {
	// The closing facts matter only when the move goes to closed.
	for _, from := range moveColumns {
		for j, to := range moveColumns {
			if to == core.PhaseClosed || moveTable[from][j] == '=' {
				continue
			}
			if err := core.CheckPhaseMove(from, to, "because", core.ClosingFacts{}); err != nil {
				t.Errorf("CheckPhaseMove(%s, %s) without closing facts: %v", from, to, err)
			}
		}
	}
}

func TestCheckPhaseMoveOrderOfChecks(t *testing.T) {
	tests := []struct {
		name     string
		from, to core.Phase
		reason   string
		closing  core.ClosingFacts
		field    string // "" means a conflict
	}{
		// A skip to closed with nothing: the missing reason is named first.
		{"skip to closed without reason or facts", core.PhaseDetect, core.PhaseClosed, "", core.ClosingFacts{}, "reason"},
		// Already closed: a conflict, whatever the facts.
		{"closed to closed", core.PhaseClosed, core.PhaseClosed, "", core.ClosingFacts{}, ""},
		// Reopening needs a reason but no closing facts.
		{"reopen without reason", core.PhaseClosed, core.PhaseInvestigate, "", core.ClosingFacts{}, "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := core.CheckPhaseMove(tt.from, tt.to, tt.reason, tt.closing)
			if tt.field == "" {
				wantConflict(t, err)
				return
			}
			wantFieldError(t, err, tt.field)
		})
	}
}
