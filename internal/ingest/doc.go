// Package ingest turns security tools' alert payloads into irdesk's
// normalised Alert, with observables and a fingerprint for grouping
// repeats. It is pure: bytes in, alerts out, no I/O.
//
// # Formats
//
// One file per format, each with a Parse<Format>(body) function; Parse
// dispatches by name. JSON formats accept one object, a JSON array of
// objects, or NDJSON; CEF takes one event per line. Unknown fields are no
// error (the item is kept verbatim in Alert.Raw) and optional fields may be
// missing; only an item that cannot be an alert at all is refused, with a
// *ParseError naming the item and field, and then the whole body is
// refused. A body holds at most MaxItems items.
//
//	wazuh        Wazuh manager alerts (alerts.json)
//	suricata     Suricata EVE JSON; records other than event_type "alert" are skipped
//	elastic      Elastic Security detection alert documents (flat dotted or nested keys)
//	splunk       Splunk webhook alert action payload
//	defender     Microsoft Graph security alert v2 (Defender XDR), or a Graph list of them
//	crowdstrike  Falcon streaming DetectionSummaryEvent; other event types are skipped
//	cef          ArcSight CEF lines, with or without a syslog header
//	syslog       syslog messages, RFC 5424 or RFC 3164 (BSD), one per line; a
//	             message carrying CEF becomes a "cef" alert (see ParseSyslogMessage)
//	native       irdesk's own schema (see ParseNative)
//
// # Severity
//
// Each tool's own severity is kept in NativeSeverity and mapped to S1 (most
// severe) – S4 as below. Where a tool's scale has four levels they map one
// to one; otherwise the tool's own bands decide. An alert whose severity is
// missing or not understood gets S3, the same default as an incident, so it
// is looked at rather than buried.
//
//	format       S1                  S2                S3                S4
//	wazuh        rule.level 12–15    8–11              4–7               0–3
//	suricata     –                   severity 1        2                 3 and up
//	elastic      critical            high              medium            low
//	             (no severity: kibana.alert.risk_score 74–100 / 48–73 / 22–47 / 0–21)
//	splunk       critical, 6 fatal   high, 5 severe    medium, 4 error   low, informational, 1–3
//	             (result.severity, else result.urgency, else result.priority)
//	defender     high                medium            low               informational
//	crowdstrike  5 Critical          4 High            3 Medium          2 Low, 1 Informational
//	             (Severity, else SeverityName)
//	cef          9–10, Very-High     7–8, High         4–6, Medium       0–3, Low
//	syslog       0 emerg, 1 alert    2 crit, 3 err     4 warning         5 notice, 6 info, 7 debug
//	             (the severity of the PRI, PRI mod 8; CEF inside: the cef row)
//	native       S1                  S2                S3                S4
//
// Suricata never gives S1: its priority 1 covers policy-violation as much
// as trojan-activity, and a network signature alone is not a confirmed
// compromise; Wazuh 12+, Falcon Critical and Defender high are the tools
// saying they believe an attack succeeded or is under way. Syslog
// severities are operational (a full disk is "crit"), so only emerg and
// alert, "act now", reach S1; an sshd login failure is info, S4, until a
// triage rule counts enough of them.
//
// # Fingerprint
//
// The fingerprint groups repeats of the same alert (same rule, same asset,
// same counterpart) so they bump a count instead of piling up; times and
// per-event ids are left out on purpose. An exact resend is recognised by
// SourceEventID instead. The fingerprint is the hex SHA-256 of the format
// name and these fields, normalised and compared case-insensitively:
//
//	wazuh        rule.id, agent.name, data.srcip
//	suricata     alert.signature_id, src_ip, dest_ip, dest_port (not the ephemeral src_port)
//	elastic      kibana.alert.rule.uuid (else rule_id), host.name, user.name, source.ip
//	splunk       search_name, host, user, src, dest (not sid: each scheduled run has a new one)
//	defender     detectorId, title, device (first deviceEvidence), user (first userEvidence)
//	crowdstrike  PatternId (else DetectName and Technique), ComputerName, SHA256String
//	cef          Device Vendor, Device Product, Signature ID, host, src, dst, dpt
//	syslog       HOSTNAME, APP-NAME (the BSD tag), MSGID, and the message
//	             template: the text with every word holding a digit (counts,
//	             ports, addresses, pids, ids) replaced by #, first 512 bytes
//	native       the sender's "fingerprint" if given, else rule_id (else rule_name,
//	             else title), host, user, src_ip, dst_ip
//
// When a tool sends none of its key fields, the fingerprint falls back to
// the event id, then to the raw payload, so unrelated alerts never merge.
//
// EventTime is: wazuh timestamp; suricata timestamp; elastic
// kibana.alert.original_time (when the source event happened), else
// @timestamp (when the alert was made); splunk result._time; defender
// firstActivityDateTime, else createdDateTime; crowdstrike
// ProcessStartTime, else metadata.eventCreationTime; cef rt, else end,
// else start (carried by syslog: else the syslog timestamp); syslog the
// TIMESTAMP (a BSD one has no year or zone: see ParseSyslogAt); native
// event_time. Times without a zone are taken as UTC;
// a time that cannot be read leaves EventTime zero (ReceivedAt remains).
//
// SourceEventID is: wazuh id; suricata flow_id:gid:signature_id[:tx_id]
// (EVE has no event id); elastic kibana.alert.uuid; splunk sid; defender
// id; crowdstrike DetectId; cef externalId (else eventId); syslog none
// (a message has no id of its own).
//
// # Observables
//
// Observables come from the normalised fields (Host, User, SrcIP, DstIP,
// Process as a filename, FileHash, URL and its host, Domain, Email, a User
// that is an e-mail address) plus what a format carries besides (Defender
// evidence, other hashes, CEF fname, native "observables", syslog IP
// addresses and http(s) URLs written in the message and RFC 5424 origin
// ip), each checked and normalised by NormalizeObservable, without
// duplicates. A value that does not validate is simply not an observable;
// Raw still has it.
//
// # Syslog
//
// A syslog message has no schema, so its alert is what can be read off
// it: Title is "APP-NAME: message" (a key=value message's msg field if it
// has one), Host the HOSTNAME, RuleName the APP-NAME or BSD tag, RuleID
// the MSGID, NativeSeverity the severity's syslog.conf name. User, SrcIP,
// DstIP, ports, FileHash and URL come from RFC 5424 structured-data
// parameters and then key=value words of the message (src, srcip, rhost,
// IpAddress, dst, dstip, spt, dpt, user, suser, TargetUserName, sha256,
// url, ...: see syslog.go), and for sshd from OpenSSH's "for USER from
// ADDR port N" messages. Raw is the whole message as a JSON string. A CEF
// event carried by syslog is read by the CEF parser and takes the HOSTNAME
// as its host (as dvchost) and the TIMESTAMP as its time where the event
// has none; its Raw too is the whole syslog message.
package ingest
