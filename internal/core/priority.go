package core

// Priority is P1 (handle first) to P4.
type Priority string

const (
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
	P4 Priority = "P4"
)

// Impact and urgency both run 1 (highest) to 4 (lowest).
//
//	impact 1: business-wide or many people/systems affected, or regulated data exposed
//	impact 2: a department, an important system or a group of customers
//	impact 3: a few users or a non-critical system
//	impact 4: one user, no business effect
//	urgency 1: damage is spreading or happening now (active encryption, data leaving)
//	urgency 2: damage likely within hours unless acted on
//	urgency 3: can wait until the next working day
//	urgency 4: no time pressure
//
// The matrix weighs the two evenly but lets a top score in either pull the
// priority up one step, so a widespread but slow incident is not left at P3:
//
//	             urgency 1  2  3  4
//	impact 1           P1 P1 P2 P3
//	impact 2           P1 P2 P2 P3
//	impact 3           P2 P2 P3 P4
//	impact 4           P3 P3 P4 P4
var priorityMatrix = [4][4]Priority{
	{P1, P1, P2, P3},
	{P1, P2, P2, P3},
	{P2, P2, P3, P4},
	{P3, P3, P4, P4},
}

// PriorityFor returns the priority for an impact and an urgency, each 1–4.
func PriorityFor(impact, urgency int) (Priority, error) {
	if impact < 1 || impact > 4 {
		return "", Invalid("impact", "must be 1 to 4, got %d", impact)
	}
	if urgency < 1 || urgency > 4 {
		return "", Invalid("urgency", "must be 1 to 4, got %d", urgency)
	}
	return priorityMatrix[impact-1][urgency-1], nil
}
