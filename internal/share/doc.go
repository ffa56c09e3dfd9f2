// Package share turns incidents into what other teams read — STIX 2.1
// bundles, MISP events, CSV and NDJSON — and reads what they share back
// (STIX bundles, MISP events) into watchlist entries. It is pure: the
// caller loads the incident and stores the entries.
package share
