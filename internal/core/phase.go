package core

import (
	"slices"
	"strings"
)

// Phase is a step of the response flow. The order of Phases is the order
// of the flow; closed is the end state, not a step.
type Phase string

const (
	PhaseDetect      Phase = "detect"      // 検知・報告
	PhaseTriage      Phase = "triage"      // 初動対応
	PhaseInvestigate Phase = "investigate" // 調査
	PhaseContain     Phase = "contain"     // 封じ込め・根絶
	PhaseRecover     Phase = "recover"     // 復旧
	PhaseReview      Phase = "review"      // 事後対応
	PhaseClosed      Phase = "closed"
)

// Phases lists the phases in flow order.
var Phases = []Phase{PhaseDetect, PhaseTriage, PhaseInvestigate, PhaseContain, PhaseRecover, PhaseReview, PhaseClosed}

// Valid reports whether p is a known phase.
func (p Phase) Valid() bool { return slices.Contains(Phases, p) }

func (p Phase) index() int { return slices.Index(Phases, p) }

// MoveKind classifies a phase move; it decides what the move needs.
type MoveKind int

const (
	MoveNext    MoveKind = iota // to the following phase: needs nothing
	MoveSkip                    // forward past one or more phases: needs a reason
	MoveBack                    // to an earlier phase (re-infection, reopening): needs a reason
	MoveNone                    // to the phase it is in: refused
	MoveUnknown                 // from or to an unknown phase: refused
)

// ClassifyMove says what kind of move from → to is.
func ClassifyMove(from, to Phase) MoveKind {
	fi, ti := from.index(), to.index()
	switch {
	case fi < 0 || ti < 0:
		return MoveUnknown
	case ti == fi:
		return MoveNone
	case ti == fi+1:
		return MoveNext
	case ti > fi:
		return MoveSkip
	default:
		return MoveBack
	}
}

// ClosingFacts are what an incident must have before it may be closed: the
// point of the review phase is that the next incident benefits.
type ClosingFacts struct {
	RootCause          string
	LessonsLearned     string
	PreventionMeasures string
}

// CheckPhaseMove applies the lifecycle rules to a requested move. It does
// not check who asks; that is app's job.
func CheckPhaseMove(from, to Phase, reason string, closing ClosingFacts) error {
	if !to.Valid() {
		return Invalid("to", "unknown phase %q", to)
	}
	switch ClassifyMove(from, to) {
	case MoveUnknown:
		return Invalid("to", "cannot move from phase %q", from)
	case MoveNone:
		return Conflict("the incident is already in phase %s", to)
	case MoveSkip:
		if strings.TrimSpace(reason) == "" {
			return Invalid("reason", "skipping from %s to %s needs a reason", from, to)
		}
	case MoveBack:
		if strings.TrimSpace(reason) == "" {
			return Invalid("reason", "going back from %s to %s needs a reason", from, to)
		}
	}
	if to == PhaseClosed {
		if strings.TrimSpace(closing.RootCause) == "" {
			return Invalid("root_cause", "closing needs the root cause")
		}
		if strings.TrimSpace(closing.LessonsLearned) == "" {
			return Invalid("lessons_learned", "closing needs the lessons learned")
		}
		if strings.TrimSpace(closing.PreventionMeasures) == "" {
			return Invalid("prevention_measures", "closing needs the prevention measures")
		}
	}
	return nil
}
