package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/core"
	"github.com/irdesk/irdesk/internal/escalation"
)

// ---- contact tree ----

type contactsView struct {
	base
	Items   []*core.Contact
	Deleted bool
}

func (u *UI) contactsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	cs, err := u.app.ListContacts(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	// On-call people first, in their order; then everyone else by name.
	slices.SortStableFunc(cs, func(a, b *core.Contact) int {
		switch {
		case a.OnCallOrder != nil && b.OnCallOrder != nil:
			return *a.OnCallOrder - *b.OnCallOrder
		case a.OnCallOrder != nil:
			return -1
		case b.OnCallOrder != nil:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	v := contactsView{base: u.base(r, rq, "contacts", rq.tr.T("contacts.title")), Items: cs, Deleted: r.URL.Query().Get("deleted") == "1"}
	return u.render(w, http.StatusOK, "contacts", v)
}

// ContactRole, ContactKind and ContactParty translate the contact tree's
// enumerations (TestEnumKeys checks each value has a label).
func (b base) ContactRole(s string) string  { return b.Tr.T(contactRoleKey(s)) }
func (b base) ContactKind(s string) string  { return b.Tr.T(contactKindKey(s)) }
func (b base) ContactParty(s string) string { return b.Tr.T(contactPartyKey(s)) }

func contactRoleKey(s string) string  { return "contact_role." + s }
func contactKindKey(s string) string  { return "contact_kind." + s }
func contactPartyKey(s string) string { return "contact_party." + s }
func notifyStatusKey(s string) string { return "notify_status." + s }
func ruleSourceKey(s string) string   { return "escalation.source." + s }

// RuleSource translates where an escalation rule came from.
func (b base) RuleSource(s string) string { return b.Tr.T(ruleSourceKey(s)) }

// channelRows is how many channel rows the form offers: the contact's
// own and a few empty ones to add.
const channelRowsExtra = 2

type contactView struct {
	base
	C            *core.Contact
	New          bool
	Order        string
	Channels     []core.Channel
	Kinds        []string
	Parties      []string
	Roles        []string
	ChannelTypes []string
	Error        string
	Saved        bool
}

// HasRole reports whether the contact wears a role (for the checkboxes).
func (v contactView) HasRole(role string) bool { return slices.Contains(v.C.Roles, role) }

func (u *UI) contactView(r *http.Request, rq *request, c *core.Contact) contactView {
	v := contactView{base: u.base(r, rq, "contacts", rq.tr.T("contacts.title")), C: c, New: c.ID == 0,
		Kinds: core.ContactKinds, Parties: core.ContactParties, Roles: core.ContactRoles, ChannelTypes: core.ChannelTypes}
	if c.OnCallOrder != nil {
		v.Order = strconv.Itoa(*c.OnCallOrder)
	}
	v.Channels = append(slices.Clone(c.Channels), make([]core.Channel, channelRowsExtra)...)
	return v
}

// contactParam reads the contact id of /contacts/{id}; /contacts/new
// has none.
func contactParam(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("contact %q: %w", s, core.ErrNotFound)
	}
	return id, nil
}

func (u *UI) contactPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := contactParam(r)
	if err != nil {
		return err
	}
	c := &core.Contact{Active: true, Language: "ja"}
	if id != 0 {
		if c, err = u.app.GetContact(r.Context(), rq.actor, id); err != nil {
			return err
		}
	} else if !rq.actor.User.Role.AtLeastLead() {
		return forbiddenf("only leads and admins may change the contact tree")
	}
	v := u.contactView(r, rq, c)
	v.Saved = r.URL.Query().Get("saved") == "1"
	return u.render(w, http.StatusOK, "contact", v)
}

func (u *UI) contactSubmit(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := contactParam(r)
	if err != nil {
		return err
	}
	pf := r.PostForm
	c := &core.Contact{ID: id, Name: pf.Get("name"), Kind: pf.Get("kind"), Party: pf.Get("party"),
		Organisation: strings.TrimSpace(pf.Get("organisation")), User: strings.TrimSpace(pf.Get("user")),
		Language: pf.Get("language"), Notes: pf.Get("notes"), Active: pf.Get("active") != "", Roles: pf["roles"]}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	if id != 0 {
		if c.Version, err = strconv.ParseInt(pf.Get("version"), 10, 64); err != nil {
			return core.Invalid("version", "missing from the form; reload the page")
		}
	}
	types, addrs, labels := pf["channel_type"], pf["channel_address"], pf["channel_label"]
	for i := range types {
		ch := core.Channel{Type: types[i]}
		if i < len(addrs) {
			ch.Address = strings.TrimSpace(addrs[i])
		}
		if i < len(labels) {
			ch.Label = strings.TrimSpace(labels[i])
		}
		if ch.Address == "" && ch.Label == "" {
			continue // an empty row of the form
		}
		c.Channels = append(c.Channels, ch)
	}
	fail := func(status int, msg string) error {
		v := u.contactView(r, rq, c)
		v.Error = msg
		return u.render(w, status, "contact", v)
	}
	if o := strings.TrimSpace(pf.Get("on_call_order")); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil {
			status, msg, _ := actionFailed(rq, core.Invalid("on_call_order", "must be a whole number"))
			return fail(status, msg)
		}
		c.OnCallOrder = &n
	}
	saved, err := u.app.SaveContact(r.Context(), rq.actor, c)
	if err != nil {
		status, msg, ok := actionFailed(rq, err)
		if !ok {
			return err
		}
		if status == http.StatusConflict {
			msg = rq.tr.T("contacts.conflict")
		}
		return fail(status, msg)
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(saved.ID, 10)+"?saved=1", http.StatusSeeOther)
	return nil
}

func (u *UI) contactDelete(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := contactParam(r)
	if err != nil {
		return err
	}
	if err := u.app.DeleteContact(r.Context(), rq.actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/contacts?deleted=1", http.StatusSeeOther)
	return nil
}

// ---- notification outbox ----

type notificationsView struct {
	base
	Failed  []core.Notification
	Recent  []core.Notification
	NextURL string
	Retried bool
}

func (u *UI) notificationsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	before, err := decodeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	v := notificationsView{base: u.base(r, rq, "notifications", rq.tr.T("notifications.title")), Retried: q.Get("retried") == "1"}
	// Failed deliveries first: they are what someone has to act on.
	if before == 0 {
		if v.Failed, _, err = u.app.Notifications(r.Context(), rq.actor, app.NotificationFilter{Status: core.NotifyFailed, Limit: listLimit}); err != nil {
			return err
		}
	}
	var more bool
	v.Recent, more, err = u.app.Notifications(r.Context(), rq.actor, app.NotificationFilter{Before: before, Limit: listLimit})
	if err != nil {
		return err
	}
	if more && len(v.Recent) > 0 {
		v.NextURL = "/notifications?cursor=" + encodeCursor(cursor{id: v.Recent[len(v.Recent)-1].ID})
	}
	return u.render(w, http.StatusOK, "notifications", v)
}

// NotifyStatus translates an outbox status.
func (b base) NotifyStatus(s string) string { return b.Tr.T(notifyStatusKey(s)) }

func (u *UI) retryNotification(w http.ResponseWriter, r *http.Request, rq *request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return fmt.Errorf("notification %q: %w", r.PathValue("id"), core.ErrNotFound)
	}
	if _, err := u.app.RetryNotification(r.Context(), rq.actor, id); err != nil {
		return err
	}
	http.Redirect(w, r, "/notifications?retried=1", http.StatusSeeOther)
	return nil
}

// ---- escalation rules ----

type escalationView struct {
	base
	Rules []ruleRow
}

type ruleRow struct {
	*escalation.Rule
	When   []string
	Notify []string
}

func (u *UI) escalationPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	rules, err := u.app.EscalationRules(r.Context(), rq.actor)
	if err != nil {
		return err
	}
	v := escalationView{base: u.base(r, rq, "escalation", rq.tr.T("escalation.title"))}
	for _, rule := range rules {
		v.Rules = append(v.Rules, describeRule(v.base, rule))
	}
	return u.render(w, http.StatusOK, "escalation", v)
}

// describeRule puts a rule's conditions and recipients into words.
// Channel addresses are masked: a Slack or Teams URL is a credential.
func describeRule(b base, r *escalation.Rule) ruleRow {
	row := ruleRow{Rule: r}
	tr := b.Tr
	join := func(xs []string) string { return strings.Join(xs, ", ") }
	wh := r.When
	if len(wh.Severity) > 0 {
		var s []string
		for _, x := range wh.Severity {
			s = append(s, string(x))
		}
		row.When = append(row.When, tr.T("escalation.when.severity", join(s)))
	}
	if len(wh.Category) > 0 {
		var s []string
		for _, x := range wh.Category {
			s = append(s, b.Category(x))
		}
		row.When = append(row.When, tr.T("escalation.when.category", join(s)))
	}
	if len(wh.Phase) > 0 {
		var s []string
		for _, x := range wh.Phase {
			s = append(s, b.Phase(x))
		}
		row.When = append(row.When, tr.T("escalation.when.phase", join(s)))
	}
	if len(wh.Flags) > 0 {
		row.When = append(row.When, tr.T("escalation.when.flags", join(wh.Flags)))
	}
	if wh.NotAcknowledgedFor > 0 {
		row.When = append(row.When, tr.T("escalation.when.not_acknowledged", b.Dur(time.Duration(wh.NotAcknowledgedFor))))
	}
	if wh.TaskOverdue {
		row.When = append(row.When, tr.T("escalation.when.task_overdue"))
	}
	if wh.ClockDueSoon {
		row.When = append(row.When, tr.T("escalation.when.clock_due_soon"))
	}
	if wh.ClockOverdue {
		row.When = append(row.When, tr.T("escalation.when.clock_overdue"))
	}
	if len(row.When) == 0 {
		row.When = []string{tr.T("escalation.when.any")}
	}
	n := r.Notify
	if len(n.Roles) > 0 {
		var s []string
		for _, x := range n.Roles {
			s = append(s, b.ContactRole(x))
		}
		row.Notify = append(row.Notify, tr.T("escalation.notify.roles", join(s)))
	}
	if len(n.Contacts) > 0 {
		row.Notify = append(row.Notify, tr.T("escalation.notify.contacts", join(n.Contacts)))
	}
	switch n.OnCall {
	case escalation.OnCallFirst:
		row.Notify = append(row.Notify, tr.T("escalation.notify.on_call_first"))
	case escalation.OnCallNext:
		row.Notify = append(row.Notify, tr.T("escalation.notify.on_call_next"))
	}
	if n.Assignee {
		row.Notify = append(row.Notify, tr.T("escalation.notify.assignee"))
	}
	for _, ch := range n.Channels {
		m := ch.Masked()
		row.Notify = append(row.Notify, m.Type+": "+m.Address)
	}
	if len(n.Via) > 0 {
		row.Notify = append(row.Notify, tr.T("escalation.notify.via", join(n.Via)))
	}
	return row
}
