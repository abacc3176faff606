package api

import (
	"time"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/store"
)

// Wire shapes of the BIM API.

type profileJSON struct {
	ID              int64      `json:"id"`
	Name            string     `json:"name"`
	Email           string     `json:"email"`
	Phone           *string    `json:"phone"`
	About           *string    `json:"about"`
	Location        *string    `json:"location"`
	Organization    *string    `json:"organization"`
	Position        *string    `json:"position"`
	SQLUser         *string    `json:"sqlUser"`
	ExternalUserIDs store.JSON `json:"externalUserIds"`
	Preferences     store.JSON `json:"preferences"`
	SCIM            store.JSON `json:"scim"`
	SystemGenerated bool       `json:"systemGenerated"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`
}

func profileOf(u *store.User) profileJSON {
	ext := u.ExternalUserIDs
	if ext == nil {
		ext = store.JSON("{}")
	}
	return profileJSON{ID: u.ID, Name: u.Name, Email: u.Email, Phone: u.Phone, About: u.About, Location: u.Location,
		Organization: u.Organization, Position: u.Position, SQLUser: u.SQLUser, ExternalUserIDs: ext,
		Preferences: u.Preferences, SCIM: u.SCIM, SystemGenerated: u.SystemGenerated, CreatedAt: u.CreatedAt,
		UpdatedAt: u.UpdatedAt}
}

type userGroupJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	IAMID     string `json:"iamid"`
	GroupUser int64  `json:"groupUser" doc:"the membership id, used to remove the user from the group"`
}

func groupsOf(gs []store.UserGroup) []userGroupJSON {
	out := make([]userGroupJSON, len(gs))
	for i, g := range gs {
		out[i] = userGroupJSON{ID: g.Group.ID, Name: g.Group.Name, IAMID: g.Group.IAMID, GroupUser: g.MembershipID}
	}
	return out
}

// userAggregate is the aggregated view of a user (current user, search, get).
type userAggregate struct {
	ID                  int64             `json:"id"`
	IAMID               string            `json:"iamid"`
	UserID              string            `json:"userid"`
	BimAuthorizations   *store.Attributes `json:"bimAuthorizations,omitempty" doc:"attributes given to the user directly; shown to USER_ADMIN and the user"`
	IamAuthorizations   *store.Attributes `json:"iamAuthorizations,omitempty" doc:"attributes from an external identity manager (none for built-in users)"`
	Authorizations      *store.Attributes `json:"authorizations,omitempty" doc:"the user's attributes merged with their groups'"`
	ProjectID           *int64            `json:"projectId" doc:"the project the user currently acts under"`
	Permissions         []string          `json:"permissions"`
	GroupPermissions    []string          `json:"groupPermissions"`
	Profile             profileJSON       `json:"profile"`
	Authentication      *int64            `json:"authentication"`
	SystemGenerated     bool              `json:"systemGenerated"`
	LastLogin           *time.Time        `json:"lastLogin"`
	LastExternalRefresh *time.Time        `json:"lastExternalRefresh"`
	Disabled            bool              `json:"disabled"`
	HasLogin            bool              `json:"hasLogin"`
	Groups              []userGroupJSON   `json:"groups"`
	CreatedAt           time.Time         `json:"createdAt"`
	UpdatedAt           time.Time         `json:"updatedAt"`
}

// aggregateOf renders a user; attributes are shown only to USER_ADMIN and
// the user themself.
func aggregateOf(v *identity.UserView, viewer *auth.Principal) userAggregate {
	out := userAggregate{ID: v.ID, IAMID: v.IAMID, UserID: v.UserID, ProjectID: v.CurrentProjectID,
		Permissions: v.Permissions, GroupPermissions: []string{}, Profile: profileOf(v.User),
		SystemGenerated: v.SystemGenerated, LastLogin: v.LastLogin, Disabled: v.Disabled, HasLogin: v.HasLogin(),
		Groups: groupsOf(v.Groups), CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if viewer.Has(auth.UserAdmin) || viewer.Is(v.ID) {
		own, eff := attrsOrEmpty(v.Own), attrsOrEmpty(v.Effective)
		out.BimAuthorizations, out.Authorizations = &own, &eff
	}
	return out
}

func attrsOrEmpty(a store.Attributes) store.Attributes {
	if a == nil {
		return store.Attributes{}
	}
	return a
}

// userRecord is the user as returned by permission and attribute changes,
// where profile is the profile id.
type userRecord struct {
	ID                  int64            `json:"id"`
	IAMID               string           `json:"iamid"`
	UserID              string           `json:"userid"`
	BimAuthorizations   store.Attributes `json:"bimAuthorizations"`
	IamAuthorizations   store.Attributes `json:"iamAuthorizations"`
	Authorizations      store.Attributes `json:"authorizations"`
	Permissions         []string         `json:"permissions"`
	Profile             int64            `json:"profile"`
	Authentication      *int64           `json:"authentication"`
	SystemGenerated     bool             `json:"systemGenerated"`
	LastLogin           *time.Time       `json:"lastLogin"`
	LastExternalRefresh *time.Time       `json:"lastExternalRefresh"`
	Disabled            bool             `json:"disabled"`
	CreatedAt           time.Time        `json:"createdAt"`
	UpdatedAt           time.Time        `json:"updatedAt"`
}

func recordOf(v *identity.UserView) userRecord {
	return userRecord{ID: v.ID, IAMID: v.IAMID, UserID: v.UserID, BimAuthorizations: attrsOrEmpty(v.Own),
		Authorizations: attrsOrEmpty(v.Effective), Permissions: v.Permissions, Profile: v.ID,
		SystemGenerated: v.SystemGenerated, LastLogin: v.LastLogin, Disabled: v.Disabled, CreatedAt: v.CreatedAt,
		UpdatedAt: v.UpdatedAt}
}

type groupJSON struct {
	ID             int64             `json:"id"`
	IAMID          string            `json:"iamid"`
	Name           string            `json:"name"`
	GID            *string           `json:"gid"`
	Email          *string           `json:"email"`
	Authorizations *store.Attributes `json:"authorizations"`
	Description    *string           `json:"description"`
	SCIM           any               `json:"scim"`
	SCIMID         any               `json:"scimid"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
}

// iamGroupJSON is a group as its identity manager shows it: its own
// attributes are bimAuthorizations, as a user's are.
type iamGroupJSON struct {
	groupJSON
	BimAuthorizations store.Attributes `json:"bimAuthorizations" doc:"the attributes given to the group"`
	IamAuthorizations store.Attributes `json:"iamAuthorizations" doc:"attributes from an external identity manager (none for built-in groups)"`
}

func iamGroupOf(g *identity.GroupView) iamGroupJSON {
	out := iamGroupJSON{groupJSON: groupOf(g), BimAuthorizations: g.Attributes, IamAuthorizations: store.Attributes{}}
	if out.BimAuthorizations == nil {
		out.BimAuthorizations = store.Attributes{}
	}
	return out
}

func groupOf(g *identity.GroupView) groupJSON {
	out := groupJSON{ID: g.ID, IAMID: g.IAMID, Name: g.Name, GID: g.GID, Email: g.Email, Description: g.Description,
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if len(g.Attributes) > 0 {
		a := g.Attributes
		out.Authorizations = &a
	}
	return out
}

type createUserBody struct {
	IAMID    string `json:"iamid" required:"true"`
	UserID   string `json:"userid" required:"true" doc:"the user name; stored in lower case"`
	Password string `json:"password" doc:"optional; without one the user cannot log in until a USER_ADMIN sets it"`
	Profile  *struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"profile"`
	Permissions []string `json:"permissions"`
}

type createUserResponse struct {
	NewUser     userAggregate `json:"newUser"`
	NewUserLink *string       `json:"newUserLink" doc:"custos sends no e-mail and has no invitation link: always null"`
	EmailFailed bool          `json:"emailFailed"`
	EmailSent   bool          `json:"emailSent"`
}

type userSearchQuery struct {
	Paging
	Name                    string   `query:"name" doc:"partial match on user names"`
	UserID                  string   `query:"userid" doc:"partial match on user ids"`
	Email                   string   `query:"email" doc:"partial match on e-mail addresses"`
	IAMID                   []string `query:"iamid" doc:"only users of these identity managers"`
	ProfileIDs              []int64  `query:"profileIds" doc:"only these users"`
	ExcludeSystemGenerated  bool     `query:"excludeSystemGenerated"`
	ExcludeAdminAndGovernor bool     `query:"excludeAdminAndGovernor" doc:"leave out users holding ADMIN or GOVERNANCE"`
	ExcludeDeletedIAMs      bool     `query:"excludeDeletedIams" doc:"accepted for compatibility; custos has no deleted identity managers"`
	ExcludeBIM              bool     `query:"excludeBIM" doc:"leave out users of the built-in identity manager"`
	ExcludeBIMLower         bool     `query:"excludebim"`
	IncludeDisabled         bool     `query:"includeDisabled"`
	SortField               string   `query:"sortField" doc:"name (default), createdAt, iamid or email"`
	SortOrder               string   `query:"sortOrder" doc:"asc (default) or desc"`
	Permission              string   `query:"permission" doc:"only users holding this permission"`
}

type profileBody struct {
	Name            *string    `json:"name"`
	Email           *string    `json:"email"`
	Phone           *string    `json:"phone"`
	About           *string    `json:"about"`
	Location        *string    `json:"location"`
	Organization    *string    `json:"organization"`
	Position        *string    `json:"position"`
	SQLUser         *string    `json:"sqlUser" doc:"the database role this user queries as; enforcement grants to it"`
	ExternalUserIDs store.JSON `json:"externalUserIds"`
	Preferences     store.JSON `json:"preferences"`
	SCIM            store.JSON `json:"scim"`
}

type passwordBody struct {
	OriginalPassword string `json:"originalPassword" doc:"required when changing your own password"`
	Password         string `json:"password" required:"true"`
}

type disableResponse struct {
	UserID   string `json:"userid"`
	Disabled bool   `json:"disabled"`
}

type deleteUserResponse struct {
	UserID string `json:"userid"`
	IAMID  string `json:"iamid"`
}

type cloneResponse struct {
	FailedEmails []string `json:"failedEmails"`
}

type iamJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
	OAuth       bool   `json:"oauth"`
}

type groupBody struct {
	IAMID       string  `json:"iamid"`
	Name        *string `json:"name"`
	Email       *string `json:"email"`
	Description *string `json:"description"`
}

type groupSearchQuery struct {
	Paging
	Name      string   `query:"name" doc:"partial match on group names"`
	IDs       []int64  `query:"ids"`
	UserID    int64    `query:"userid" doc:"only groups this user (by id) belongs to"`
	IAMID     []string `query:"iamid"`
	SortField string   `query:"sortField" doc:"name (default), createdAt or iamid"`
	SortOrder string   `query:"sortOrder"`
	NameOnly  bool     `query:"nameOnly" doc:"return only the distinct group names"`
}

type memberBody struct {
	UserID string `json:"userid" required:"true" doc:"user name or id"`
	IAMID  string `json:"iamid" required:"true"`
}

type membershipJSON struct {
	ID        int64     `json:"id"`
	Group     int64     `json:"group"`
	Profile   int64     `json:"profile"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type memberJSON struct {
	ID        int64       `json:"id"`
	Group     int64       `json:"group"`
	Profile   profileJSON `json:"profile"`
	UID       int64       `json:"uid"`
	IAMID     string      `json:"iamid"`
	UserID    string      `json:"userid"`
	Disabled  bool        `json:"disabled"`
	SCIM      any         `json:"scim"`
	SCIMID    any         `json:"scimid"`
	CreatedAt time.Time   `json:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt"`
}

type membersQuery struct {
	Paging
	SortOrder string `query:"sortOrder"`
}

type apiKeyBody struct {
	ProjectID *int64  `json:"projectId"`
	Name      *string `json:"name"`
}

type apiKeyCreated struct {
	APIKey  string  `json:"apikey" doc:"the key; shown only in this response"`
	KeyID   int64   `json:"keyid"`
	Project *int64  `json:"project"`
	Name    *string `json:"name"`
	Context any     `json:"context"`
}

type apiKeyJSON struct {
	KeyID    int64      `json:"keyid"`
	Created  time.Time  `json:"created"`
	Project  *int64     `json:"project"`
	LastUsed *time.Time `json:"lastUsed"`
	Name     *string    `json:"name"`
	Context  any        `json:"context"`
}

type revokedJSON struct {
	RevokedTokens int64 `json:"revokedTokens"`
}

type apiKeyAuthBody struct {
	APIKey string `json:"apikey" required:"true"`
}

type tokenJSON struct {
	Authenticated   bool       `json:"authenticated"`
	Token           string     `json:"token"`
	TokenExpiration *time.Time `json:"tokenExpiration,omitempty"`
	ProfileID       *int64     `json:"profileId,omitempty"`
}

type loginBody struct {
	Username string `json:"username" required:"true"`
	Password string `json:"password" required:"true"`
}

type impersonateBody struct {
	APIKey    string `json:"apikey" required:"true" doc:"API key of a user holding IMPERSONATE_USER"`
	UserID    string `json:"userid" required:"true" doc:"the user to act as"`
	IAMID     string `json:"iamid"`
	ProjectID *int64 `json:"projectId"`
}

type tokenInfoBody struct {
	Token string `json:"token" required:"true"`
}

type tokenInfoJSON struct {
	ID                  int64      `json:"id"`
	Type                string     `json:"type"`
	IAMID               string     `json:"iamid"`
	UserID              string     `json:"userid"`
	Project             *int64     `json:"project"`
	Token               string     `json:"token"`
	Created             time.Time  `json:"created"`
	LastUsed            *time.Time `json:"lastUsed"`
	Expiration          time.Time  `json:"expiration"`
	Name                *string    `json:"name"`
	Scopes              []string   `json:"scopes"`
	ImpersonationUserID *string    `json:"impersonationuserid"`
	ImpersonationIAMID  *string    `json:"impersonationiamid"`
	DerivedFrom         *int64     `json:"derivedFrom" doc:"the API key the token was issued from"`
	CreatedAt           time.Time  `json:"createdAt"`
	UpdatedAt           time.Time  `json:"updatedAt"`
}
