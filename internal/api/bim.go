package api

import (
	"encoding/json"
	"strings"

	"github.com/custosdata/custos/internal/auth"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/identity"
	"github.com/custosdata/custos/internal/store"
)

func (s *Server) bimRoutes() {
	const tag = "bim"
	id := s.Identity

	s.Handle(Op{Method: "POST", Path: "/bim/apikey/authenticate", Summary: "Exchange an API key for a bearer token",
		Tag: tag, Public: true, NoAudit: true, Body: apiKeyAuthBody{}, Response: tokenJSON{}}, func(r *Request) (any, error) {
		var b apiKeyAuthBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		t, err := id.ExchangeAPIKey(r.Context(), b.APIKey)
		if err != nil {
			return nil, err
		}
		return tokenJSON{Authenticated: true, Token: t.Token, TokenExpiration: &t.ExpiresAt}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/iam/{iamid}/user/authenticate", Summary: "Log in with a user name and password",
		Tag: tag, Public: true, NoAudit: true, Throttled: true, Body: loginBody{}, Response: tokenJSON{}}, func(r *Request) (any, error) {
		var b loginBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		t, err := id.PasswordLogin(r.Context(), r.Path("iamid"), b.Username, b.Password)
		if err != nil {
			return nil, err
		}
		return tokenJSON{Authenticated: true, Token: t.Token, TokenExpiration: &t.ExpiresAt, ProfileID: &t.UserID}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/apikey/impersonate", Summary: "Obtain a token that acts as another user",
		Tag: tag, Public: true, NoAudit: true, Body: impersonateBody{}, Response: tokenJSON{}}, func(r *Request) (any, error) {
		var b impersonateBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		t, err := id.Impersonate(r.Context(), b.APIKey, b.IAMID, b.UserID, b.ProjectID)
		if err != nil {
			return nil, err
		}
		return tokenJSON{Authenticated: true, Token: t.Token, TokenExpiration: &t.ExpiresAt}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/token", Summary: "Describe a bearer token", Tag: tag, NoAudit: true,
		Body: tokenInfoBody{}, Response: tokenInfoJSON{}}, func(r *Request) (any, error) {
		var b tokenInfoBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		d, err := id.TokenInfo(r.Context(), r.P, b.Token)
		if err != nil {
			return nil, err
		}
		t := d.Token
		out := tokenInfoJSON{ID: t.ID, Type: "bearer", IAMID: d.Owner.IAMID, UserID: d.Owner.UserID, Project: t.ProjectID,
			Token: strings.TrimSpace(b.Token), Created: t.CreatedAt, LastUsed: t.LastUsed, Expiration: t.ExpiresAt,
			Scopes: strings.Fields(t.Scopes), DerivedFrom: t.APIKeyID, CreatedAt: t.CreatedAt, UpdatedAt: t.CreatedAt}
		if out.Scopes == nil {
			out.Scopes = []string{}
		}
		if d.Acting != nil {
			out.ImpersonationUserID, out.ImpersonationIAMID = &d.Acting.UserID, &d.Acting.IAMID
		}
		return out, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/apikey", Summary: "Create an API key for yourself (optionally for a project)",
		Tag: tag, Body: apiKeyBody{}, Response: apiKeyCreated{}}, func(r *Request) (any, error) {
		var b apiKeyBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		k, err := id.CreateAPIKey(r.Context(), r.P, b.Name, b.ProjectID)
		if err != nil {
			return nil, err
		}
		return apiKeyCreated{APIKey: k.Key, KeyID: k.Record.ID, Project: k.Record.ProjectID, Name: k.Record.Name}, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/bim/apikey/{keyid}", Summary: "Revoke an API key and the tokens issued from it",
		Tag: tag, IntParams: []string{"keyid"}, Response: revokedJSON{}}, func(r *Request) (any, error) {
		keyID, err := r.PathInt("keyid")
		if err != nil {
			return nil, err
		}
		n, err := id.DeleteAPIKey(r.Context(), r.P, keyID)
		return revokedJSON{RevokedTokens: n}, err
	})

	s.Handle(Op{Method: "GET", Path: "/bim/iam/{iamid}/user/{userid}/apikeys", Summary: "List a user's API keys",
		Tag: tag, Response: []apiKeyJSON{}}, func(r *Request) (any, error) {
		keys, err := id.APIKeys(r.Context(), r.P, r.Path("iamid"), r.Path("userid"))
		if err != nil {
			return nil, err
		}
		out := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			out[i] = apiKeyJSON{KeyID: k.ID, Created: k.CreatedAt, Project: k.ProjectID, LastUsed: k.LastUsed, Name: k.Name}
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/iam", Summary: "List the configured identity managers", Tag: tag,
		Response: []iamJSON{}}, func(r *Request) (any, error) {
		return []iamJSON{{ID: identity.BuiltinIAM, DisplayName: "Custos", Type: "built-in"}}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/iam/{iamid}/user", Summary: "Create a user of the built-in identity manager",
		Tag: tag, Permission: auth.UserAdmin, Body: createUserBody{}, Response: createUserResponse{}}, func(r *Request) (any, error) {
		var b createUserBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if b.IAMID == "" {
			b.IAMID = r.Path("iamid")
		} else if b.IAMID != r.Path("iamid") {
			return nil, errs.Field("iamid", errs.CodeInvalid, "iamid %q does not match the path's %q", b.IAMID, r.Path("iamid"))
		}
		in := identity.NewUser{IAMID: b.IAMID, UserID: b.UserID, Password: b.Password, Permissions: b.Permissions}
		if b.Profile != nil {
			in.Name, in.Email = b.Profile.Name, b.Profile.Email
		}
		v, err := id.CreateUser(r.Context(), r.P, in)
		if err != nil {
			return nil, err
		}
		return createUserResponse{NewUser: aggregateOf(v, r.P)}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/user", Summary: "Search users", Tag: tag, Query: userSearchQuery{},
		Response: Page[userAggregate]{}}, func(r *Request) (any, error) {
		var q userSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(25, 1000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "createdAt", "iamid", "email"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		if q.Permission != "" && !auth.ValidPermission(q.Permission) {
			return nil, errs.BadRequestf("query parameter permission: %q is not a permission", q.Permission)
		}
		users, total, err := id.SearchUsers(r.Context(), r.P, store.UserFilter{Name: q.Name, UserID: q.UserID,
			Email: q.Email, IAMIDs: q.IAMID, ProfileIDs: q.ProfileIDs, Permission: q.Permission,
			ExcludeSystemGenerated: q.ExcludeSystemGenerated, ExcludeBIM: q.ExcludeBIM || q.ExcludeBIMLower,
			ExcludeAdminAndGovernor: q.ExcludeAdminAndGovernor, IncludeDisabled: q.IncludeDisabled,
			SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		page := Page[userAggregate]{Count: total, Hits: make([]userAggregate, len(users))}
		for i, u := range users {
			page.Hits[i] = aggregateOf(u, r.P)
		}
		return page, nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/rpc/user/current", Summary: "The calling user", Tag: tag,
		Response: userAggregate{}}, func(r *Request) (any, error) {
		v, err := id.Current(r.Context(), r.P)
		if err != nil {
			return nil, err
		}
		return aggregateOf(v, r.P), nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/iam/{iamid}/user/{id}", Summary: "One user's aggregated view", Tag: tag,
		Response: userAggregate{}}, func(r *Request) (any, error) {
		v, err := id.User(r.Context(), r.P, r.Path("iamid"), r.Path("id"))
		if err != nil {
			return nil, err
		}
		return aggregateOf(v, r.P), nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/iam/{iamid}/group/{id}", Summary: "One group of an identity manager (by id or name), with its attributes",
		Tag: tag, Response: iamGroupJSON{}}, func(r *Request) (any, error) {
		g, err := id.GroupIn(r.Context(), r.P, r.Path("iamid"), r.Path("id"))
		if err != nil {
			return nil, err
		}
		return iamGroupOf(g), nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/iam/{iamid}/user/{userid}/profile", Summary: "A user's profile", Tag: tag,
		Response: profileJSON{}}, func(r *Request) (any, error) {
		v, err := id.User(r.Context(), r.P, r.Path("iamid"), r.Path("userid"))
		if err != nil {
			return nil, err
		}
		return profileOf(v.User), nil
	})

	updateProfile := func(r *Request) (any, error) {
		var b profileBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		v, err := id.UpdateProfile(r.Context(), r.P, r.Path("iamid"), r.Path("userid"), identity.ProfileUpdate{
			Name: b.Name, Email: b.Email, Phone: b.Phone, About: b.About, Location: b.Location,
			Organization: b.Organization, Position: b.Position, SQLUser: b.SQLUser,
			ExternalUserIDs: b.ExternalUserIDs, Preferences: b.Preferences, SCIM: b.SCIM})
		if err != nil {
			return nil, err
		}
		return profileOf(v.User), nil
	}
	s.Handle(Op{Method: "PUT", Path: "/bim/iam/{iamid}/user/{userid}/profile", Summary: "Update a user's profile",
		Tag: tag, Body: profileBody{}, Response: profileJSON{}}, updateProfile)
	s.Handle(Op{Method: "POST", Path: "/bim/iam/{iamid}/user/{userid}/profile", Summary: "Update a user's profile (alias of PUT)",
		Tag: tag, Body: profileBody{}, Response: profileJSON{}}, updateProfile)

	s.Handle(Op{Method: "PUT", Path: "/bim/iam/{iamid}/user/{userid}/password", Summary: "Change a user's password",
		Tag: tag, Throttled: true, Body: passwordBody{}, Response: map[string]bool{}}, func(r *Request) (any, error) {
		var b passwordBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		if err := id.SetPassword(r.Context(), r.P, r.Path("iamid"), r.Path("userid"), b.OriginalPassword, b.Password); err != nil {
			return nil, err
		}
		return map[string]bool{"success": true}, nil
	})

	s.Handle(Op{Method: "PUT", Path: "/bim/iam/{iamid}/user/{userid}/disable/{disable}", Summary: "Disable (true) or enable (false) a user",
		Tag: tag, Permission: auth.UserAdmin, Response: disableResponse{}}, func(r *Request) (any, error) {
		disable, err := r.PathBool("disable")
		if err != nil {
			return nil, err
		}
		u, err := id.SetDisabled(r.Context(), r.P, r.Path("iamid"), r.Path("userid"), disable)
		if err != nil {
			return nil, err
		}
		return disableResponse{UserID: u.UserID, Disabled: u.Disabled}, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/bim/iam/{iamid}/user/{userid}", Summary: "Delete a user of the built-in identity manager",
		Tag: tag, Permission: auth.UserAdmin, Response: deleteUserResponse{}}, func(r *Request) (any, error) {
		if iam := r.Path("iamid"); iam != identity.BuiltinIAM {
			return nil, errs.NotFoundf("identity manager %q is not configured; the built-in one is %q", iam, identity.BuiltinIAM)
		}
		u, err := id.DeleteUser(r.Context(), r.P, r.Path("userid"))
		if err != nil {
			return nil, err
		}
		return deleteUserResponse{UserID: u.UserID, IAMID: u.IAMID}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/bim/iam/{iamid}/user/{userid}/clone", Summary: "Create users with the same permissions, groups and attributes",
		Tag: tag, Permission: auth.UserAdmin, Body: []string{}, Response: cloneResponse{}}, func(r *Request) (any, error) {
		if iam := r.Path("iamid"); iam != identity.BuiltinIAM {
			return nil, errs.NotFoundf("identity manager %q is not configured; the built-in one is %q", iam, identity.BuiltinIAM)
		}
		emails, err := decodeStringList(r, "email")
		if err != nil {
			return nil, err
		}
		failed, err := id.CloneUser(r.Context(), r.P, r.Path("userid"), emails)
		if err != nil {
			return nil, err
		}
		return cloneResponse{FailedEmails: failed}, nil
	})

	changePerms := func(how identity.PermissionChange) Handler {
		return func(r *Request) (any, error) {
			var perms []string
			if how == identity.RemovePermissions {
				perms = []string{r.Path("permission")}
			} else {
				var err error
				if perms, err = decodeStringList(r, "permissions"); err != nil {
					return nil, err
				}
			}
			v, err := id.ChangePermissions(r.Context(), r.P, r.Path("iamid"), r.Path("userid"), how, perms)
			if err != nil {
				return nil, err
			}
			return recordOf(v), nil
		}
	}
	s.Handle(Op{Method: "POST", Path: "/bim/iam/{iamid}/user/{userid}/permissions", Summary: "Add permissions to a user",
		Tag: tag, Permission: auth.UserAdmin, Body: []string{}, Response: userRecord{}}, changePerms(identity.AddPermissions))
	s.Handle(Op{Method: "PUT", Path: "/bim/iam/{iamid}/user/{userid}/permissions", Summary: "Replace a user's permissions",
		Tag: tag, Permission: auth.UserAdmin, Body: []string{}, Response: userRecord{}}, changePerms(identity.ReplacePermissions))
	s.Handle(Op{Method: "DELETE", Path: "/bim/iam/{iamid}/user/{userid}/permissions/{permission}", Summary: "Remove a permission from a user",
		Tag: tag, Permission: auth.UserAdmin, Response: userRecord{}}, changePerms(identity.RemovePermissions))

	s.Handle(Op{Method: "GET", Path: "/bim/iam/{iamid}/user/{userid}/groups", Summary: "The groups a user belongs to",
		Tag: tag, Response: []userGroupJSON{}}, func(r *Request) (any, error) {
		gs, _, err := id.GroupsOfUser(r.Context(), r.P, r.Path("iamid"), r.Path("userid"))
		if err != nil {
			return nil, err
		}
		return groupsOf(gs), nil
	})

	changeAttr := func(add bool) Handler {
		return func(r *Request) (any, error) {
			name, value := r.Path("attributeName"), r.Path("attributeValue")
			if !add {
				name, value = r.Path("key"), r.Path("value")
			}
			t, err := id.ChangeAttribute(r.Context(), r.P, r.Path("iamid"), r.Path("modelType"), r.Path("modelId"), name, value, add)
			if err != nil {
				return nil, err
			}
			if t.User != nil {
				return recordOf(t.User), nil
			}
			return groupOf(t.Group), nil
		}
	}
	s.Handle(Op{Method: "PUT", Path: "/bim/iam/{iamid}/{modelType}/{modelId}/authorizations/{attributeName}/{attributeValue}",
		Summary: "Give a user or group an attribute value (modelType user or group)", Tag: tag, Permission: auth.UserAdmin,
		Response: userRecord{}}, changeAttr(true))
	s.Handle(Op{Method: "DELETE", Path: "/bim/iam/{iamid}/{modelType}/{modelId}/authorizations/{key}/{value}",
		Summary: "Remove an attribute value from a user or group", Tag: tag, Permission: auth.UserAdmin,
		Response: userRecord{}}, changeAttr(false))
	s.Handle(Op{Method: "DELETE", Path: "/bim/iam/{iamid}/{modelType}/{modelId}/authorizations/{key}",
		Summary: "Remove every value of an attribute from a user or group", Tag: tag, Permission: auth.UserAdmin,
		Response: userRecord{}}, changeAttr(false))

	s.groupRoutes(tag)
}

// decodeStringList reads a body that is either a bare JSON array of strings
// or an object holding the array under key.
func decodeStringList(r *Request, key string) ([]string, error) {
	body, err := r.RawBody()
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := DecodeBody(r.Header.Get("Content-Type"), body, &raw); err != nil {
		return nil, err
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var obj map[string][]string
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errs.Field(key, errs.CodeType, "the body must be an array of strings or {%q: [...]}", key)
	}
	list, ok := obj[key]
	if !ok {
		return nil, errs.Field(key, errs.CodeRequired, "%s is required", key)
	}
	return list, nil
}

func (s *Server) groupRoutes(tag string) {
	id := s.Identity
	s.Handle(Op{Method: "POST", Path: "/bim/group", Summary: "Create a group", Tag: tag, Permission: auth.UserAdmin,
		Body: groupBody{}, Response: groupJSON{}}, func(r *Request) (any, error) {
		var b groupBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		g, err := id.CreateGroup(r.Context(), r.P, identity.GroupInput{IAMID: b.IAMID, Name: b.Name, Email: b.Email, Description: b.Description})
		if err != nil {
			return nil, err
		}
		return groupOf(g), nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/group", Summary: "Search groups", Tag: tag, Query: groupSearchQuery{},
		Response: Page[groupJSON]{}}, func(r *Request) (any, error) {
		var q groupSearchQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(25, 1000); err != nil {
			return nil, err
		}
		if err := OneOf("sortField", q.SortField, "name", "createdAt", "iamid"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		groups, total, err := id.SearchGroups(r.Context(), r.P, store.GroupFilter{Name: q.Name, IDs: q.IDs,
			MemberUserID: q.UserID, IAMIDs: q.IAMID, SortField: q.SortField, Descending: desc, Offset: q.Offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		if q.NameOnly {
			names := []string{}
			seen := map[string]bool{}
			for _, g := range groups {
				if !seen[g.Name] {
					seen[g.Name] = true
					names = append(names, g.Name)
				}
			}
			return Page[string]{Count: total, Hits: names}, nil
		}
		page := Page[groupJSON]{Count: total, Hits: make([]groupJSON, len(groups))}
		for i, g := range groups {
			page.Hits[i] = groupOf(g)
		}
		return page, nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/group/{groupId}", Summary: "One group", Tag: tag, IntParams: []string{"groupId"},
		Response: groupJSON{}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		g, err := id.Group(r.Context(), r.P, gid)
		if err != nil {
			return nil, err
		}
		return groupOf(g), nil
	})

	s.Handle(Op{Method: "PUT", Path: "/bim/group/{groupId}", Summary: "Update a group", Tag: tag, Permission: auth.UserAdmin,
		IntParams: []string{"groupId"}, Body: groupBody{}, Response: groupJSON{}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		var b groupBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		g, err := id.UpdateGroup(r.Context(), r.P, gid, identity.GroupInput{Name: b.Name, Email: b.Email, Description: b.Description})
		if err != nil {
			return nil, err
		}
		return groupOf(g), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/bim/group/{groupId}", Summary: "Delete a group", Tag: tag, Permission: auth.UserAdmin,
		IntParams: []string{"groupId"}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		return nil, id.DeleteGroup(r.Context(), r.P, gid)
	})

	s.Handle(Op{Method: "POST", Path: "/bim/group/{groupId}/user", Summary: "Add a user to a group", Tag: tag,
		Permission: auth.UserAdmin, IntParams: []string{"groupId"}, Body: memberBody{}, Response: membershipJSON{}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		var b memberBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		m, err := id.AddMember(r.Context(), r.P, gid, b.IAMID, b.UserID)
		if err != nil {
			return nil, err
		}
		return membershipJSON{ID: m.ID, Group: m.GroupID, Profile: m.UserID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/bim/group/{groupId}/user", Summary: "A group's members", Tag: tag,
		IntParams: []string{"groupId"}, Query: membersQuery{}, Response: Page[memberJSON]{}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		var q membersQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if err := q.Paging.Check(25, 1000); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, false)
		if err != nil {
			return nil, err
		}
		members, total, err := id.Members(r.Context(), r.P, gid, desc, q.Offset, q.Size)
		if err != nil {
			return nil, err
		}
		page := Page[memberJSON]{Count: total, Hits: make([]memberJSON, len(members))}
		for i, m := range members {
			page.Hits[i] = memberJSON{ID: m.ID, Group: m.GroupID, Profile: profileOf(m.User), UID: m.User.ID,
				IAMID: m.User.IAMID, UserID: m.User.UserID, Disabled: m.User.Disabled, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
		}
		return page, nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/bim/group/{groupId}/user/{groupuserid}", Summary: "Remove a membership (by its id) from a group",
		Tag: tag, Permission: auth.UserAdmin, IntParams: []string{"groupId", "groupuserid"}}, func(r *Request) (any, error) {
		gid, err := r.PathInt("groupId")
		if err != nil {
			return nil, err
		}
		mid, err := r.PathInt("groupuserid")
		if err != nil {
			return nil, err
		}
		return nil, id.RemoveMember(r.Context(), r.P, gid, mid)
	})
}
