package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/irdesk/irdesk/internal/app"
	"github.com/irdesk/irdesk/internal/auth"
)

// OIDCFlags configure sign-in through an OpenID Connect provider.
type OIDCFlags struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// ClientSecretFile names a file holding the client secret.
	ClientSecretFile string
	RedirectURL      string
	RoleClaim        string
	RoleMap          string
}

func oidcFlags(fs *flagSet, o *OIDCFlags) {
	fs.stringVar(&o.Issuer, "oidc-issuer", "", "OpenID Connect issuer URL (e.g. https://login.microsoftonline.com/TENANT/v2.0); empty leaves single sign-on off")
	fs.stringVar(&o.ClientID, "oidc-client-id", "", "client id registered at the provider")
	fs.secretVar(&o.ClientSecret, "oidc-client-secret", "client secret registered at the provider")
	fs.stringVar(&o.ClientSecretFile, "oidc-client-secret-file", "", "file holding the client secret (instead of --oidc-client-secret)")
	fs.stringVar(&o.RedirectURL, "oidc-redirect-url", "", "this server's callback as registered at the provider, https://HOST/auth/oidc/callback")
	fs.stringVar(&o.RoleClaim, "oidc-role-claim", "groups", "ID-token claim listing the user's groups")
	fs.stringVar(&o.RoleMap, "oidc-role-map", "", "group=role pairs, e.g. soc-leads=lead,soc=analyst,all-staff=reporter; the highest role of a user's groups applies, a user in none is refused")
}

// oidcConfig connects to the provider when --oidc-issuer is set; a
// misconfiguration or an unreachable provider refuses the start, so a
// desk never runs with single sign-on silently off.
func oidcConfig(ctx context.Context, o OIDCFlags) (app.OIDCConfig, error) {
	if o.Issuer == "" {
		return app.OIDCConfig{}, nil
	}
	if o.ClientSecret == "" && o.ClientSecretFile != "" {
		b, err := os.ReadFile(o.ClientSecretFile)
		if err != nil {
			return app.OIDCConfig{}, &exitError{code: 2, msg: fmt.Sprintf("--oidc-client-secret-file: %v", err)}
		}
		o.ClientSecret = strings.TrimRight(string(b), "\r\n")
	}
	if o.ClientID == "" || o.ClientSecret == "" || o.RedirectURL == "" || o.RoleMap == "" {
		return app.OIDCConfig{}, &exitError{code: 2, msg: "--oidc-issuer needs --oidc-client-id, --oidc-client-secret (or IRDESK_OIDC_CLIENT_SECRET_FILE), --oidc-redirect-url and --oidc-role-map"}
	}
	roles, err := app.ParseOIDCRoleMap(o.RoleMap)
	if err != nil {
		return app.OIDCConfig{}, &exitError{code: 2, msg: "--oidc-role-map: " + err.Error()}
	}
	client, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		RedirectURL: o.RedirectURL, GroupsClaim: o.RoleClaim})
	if err != nil {
		return app.OIDCConfig{}, fmt.Errorf("--oidc-issuer: %w", err)
	}
	return app.OIDCConfig{Client: client, RoleMap: roles}, nil
}
