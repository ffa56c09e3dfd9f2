package share

import (
	"slices"
	"strings"

	"github.com/irdesk/irdesk/internal/core"
)

// tlpMarkingIDs are the marking-definition identifiers of the OASIS TLP
// 2.0 extension: every STIX consumer knows them, so they mean the same
// thing everywhere.
var tlpMarkingIDs = map[string]string{
	"clear":        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	"green":        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	"amber":        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	"amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	"red":          "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

// tlp1MarkingIDs are the TLP 1.0 marking definitions STIX 2.1 itself
// defines; partners still send them, so import reads them too.
var tlp1MarkingIDs = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear", // TLP:WHITE
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}

// tlpExtensionID is the OASIS TLP 2.0 extension definition.
const tlpExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlpCreated is when OASIS published the TLP 2.0 marking definitions.
const tlpCreated = "2022-10-01T00:00:00.000Z"

// knownTLP returns the TLP level of a well-known marking id.
func knownTLP(id string) (string, bool) {
	for level, mid := range tlpMarkingIDs {
		if mid == id {
			return level, true
		}
	}
	level, ok := tlp1MarkingIDs[id]
	return level, ok
}

// tlpRank orders TLP levels from least to most restrictive; -1 for none.
func tlpRank(level string) int { return slices.Index(core.TLPs, level) }

// Stricter returns the more restrictive of two TLP levels ("" counts as
// no marking).
func Stricter(a, b string) string {
	if tlpRank(b) > tlpRank(a) {
		return b
	}
	return a
}

// ParseTLP reads a TLP level as people write it ("amber", "TLP:AMBER",
// "white" for TLP 1.0's clear) and returns its TLP 2.0 name, or "" and
// false if it is none.
func ParseTLP(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "tlp:")
	if s == "white" {
		s = "clear"
	}
	if slices.Contains(core.TLPs, s) {
		return s, true
	}
	return "", false
}

// PAPs are the Permissible Actions Protocol levels.
var PAPs = []string{"clear", "green", "amber", "red"}

// ParsePAP reads a PAP level ("green", "PAP:GREEN").
func ParsePAP(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "pap:")
	if s == "white" {
		s = "clear"
	}
	if slices.Contains(PAPs, s) {
		return s, true
	}
	return "", false
}
