package api

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/projects"
)

// v2ProjectBody is the V2 project document.
type v2ProjectBody struct {
	ProjectKey         *string         `json:"projectKey" required:"true"`
	Name               *string         `json:"name" required:"true"`
	Description        *string         `json:"description"`
	Documentation      json.RawMessage `json:"documentation" doc:"Markdown text"`
	AllowedMaskedJoins *bool           `json:"allowedMaskedJoins" doc:"the reference's field name"`
	AllowMaskedJoins   *bool           `json:"allowMaskedJoins" doc:"the name its examples use; both are accepted"`
	Purposes           []string        `json:"purposes" doc:"full purpose names; they must exist. From a caller without GOVERNANCE, purposes not live already are staged for approval"`
	StagedPurposes     []string        `json:"stagedPurposes" doc:"custos addition: purposes waiting for a governor's approval; from a caller without GOVERNANCE the same as listing them in purposes"`
	Datasources        []string        `json:"datasources" doc:"data source names; they must exist"`
	DataSources        []string        `json:"dataSources" doc:"accepted for datasources"`
	SubscriptionPolicy json.RawMessage `json:"subscriptionPolicy" doc:"anyone, approval, entitlements or manual (default)"`
	Workspace          json.RawMessage `json:"workspace" doc:"refused: custos has no project workspaces"`
	Equalization       *bool           `json:"equalization" doc:"limit members to the entitlements they share"`
	Tags               []string        `json:"tags" doc:"tag names; missing ones are created"`
	Disabled           *bool           `json:"disabled" doc:"as listed by GET; ignored on input (a save enables the project)"`
}

type v2ProjectSaveQuery struct {
	DryRun                             bool `query:"dryRun" doc:"validate and report; change nothing"`
	DeleteDataSourcesOnWorkspaceDelete bool `query:"deleteDataSourcesOnWorkspaceDelete" doc:"accepted; without workspaces it has nothing to delete"`
}

type v2ProjectSaveJSON struct {
	DryRun                     bool   `json:"dryRun"`
	Creating                   bool   `json:"creating"`
	Updating                   bool   `json:"updating"`
	NumberOfDataSourcesAdded   int    `json:"numberOfDataSourcesAdded"`
	NumberOfDataSourcesRemoved int    `json:"numberOfDataSourcesRemoved"`
	CreatingWorkspace          bool   `json:"creatingWorkspace"`
	DeletingWorkspace          bool   `json:"deletingWorkspace"`
	ProjectID                  *int64 `json:"projectId" doc:"null for a dry run that would create"`
}

// v2ProjectJSON is a project as its V2 document (plus disabled).
type v2ProjectJSON struct {
	Name               string                       `json:"name"`
	ProjectKey         string                       `json:"projectKey"`
	Description        *string                      `json:"description,omitempty"`
	Documentation      *string                      `json:"documentation,omitempty"`
	AllowMaskedJoins   bool                         `json:"allowMaskedJoins,omitempty"`
	Purposes           []string                     `json:"purposes,omitempty" doc:"the live purposes"`
	StagedPurposes     []string                     `json:"stagedPurposes,omitempty" doc:"custos addition: the purposes waiting for a governor's approval"`
	Datasources        []string                     `json:"datasources,omitempty"`
	SubscriptionPolicy *projects.SubscriptionPolicy `json:"subscriptionPolicy,omitempty"`
	Equalization       bool                         `json:"equalization,omitempty"`
	Tags               []string                     `json:"tags,omitempty"`
	Disabled           bool                         `json:"disabled,omitempty"`
}

func v2ProjectOf(v *projects.View) v2ProjectJSON {
	out := v2ProjectJSON{Name: v.Name, ProjectKey: v.Key, Description: v.Description, Documentation: v.Documentation,
		AllowMaskedJoins: v.AllowMaskedJoins, SubscriptionPolicy: v.Policy, Equalization: v.Equalized, Tags: v.Tags,
		Disabled: v.Deleted}
	for _, p := range v.LivePurposes() {
		out.Purposes = append(out.Purposes, p.Name)
	}
	for _, p := range v.StagedPurposes() {
		out.StagedPurposes = append(out.StagedPurposes, p.Name)
	}
	for _, d := range v.DataSources {
		if n := v.DataSourceNames[d.DataSourceID]; n != "" {
			out.Datasources = append(out.Datasources, n)
		}
	}
	sort.Strings(out.Datasources)
	if out.Documentation != nil && *out.Documentation == "# "+v.Name {
		out.Documentation = nil // the default says nothing
	}
	return out
}

type v2ProjectDeleteQuery struct {
	DryRun     bool `query:"dryRun" doc:"report; delete nothing"`
	HardDelete bool `query:"hardDelete" doc:"delete the project for good instead of disabling it"`
}

type v2ProjectDeleteJSON struct {
	DryRun   bool   `json:"dryRun"`
	Deleting string `json:"deleting"`
}

type projectRenameBody struct {
	NewProjectKey string `json:"newProjectKey" required:"true"`
}

type projectRenameJSON struct {
	OldProjectKey string `json:"oldProjectKey"`
	NewProjectKey string `json:"newProjectKey"`
}

// input is the whole project the document states.
func (b *v2ProjectBody) input() (projects.Input, error) {
	var l errs.List
	if b.ProjectKey == nil || strings.TrimSpace(*b.ProjectKey) == "" {
		l.Add("projectKey", errs.CodeRequired, "projectKey is required")
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" {
		l.Add("name", errs.CodeRequired, "name is required")
	}
	if present(b.Workspace) && !isNull(b.Workspace) {
		l.Add("workspace", errs.CodeInvalid, "workspace: custos does not support project workspaces (Databricks, Snowflake); "+
			"leave workspace out")
	}
	var doc *string
	if present(b.Documentation) && !isNull(b.Documentation) {
		var s string
		if err := json.Unmarshal(b.Documentation, &s); err != nil {
			l.Add("documentation", errs.CodeType, "documentation must be Markdown text")
		} else {
			doc = &s
		}
	}
	sp, err := projects.ParseV2Policy(b.SubscriptionPolicy, "subscriptionPolicy")
	if err != nil {
		return projects.Input{}, err
	}
	if err := l.Err(); err != nil {
		return projects.Input{}, err
	}
	masked := false
	if b.AllowedMaskedJoins != nil {
		masked = *b.AllowedMaskedJoins
	}
	if b.AllowMaskedJoins != nil {
		masked = *b.AllowMaskedJoins
	}
	empty := ""
	open := "open"
	in := projects.Input{Key: b.ProjectKey, Name: b.Name, Status: &open, Description: b.Description, Documentation: doc,
		AllowMaskedJoins: &masked, SetPolicy: true, Policy: sp, PurposesField: "purposes", StagedPurposesField: "stagedPurposes",
		DataSourcesField: "datasources", Equalization: &projects.EqualizationInput{On: b.Equalization != nil && *b.Equalization}}
	if in.Description == nil {
		in.Description = &empty
	}
	if doc == nil {
		d := "# " + strings.TrimSpace(*b.Name)
		in.Documentation = &d
	}
	purposes := make([]projects.Ref, 0, len(b.Purposes))
	for _, p := range b.Purposes {
		purposes = append(purposes, projects.Ref{Name: p})
	}
	in.Purposes = &purposes
	staged := make([]projects.Ref, 0, len(b.StagedPurposes))
	for _, p := range b.StagedPurposes {
		staged = append(staged, projects.Ref{Name: p})
	}
	in.StagedPurposes = &staged
	names := b.Datasources
	if names == nil {
		names = b.DataSources
	}
	sources := make([]projects.Ref, 0, len(names))
	for _, n := range names {
		sources = append(sources, projects.Ref{Name: n})
	}
	in.DataSources = &sources
	tags := append([]string{}, b.Tags...)
	in.Tags = &tags
	return in, nil
}

func (s *Server) projectV2Routes(prj *projects.Service) {
	const tag = "projects (V2)"
	s.Handle(Op{Method: "POST", Path: "/api/v2/project", Summary: "Create or update a project from its V2 document (keyed by projectKey)",
		Tag: tag, Query: v2ProjectSaveQuery{}, Body: v2ProjectBody{}, Response: v2ProjectSaveJSON{}}, func(r *Request) (any, error) {
		var q v2ProjectSaveQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		var b v2ProjectBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		in, err := b.input()
		if err != nil {
			return nil, err
		}
		res, err := prj.SaveV2(r.Context(), r.P, in, q.DryRun)
		if err != nil {
			return nil, err
		}
		return v2ProjectSaveJSON{DryRun: res.DryRun, Creating: res.Creating, Updating: res.Updating,
			NumberOfDataSourcesAdded: res.DataSourcesAdded, NumberOfDataSourcesRemoved: res.DataSourcesRemoved,
			ProjectID: res.ProjectID}, nil
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/project", Summary: "Every project as its V2 document (disabled ones with disabled: true), sorted by projectKey",
		Tag: tag, Response: []v2ProjectJSON{}}, func(r *Request) (any, error) {
		list, err := prj.All(r.Context(), r.P)
		if err != nil {
			return nil, err
		}
		out := make([]v2ProjectJSON, len(list))
		for i, v := range list {
			out[i] = v2ProjectOf(v)
		}
		return out, nil
	})

	s.Handle(Op{Method: "GET", Path: "/api/v2/project/{projectKey}", Summary: "One project as its V2 document",
		Tag: tag, Response: v2ProjectJSON{}}, func(r *Request) (any, error) {
		v, err := prj.GetByKey(r.Context(), r.P, r.Path("projectKey"))
		if err != nil {
			return nil, err
		}
		return v2ProjectOf(v), nil
	})

	s.Handle(Op{Method: "DELETE", Path: "/api/v2/project/{projectKey}", Summary: "Disable a project, or with hardDelete delete it for good",
		Tag: tag, Query: v2ProjectDeleteQuery{}, Response: v2ProjectDeleteJSON{}}, func(r *Request) (any, error) {
		var q v2ProjectDeleteQuery
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		key := r.Path("projectKey")
		if err := prj.DeleteByKey(r.Context(), r.P, key, q.DryRun, q.HardDelete); err != nil {
			return nil, err
		}
		return v2ProjectDeleteJSON{DryRun: q.DryRun, Deleting: key}, nil
	})

	s.Handle(Op{Method: "POST", Path: "/api/v2/project/{projectKey}/rename", Summary: "Change a project's key",
		Tag: tag, Body: projectRenameBody{}, Response: projectRenameJSON{}}, func(r *Request) (any, error) {
		var b projectRenameBody
		if err := r.Decode(&b); err != nil {
			return nil, err
		}
		old := r.Path("projectKey")
		if err := prj.Rename(r.Context(), r.P, old, b.NewProjectKey); err != nil {
			return nil, err
		}
		return projectRenameJSON{OldProjectKey: old, NewProjectKey: strings.TrimSpace(b.NewProjectKey)}, nil
	})
}
