package api

import (
	"time"

	"github.com/custosdata/custos/internal/activity"
	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/errs"
	"github.com/custosdata/custos/internal/store"
)

// activityJSON is one entry of the activity feed.
type activityJSON struct {
	ModelType        string           `json:"modelType"`
	ModelID          string           `json:"modelId"`
	CreatedAt        time.Time        `json:"createdAt"`
	NotificationType string           `json:"notificationType"`
	Metadata         map[string]any   `json:"metadata"`
	Read             bool             `json:"read"`
	ID               int64            `json:"id"`
	UpdatedAt        time.Time        `json:"updatedAt"`
	ActionBy         *activity.Person `json:"actionBy,omitempty"`
	TargetUser       *activity.Person `json:"targetUser,omitempty"`
	TargetGroup      *activity.Person `json:"targetGroup,omitempty"`
}

type activityPageJSON struct {
	Count      int            `json:"count" doc:"how many activities the filters keep"`
	Activities []activityJSON `json:"activities"`
	Unread     int            `json:"unread" doc:"of those, how many you have not read"`
	Next       string         `json:"next,omitempty" doc:"pass as offset to get the next page"`
}

func activityPageOf(p *activity.Page) activityPageJSON {
	out := activityPageJSON{Count: p.Count, Unread: p.Unread, Next: p.Next, Activities: make([]activityJSON, len(p.Activities))}
	for i, a := range p.Activities {
		out.Activities[i] = activityJSON{ModelType: a.ModelType, ModelID: a.ModelID, CreatedAt: a.CreatedAt,
			NotificationType: a.NotificationType, Metadata: a.Metadata, Read: a.Read, ID: a.ID, UpdatedAt: a.UpdatedAt,
			ActionBy: a.ActionByPerson, TargetUser: a.TargetUserPerson, TargetGroup: a.TargetGroupPerson}
	}
	return out
}

type activityQuery struct {
	Size               int    `query:"size" doc:"default 5"`
	Offset             string `query:"offset" doc:"a number to skip, or the next cursor of a previous page"`
	ModelType          string `query:"modelType" doc:"datasource or project"`
	ModelID            string `query:"modelId"`
	SortField          string `query:"sortField" doc:"id (the only one)"`
	SortOrder          string `query:"sortOrder" doc:"desc (default) or asc"`
	SearchText         string `query:"searchText" doc:"part of the notification type"`
	NotificationType   string `query:"notificationType"`
	Permission         string `query:"permission" doc:"only activities of users holding this permission (which you must hold too)"`
	ExcludeMine        bool   `query:"excludeMine" doc:"leave out what you did"`
	NonRequestActivity bool   `query:"nonRequestActivity" doc:"leave out access requests"`
	New                bool   `query:"new" doc:"only what you have not read"`
}

type hasUnreadJSON struct {
	Unread bool `json:"unread"`
}

type activityReadBody struct {
	IDs []int64 `json:"ids" doc:"the activities to mark read; absent or empty: all of them"`
}

type activityReadJSON struct {
	Marked int64 `json:"marked"`
}

func (s *Server) activityRoutes() {
	const tag = "activity"
	s.Handle(Op{Method: "GET", Path: "/activity", Summary: "Your activity feed", Tag: tag, Query: activityQuery{},
		Response: activityPageJSON{}}, func(r *Request) (any, error) {
		q := activityQuery{Size: 5}
		if err := r.Query(&q); err != nil {
			return nil, err
		}
		if q.Size < 1 || q.Size > 1000 {
			return nil, errs.BadRequestf("query parameter size must be between 1 and 1000")
		}
		if err := OneOf("sortField", q.SortField, "id"); err != nil {
			return nil, err
		}
		desc, err := SortOrder(q.SortOrder, true)
		if err != nil {
			return nil, err
		}
		offset, after, err := activityOffset(q.Offset)
		if err != nil {
			return nil, err
		}
		page, err := activity.Feed(r.Context(), &s.DB.Queries, r.P, activity.Filter{ModelType: q.ModelType, ModelID: q.ModelID,
			NotificationType: q.NotificationType, SearchText: q.SearchText, Permission: q.Permission, ExcludeMine: q.ExcludeMine,
			NonRequest: q.NonRequestActivity, Unread: q.New, Descending: desc, After: after, Offset: offset, Size: q.Size})
		if err != nil {
			return nil, err
		}
		return activityPageOf(page), nil
	})

	s.Handle(Op{Method: "GET", Path: "/activity/hasUnread", Summary: "Whether you have unread activities", Tag: tag,
		Response: hasUnreadJSON{}}, func(r *Request) (any, error) {
		unread, err := activity.HasUnread(r.Context(), &s.DB.Queries, r.P.UserID)
		if err != nil {
			return nil, err
		}
		return hasUnreadJSON{Unread: unread}, nil
	})

	s.Handle(Op{Method: "PUT", Path: "/activity/read", Summary: "custos: mark your activities read (all, or those given)",
		Tag: tag, Body: activityReadBody{}, Response: activityReadJSON{}}, func(r *Request) (any, error) {
		var b activityReadBody
		if err := r.DecodeOptional(&b); err != nil {
			return nil, err
		}
		var n int64
		err := s.DB.InTx(r.Context(), func(tx *store.Tx) error {
			var err error
			if n, err = activity.MarkRead(r.Context(), &tx.Queries, r.P.UserID, b.IDs); err != nil {
				return err
			}
			return audit.Write(r.Context(), &tx.Queries, audit.Event{Type: "activityRead", Success: true,
				Details: map[string]any{"marked": n}})
		})
		if err != nil {
			return nil, err
		}
		return activityReadJSON{Marked: n}, nil
	})
}
