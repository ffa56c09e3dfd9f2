package ingest

import "encoding/json"

// itemFunc turns one decoded item into an alert, or returns nil, nil to
// skip an item that is valid but not an alert (a Suricata flow record).
type itemFunc func(i int, m map[string]any, raw json.RawMessage) (*Alert, error)

// parseJSONItems runs fn over every item of a JSON body.
func parseJSONItems(body []byte, fn itemFunc) ([]Alert, error) {
	items, err := splitJSON(body)
	if err != nil {
		return nil, err
	}
	alerts := make([]Alert, 0, len(items))
	for i, raw := range items {
		m, err := decodeObject(i, raw)
		if err != nil {
			return nil, err
		}
		a, err := fn(i, m, verbatim(raw))
		if err != nil {
			return nil, err
		}
		if a != nil {
			alerts = append(alerts, *a)
		}
	}
	return alerts, nil
}
