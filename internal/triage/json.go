package triage

import (
	"encoding/json"
	"strconv"
	"time"
)

// The JSON form of a rule is the same shape as the YAML file, so what the
// API returns can be sent back, and what the database holds is read by
// ParseRule.

// MarshalJSON writes the patterns as a list of strings.
func (p Patterns) MarshalJSON() ([]byte, error) {
	if p.src == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(p.src)
}

// IsZero lets omitempty-minded encoders skip absent patterns.
func (p Patterns) IsZero() bool { return p.Empty() }

// MarshalJSON writes true for any type, else the list of types.
func (c *ObservableCond) MarshalJSON() ([]byte, error) {
	if len(c.Types) == 0 {
		return []byte("true"), nil
	}
	return json.Marshal(c.Types)
}

// MarshalJSON writes the window as a duration string.
func (c *CountCond) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AtLeast int64  `json:"at_least"`
		Within  string `json:"within"`
		Of      string `json:"of"`
	}{c.AtLeast, formatDuration(c.Within), c.Of})
}

// formatDuration writes whole days as "7d" and anything else as Go does.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// MarshalJSON writes the action as a one-key object, as in the file.
func (a Action) MarshalJSON() ([]byte, error) {
	var v any
	switch a.Kind {
	case ActSetSeverity:
		v = a.Severity
	case ActAssign:
		v = a.User
	case ActSuppress:
		s := map[string]any{"reason": a.Reason}
		if a.For > 0 {
			s["for"] = formatDuration(a.For)
		}
		if a.Until != nil {
			s["until"] = a.Until.UTC().Format(time.RFC3339Nano)
		}
		v = s
	case ActPromote:
		p := map[string]any{}
		if a.Category != "" {
			p["category"] = a.Category
		}
		if a.Severity != "" {
			p["severity"] = a.Severity
		}
		v = p
	case ActAttach:
		at := map[string]any{}
		if len(a.By) > 0 {
			at["by"] = a.By
		}
		if len(a.ObservableTypes) > 0 {
			at["observable_types"] = a.ObservableTypes
		}
		v = at
	}
	return json.Marshal(map[string]any{a.Kind: v})
}

// MarshalJSON writes the conditions, leaving out those that are absent.
func (c Conditions) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if len(c.Format) > 0 {
		m["format"] = c.Format
	}
	for k, p := range map[string]Patterns{"rule_id": c.RuleID, "rule_name": c.RuleName, "title": c.Title, "host": c.Host, "user": c.User} {
		if !p.Empty() {
			m[k] = p
		}
	}
	if len(c.Severity) > 0 {
		m["severity"] = c.Severity
	}
	if c.ObservableInIncident != nil {
		m["observable_in_incident"] = c.ObservableInIncident
	}
	if c.ObservableInWatchlist != nil {
		m["observable_in_watchlist"] = c.ObservableInWatchlist
	}
	if c.Count != nil {
		m["count"] = c.Count
	}
	return json.Marshal(m)
}

// Stored is the JSON a rule is kept as: the rule without its source.
func (r *Rule) Stored() ([]byte, error) {
	c := *r
	c.Source = ""
	return json.Marshal(&c)
}
